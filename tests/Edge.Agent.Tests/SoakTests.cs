using System.Diagnostics;
using System.Text;

namespace Edge.Agent.Tests;

/// <summary>
/// Memory stays flat under sustained traffic. CI runs 400 requests; set DSEDGE_SOAK_REQUESTS=10000
/// for the full soak on demand.
/// </summary>
[TestClass]
public sealed class SoakTests
{
    [TestMethod]
    public async Task MemoryStaysFlatOverManyRequests()
    {
        int total = int.TryParse(Environment.GetEnvironmentVariable("DSEDGE_SOAK_REQUESTS"), out int n) ? n : 400;
        await using var daemon = await LiveDaemon.StartAsync();
        string[] routes = ["/v1/completions", "/v1/chat/completions"];

        async Task SendAsync(int i)
        {
            // Distinct prompts so the response cache does not answer, mixed routes, some streamed.
            string body = i % 2 == 0
                ? $$"""{"prompt":"Soak {{i}}","max_tokens":3,"ignore_eos":true,"stream":{{(i % 4 == 0 ? "true" : "false")}}}"""
                : $$"""{"messages":[{"role":"user","content":"Soak {{i}}"}],"max_tokens":3,"ignore_eos":true}""";
            using var response = await daemon.Client.PostAsync(routes[i % 2], new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.IsTrue(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            await response.Content.ReadAsStringAsync();
        }

        int warmUp = Math.Min(100, total / 4);
        for (int i = 0; i < warmUp; i++)
            await SendAsync(i);
        long managedBefore = Managed();
        long rssBefore = Rss();
        for (int i = warmUp; i < total; i += 4)
            await Task.WhenAll(Enumerable.Range(i, Math.Min(4, total - i)).Select(SendAsync));
        long managedGrowth = Managed() - managedBefore;
        long rssGrowth = Rss() - rssBefore;

        Console.WriteLine($"soak: {total} requests, managed heap {managedGrowth / 1024} KiB, RSS {rssGrowth / 1024} KiB after warm-up");
        Assert.IsLessThan(16L << 20, managedGrowth, "managed heap grew by more than 16 MiB");
        Assert.IsLessThan(64L << 20, rssGrowth, "RSS grew by more than 64 MiB");
    }

    private static long Managed()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static long Rss()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64;
    }
}
