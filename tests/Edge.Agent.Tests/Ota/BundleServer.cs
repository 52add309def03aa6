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
    private readonly TimeSpan _delay;

    /// <param name="delay">How long each response waits before its body: a slow server, to keep a download running.</param>
    public BundleServer(byte[] bundle, bool dropFirstResponseHalfWay = false, TimeSpan? delay = null)
    {
        _delay = delay ?? TimeSpan.Zero;
        _bundle = bundle;
        _dropFirst = dropFirstResponseHalfWay;
        int port = Edge.TestSupport.LoopbackPorts.Free();
        Url = $"http://127.0.0.1:{port}/model.edgepkg";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public string Url { get; }

    /// <summary>Where /redirect sends a client (302), when set.</summary>
    public string? RedirectTo { get; set; }

    public string RedirectUrl => Url.Replace("model.edgepkg", "redirect", StringComparison.Ordinal);

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
            if (context.Request.Url!.AbsolutePath == "/redirect" && RedirectTo is { } target)
            {
                context.Response.StatusCode = 302;
                context.Response.RedirectLocation = target;
                context.Response.Close();
                continue;
            }
            if (context.Request.Url!.AbsolutePath != "/model.edgepkg")
            {
                context.Response.StatusCode = 404;
                context.Response.Close();
                continue;
            }
            // "bytes=FROM-" (a resume) or "bytes=FROM-TO" (the head a poll reads).
            var (from, to) = (0L, _bundle.Length - 1L);
            if (context.Request.Headers["Range"] is { } range)
            {
                string[] bounds = range["bytes=".Length..].Split('-');
                from = long.Parse(bounds[0], CultureInfo.InvariantCulture);
                if (bounds[1].Length > 0)
                    to = Math.Min(to, long.Parse(bounds[1], CultureInfo.InvariantCulture));
            }
            if (_delay > TimeSpan.Zero)
                await Task.Delay(_delay);
            bool partial = from > 0 || to < _bundle.Length - 1;
            context.Response.StatusCode = partial ? 206 : 200;
            context.Response.ContentLength64 = to - from + 1;
            if (Interlocked.Increment(ref _requests) == 1 && _dropFirst)
            {
                await context.Response.OutputStream.WriteAsync(_bundle.AsMemory(0, _bundle.Length / 2));
                await context.Response.OutputStream.FlushAsync();
                context.Response.Abort();
                continue;
            }
            try
            {
                await context.Response.OutputStream.WriteAsync(_bundle.AsMemory((int)from, (int)(to - from + 1)));
                context.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException)
            {
                // The client left mid-body (a daemon that refuses a download on a full disk does):
                // that is the client's right, and the server serves the next request.
                context.Response.Abort();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _serving;
        _listener.Close();
    }
}
