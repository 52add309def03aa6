using System.Collections.Concurrent;
using System.Globalization;
using System.Net;

namespace Edge.Agent.Tests.Ota;

/// <summary>
/// A real HTTP server on loopback (HttpListener) serving one bundle at /model.edgepkg with Range
/// support, and 404 elsewhere; optionally its first response stops half way and drops the connection.
/// </summary>
internal sealed class BundleServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _serving;
    private readonly byte[] _bundle;
    private readonly bool _dropFirst;
    private int _requests;

    public BundleServer(byte[] bundle, bool dropFirstResponseHalfWay = false)
    {
        _bundle = bundle;
        _dropFirst = dropFirstResponseHalfWay;
        int port = Edge.TestSupport.LoopbackPorts.Free();
        Url = $"http://127.0.0.1:{port}/model.edgepkg";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public string Url { get; }

    /// <summary>The Range header of each request ("none" without one).</summary>
    public ConcurrentQueue<string> Ranges { get; } = new();

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (!_listener.IsListening)
            {
                return;
            }
            Ranges.Enqueue(context.Request.Headers["Range"] ?? "none");
            if (context.Request.Url!.AbsolutePath != "/model.edgepkg")
            {
                context.Response.StatusCode = 404;
                context.Response.Close();
                continue;
            }
            long from = context.Request.Headers["Range"] is { } range ? long.Parse(range["bytes=".Length..].TrimEnd('-'), CultureInfo.InvariantCulture) : 0;
            context.Response.StatusCode = from > 0 ? 206 : 200;
            context.Response.ContentLength64 = _bundle.Length - from;
            if (Interlocked.Increment(ref _requests) == 1 && _dropFirst)
            {
                await context.Response.OutputStream.WriteAsync(_bundle.AsMemory(0, _bundle.Length / 2));
                await context.Response.OutputStream.FlushAsync();
                context.Response.Abort();
                continue;
            }
            await context.Response.OutputStream.WriteAsync(_bundle.AsMemory((int)from));
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _serving;
        _listener.Close();
    }
}
