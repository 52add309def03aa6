using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Edge.Agent.Tests.Mqtt;

/// <summary>
/// Debian's mosquitto on a free loopback port, with persistence in a folder of its own, so a
/// stop and start keeps sessions and queued messages as a plant broker would. test.sh installs it.
/// </summary>
internal sealed class MosquittoBroker : IDisposable
{
    private readonly string _folder;
    private Process? _process;

    private MosquittoBroker(string folder, int port)
    {
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The broker's own folder (configuration, persistence, log, certificates).</summary>
    public string Folder => _folder;

    /// <param name="listenerOptions">Extra lines for the listener (TLS files, for instance); paths may use {folder}.</param>
    public static MosquittoBroker Start(Func<string, string>? listenerOptions = null)
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-mosquitto").FullName;
        var broker = new MosquittoBroker(folder, Edge.TestSupport.LoopbackPorts.Free());
        File.WriteAllText(Path.Combine(folder, "mosquitto.conf"), $"""
            listener {broker.Port} 127.0.0.1
            {listenerOptions?.Invoke(folder) ?? ""}
            allow_anonymous true
            user {Environment.UserName}
            persistence true
            persistence_location {folder}/
            max_queued_messages 100000
            set_tcp_nodelay true
            log_dest file {folder}/mosquitto.log
            """);
        broker.Resume();
        return broker;
    }

    // "user": mosquitto started as root otherwise drops to the mosquitto user, which cannot read our private temp folders.

    /// <summary>Starts the broker (again) on the same port and waits until it accepts connections.</summary>
    public void Resume()
    {
        string binary = new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("mosquitto is not installed (apt-get install mosquitto); test.sh installs it.");
        var start = new ProcessStartInfo(binary) { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Path.Combine(_folder, "mosquitto.conf"));
        _process = Process.Start(start)!;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                Thread.Sleep(20);
            }
            catch (SocketException)
            {
                throw new InvalidOperationException($"mosquitto did not start: {_process.StandardError.ReadToEnd()} {Log}");
            }
        }
    }

    /// <summary>SIGTERM: mosquitto saves its persistence file and drops every connection.</summary>
    public void Stop()
    {
        if (_process is null || _process.HasExited)
            return;
        Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        if (!_process.WaitForExit(10_000))
            _process.Kill();
        _process.Dispose();
        _process = null;
    }

    public string Log => File.Exists(Path.Combine(_folder, "mosquitto.log")) ? File.ReadAllText(Path.Combine(_folder, "mosquitto.log")) : "";


    public void Dispose()
    {
        if (_process is { HasExited: false })
            _process.Kill();
        _process?.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
