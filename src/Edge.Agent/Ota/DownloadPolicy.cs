using System.Net;
using System.Net.Sockets;
using Edge.Agent.Configuration;

namespace Edge.Agent.Ota;

/// <summary>
/// Where the daemon may fetch bundles from (Ota:AllowedHosts:N, host names or addresses). Without
/// a list any host may serve, but only on public addresses; with one, only the hosts listed.
/// Loopback, link-local, private (RFC 1918, unique-local), unspecified and multicast addresses are
/// refused unless their host is listed: a URL must not turn the daemon against the device itself
/// or the plant network behind it. The check runs on the address actually connected to (after DNS,
/// so a name that resolves to 127.0.0.1 is caught) and again on every redirect.
/// </summary>
internal sealed class DownloadPolicy(IReadOnlySet<string> allowedHosts)
{
    public const int MaxRedirects = 5;

    public static DownloadPolicy Open { get; } = new(new HashSet<string>());

    public static DownloadPolicy Read(IConfiguration configuration)
    {
        var hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in configuration.GetSection("Ota:AllowedHosts").GetChildren())
        {
            if (entry.Value is not { Length: > 0 } host)
                continue;
            if (Uri.CheckHostName(host) == UriHostNameType.Unknown)
                throw new ConfigurationException(entry.Path, $"'{host}' is not a host name or address");
            hosts.Add(host.Trim('[', ']'));
        }
        return new DownloadPolicy(hosts);
    }

    /// <summary>Why the URL may not be fetched (before any connection), or null.</summary>
    public string? Problem(Uri url)
    {
        if (url.Scheme is not ("http" or "https"))
            return $"The bundle URL must be http or https, not '{url.Scheme}'.";
        string host = url.IdnHost.Trim('[', ']');
        if (allowedHosts.Count > 0 && !allowedHosts.Contains(host))
            return $"The host '{url.Host}' is not in Ota:AllowedHosts.";
        // An address in the URL is judged before any connection (the connection check covers names).
        if (IPAddress.TryParse(host, out var literal) && !Permits(host, literal))
            return NotPublic(url.Host);
        return null;
    }

    /// <summary>Whether <paramref name="host"/> may be reached at <paramref name="address"/>.</summary>
    public bool Permits(string host, IPAddress address) => IsPublic(address) || allowedHosts.Contains(host.Trim('[', ']'));

    /// <summary>Loopback, link-local, private, unspecified, multicast or otherwise special addresses are not public.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
            return false;
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast);
        byte[] b = address.GetAddressBytes();
        return !(b[0] == 10 || b[0] == 127 || b[0] == 0 || b[0] >= 224
            || (b[0] == 172 && b[1] is >= 16 and <= 31)
            || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254)
            || (b[0] == 100 && b[1] is >= 64 and <= 127)); // carrier-grade NAT
    }

    private static string NotPublic(string host) =>
        $"The host '{host}' is on a loopback, link-local or private address; list it in Ota:AllowedHosts to allow it.";

    /// <summary>
    /// An HTTP client that checks every address it connects to and follows no redirect by itself.
    /// No proxy: through one, the connection check would see the proxy, not the target.
    /// </summary>
    public HttpClient CreateClient(TimeSpan timeout) => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        ConnectCallback = ConnectAsync,
    })
    { Timeout = timeout };

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellation)
    {
        string host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellation);
        var permitted = addresses.Where(a => Permits(host, a)).ToArray();
        if (permitted.Length == 0)
            throw new DownloadRefusedException(NotPublic(host));
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(permitted, context.DnsEndPoint.Port, cancellation);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends a GET made by <paramref name="request"/> for the URL and each redirect (at most
    /// <see cref="MaxRedirects"/>), checking every location against the policy.
    /// </summary>
    public async Task<HttpResponseMessage> GetAsync(HttpClient http, Uri url, Func<Uri, HttpRequestMessage> request, CancellationToken cancellation)
    {
        for (int hop = 0; ; hop++)
        {
            if (Problem(url) is { } problem)
                throw new DownloadRefusedException(problem);
            var response = await http.SendAsync(request(url), HttpCompletionOption.ResponseHeadersRead, cancellation);
            if ((int)response.StatusCode is not (301 or 302 or 303 or 307 or 308) || response.Headers.Location is not { } location)
                return response;
            response.Dispose();
            if (hop == MaxRedirects)
                throw new DownloadRefusedException($"More than {MaxRedirects} redirects.");
            url = location.IsAbsoluteUri ? location : new Uri(url, location);
        }
    }
}

/// <summary>The download policy refused a URL, an address or a redirect; nothing was fetched from it.</summary>
internal sealed class DownloadRefusedException(string message) : IOException(message);
