using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Edge.Agent.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using MQTTnet;
using MQTTnet.Protocol;

namespace Edge.Agent.Commands;

/// <summary>
/// deepseek-edge bench-mqtt: the round trip of a 1-token answer through a broker, against the same
/// request over HTTP, measured in one run with the two interleaved so both see the same noise.
/// The daemon runs in this process (response cache off) and connects to the given broker.
/// </summary>
internal static class MqttBenchCommand
{
    public static Command Create()
    {
        var broker = new Option<string>("--broker") { Description = "Broker host:port.", DefaultValueFactory = _ => "127.0.0.1:1883" };
        var requests = new Option<int>("--requests") { Description = "Requests per transport.", DefaultValueFactory = _ => 300 };
        var model = new Option<string>("--model") { Description = "Model package folder (default: the embedded default model)." };
        var command = new Command("bench-mqtt", "Measure a 1-token round trip over MQTT and over HTTP (p50, p99, added latency).") { broker, requests, model };
        command.SetAction((result, cancellation) => RunAsync(result.GetValue(broker)!, result.GetValue(requests), result.GetValue(model) ?? AgentDefaults.ModelDirectory, cancellation));
        return command;
    }

    private static async Task<int> RunAsync(string broker, int count, string model, CancellationToken cancellation)
    {
        string host = broker.Split(':')[0];
        int port = broker.Contains(':') ? int.Parse(broker.Split(':')[1], CultureInfo.InvariantCulture) : 1883;
        string state = Directory.CreateTempSubdirectory("dsedge-bench-mqtt").FullName;
        string device = $"bench-{Environment.ProcessId}";
        await using var app = AgentHost.Build(new AgentHost.StartOptions(model, "http://127.0.0.1:0", state),
            [$"--Mqtt:Host={host}", $"--Mqtt:Port={port}", $"--Device:Id={device}", "--Cache:Enabled=false", "--Logging:LogLevel:Default=Warning"]);
        await app.StartAsync(cancellation);
        try
        {
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            using var mqtt = new MqttClientFactory().CreateMqttClient();
            var answers = new System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource>();
            mqtt.ApplicationMessageReceivedAsync += e =>
            {
                if (answers.TryRemove(Encoding.UTF8.GetString(e.ApplicationMessage.CorrelationData ?? []), out var waiting))
                    waiting.TrySetResult();
                return Task.CompletedTask;
            };
            await mqtt.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId($"{device}-client").Build(), cancellation);
            await mqtt.SubscribeAsync($"bench/{device}/replies", MqttQualityOfServiceLevel.AtLeastOnce, cancellation);
            await WaitForDaemonAsync(app, cancellation);

            var overHttp = new List<double>();
            var overMqtt = new List<double>();
            for (int i = -20; i < count; i++) // the first 20 of each warm up and are not counted
            {
                string body = $$"""{"prompt":"Sensor {{i}} reads","max_tokens":1}""";
                var clock = Stopwatch.StartNew();
                using (var response = await http.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"), cancellation))
                    response.EnsureSuccessStatusCode();
                if (i >= 0)
                    overHttp.Add(clock.Elapsed.TotalMilliseconds);

                string id = $"b{i}";
                var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                answers[id] = answered;
                clock.Restart();
                await mqtt.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"deepseek-edge/{device}/request")
                    .WithPayload($$"""{"id":"{{id}}","prompt":"Sensor {{i}} reads","max_tokens":1}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .WithResponseTopic($"bench/{device}/replies").WithCorrelationData(Encoding.UTF8.GetBytes(id)).Build(), cancellation);
                await answered.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellation);
                if (i >= 0)
                    overMqtt.Add(clock.Elapsed.TotalMilliseconds);
            }
            Print(count, overHttp, overMqtt);
            return 0;
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task WaitForDaemonAsync(WebApplication app, CancellationToken cancellation)
    {
        var metrics = app.Services.GetRequiredService<Metrics.AgentMetrics>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!metrics.Exporter.Scrape().Contains("dsedge_mqtt_connected 1", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("The daemon did not connect to the broker within 30 s.");
            await Task.Delay(20, cancellation);
        }
    }

    private static void Print(int count, List<double> overHttp, List<double> overMqtt)
    {
        static double Percentile(List<double> values, double p)
        {
            var sorted = values.Order().ToList();
            return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
        }
        double http50 = Percentile(overHttp, 0.5), http99 = Percentile(overHttp, 0.99);
        double mqtt50 = Percentile(overMqtt, 0.5), mqtt99 = Percentile(overMqtt, 0.99);
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"1-token round trip, {count} requests per transport, interleaved; {Environment.ProcessorCount} cores"));
        Console.WriteLine("| transport | p50 | p99 |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine(string.Create(c, $"| HTTP (loopback) | {http50:F2} ms | {http99:F2} ms |"));
        Console.WriteLine(string.Create(c, $"| MQTT 5, QoS 1 (broker on loopback) | {mqtt50:F2} ms | {mqtt99:F2} ms |"));
        Console.WriteLine(string.Create(c, $"| added by MQTT | {mqtt50 - http50:F2} ms ({mqtt50 / http50:F2}x) | {mqtt99 - http99:F2} ms |"));
    }
}
