using System.Net;
using System.Net.Sockets;

namespace Edge.Agent.Hosting;

/// <summary>
/// Checks, before the host starts, that the addresses to listen on are free: a port in use is then
/// one line and exit 2, not the host's stack trace. (Kestrel's own bind still decides; this only
/// turns the common mistake into a clear message.)
/// </summary>
internal static class ListenAddresses
{
    /// <exception cref="IOException">An address is in use; its inner exception is the socket's.</exception>
    public static void EnsureFree(string urls)
    {
        foreach (string url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Endpoint(url) is not { } endpoint)
                continue;
            using var probe = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                probe.Bind(endpoint);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                throw new IOException($"Failed to bind to address {url}: address already in use", e);
            }
            catch (SocketException)
            {
                // Not ours to judge (no such interface, privileges): Kestrel reports it.
            }
        }
    }

    private static IPEndPoint? Endpoint(string url)
    {
        // Kestrel's wildcards ("*", "+") are not valid URI hosts: read them as any address.
        string normalised = url.Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal).Replace("://+:", "://0.0.0.0:", StringComparison.Ordinal);
        if (!Uri.TryCreate(normalised, UriKind.Absolute, out var uri) || uri.Port <= 0)
            return null;
        if (uri.IsLoopback && !IPAddress.TryParse(uri.Host.Trim('[', ']'), out _))
            return new IPEndPoint(IPAddress.Loopback, uri.Port);
        return IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) ? new IPEndPoint(address, uri.Port) : null;
    }
}
