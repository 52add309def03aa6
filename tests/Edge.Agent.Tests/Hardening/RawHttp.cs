using System.Net.Sockets;
using System.Text;

namespace Edge.Agent.Tests.Hardening;

/// <summary>
/// One HTTP/1.1 request written byte for byte over a socket: HttpClient normalises paths
/// ("..", "./", case of escapes) before sending, and these tests need the spellings an attacker would send.
/// </summary>
internal static class RawHttp
{
    public static async Task<(int Status, string Body)> SendAsync(Uri server, string method, string rawPath, string? body = null,
        string contentType = "application/json", string? bearer = null)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(server.Host, server.Port);
        await using var stream = socket.GetStream();
        byte[] content = Encoding.UTF8.GetBytes(body ?? "");
        var head = new StringBuilder()
            .Append($"{method} {rawPath} HTTP/1.1\r\nHost: {server.Host}:{server.Port}\r\nConnection: close\r\n")
            .Append($"Content-Type: {contentType}\r\nContent-Length: {content.Length}\r\n");
        if (bearer is not null)
            head.Append($"Authorization: Bearer {bearer}\r\n");
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
        await stream.WriteAsync(content);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        int status = int.Parse(response.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
        int split = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (split < 0)
            return (status, "");
        string headers = response[..split], rest = response[(split + 4)..];
        return (status, headers.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase) ? Unchunk(rest) : rest);
    }

    private static string Unchunk(string chunked)
    {
        var body = new StringBuilder();
        int at = 0;
        while (true)
        {
            int lineEnd = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
            int size = Convert.ToInt32(chunked[at..lineEnd].Split(';')[0], 16);
            if (size == 0)
                return body.ToString();
            // Sizes count bytes; these bodies are JSON, ASCII unless a test sends otherwise.
            body.Append(chunked, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
    }
}
