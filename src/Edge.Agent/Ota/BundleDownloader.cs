using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Edge.Runtime.Storage;

namespace Edge.Agent.Ota;

/// <summary>
/// Fetches a bundle over HTTP(S) into <c>&lt;state&gt;/downloads/&lt;hash of the URL&gt;.partial</c>,
/// resuming with an HTTP Range request after a dropped connection, and after a restart of the
/// daemon (the partial file stays). Retries a few times with backoff before giving up. A download
/// that is refused (the policy, the server's answer, the size limit, a full disk) leaves no
/// partial file. Errors name the URL and what went wrong, never the network's details (which
/// would tell a caller which ports of the device are open).
/// </summary>
internal sealed class BundleDownloader(HttpClient http, DownloadPolicy policy, string downloadsDirectory, int attempts = 5)
{
    /// <returns>The path of the complete download (the caller deletes it once used).</returns>
    public async Task<string> DownloadAsync(Uri url, long maxBytes, CancellationToken cancellation)
    {
        Directory.CreateDirectory(downloadsDirectory);
        string partial = Path.Combine(downloadsDirectory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(url.AbsoluteUri)))[..32] + ".partial");
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                if (await FetchAsync(url, partial, maxBytes, cancellation))
                    return partial;
            }
            catch (Exception e) when (Refusal(e) is { } refusal)
            {
                File.Delete(partial);
                throw new UpdateRefusedException(StatusCodes.Status400BadRequest, refusal);
            }
            catch (UpdateRefusedException)
            {
                File.Delete(partial);
                throw;
            }
            catch (IOException e) when (DurableFileSystem.IsDiskFull(e))
            {
                File.Delete(partial);
                throw new UpdateRefusedException(StatusCodes.Status507InsufficientStorage, $"Downloading {url} stopped: the device's disk is full.");
            }
            catch (Exception e) when (e is HttpRequestException or IOException && attempt < attempts && !cancellation.IsCancellationRequested)
            {
                // The connection dropped: what arrived is kept, the next request asks for the rest.
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                if (Length(partial) == 0)
                    File.Delete(partial);
                throw new UpdateRefusedException(StatusCodes.Status502BadGateway,
                    $"Downloading {url} failed after {attempt} attempts (the server could not be reached or the connection broke off); {Length(partial)} bytes are kept and the next attempt resumes from there.");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellation);
        }
    }

    /// <returns>True when the file is complete.</returns>
    private async Task<bool> FetchAsync(Uri url, string partial, long maxBytes, CancellationToken cancellation)
    {
        long have = Length(partial);
        using var response = await policy.GetAsync(http, url, location =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, location);
            if (have > 0)
                request.Headers.Range = new RangeHeaderValue(have, null);
            return request;
        }, cancellation);
        if (have > 0 && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            return true; // nothing after what we have: it was complete
        if (!response.IsSuccessStatusCode)
            throw new UpdateRefusedException(StatusCodes.Status502BadGateway, $"{url} answered {(int)response.StatusCode} {response.ReasonPhrase}.");
        bool resumed = response.StatusCode == HttpStatusCode.PartialContent;
        if (have > 0 && !resumed)
            have = 0; // the server ignored the range and sends it all again
        long expected = have + (response.Content.Headers.ContentLength ?? 0);
        if (expected > maxBytes)
            throw new UpdateRefusedException(StatusCodes.Status413PayloadTooLarge, $"{url} is {expected} bytes; the limit is {maxBytes} (Ota:MaxBundleMegabytes).");
        await using (var file = new FileStream(partial, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write))
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellation);
            var buffer = new byte[81920];
            int read;
            while ((read = await body.ReadAsync(buffer, cancellation)) > 0)
            {
                await file.WriteAsync(buffer.AsMemory(0, read), cancellation);
                if (file.Length > maxBytes)
                    throw new UpdateRefusedException(StatusCodes.Status413PayloadTooLarge, $"{url} is larger than the limit of {maxBytes} bytes.");
            }
            file.Flush(flushToDisk: true);
        }
        return true;
    }

    private static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    /// <summary>The policy's refusal, however the HTTP stack wrapped it.</summary>
    private static string? Refusal(Exception e) => e switch
    {
        DownloadRefusedException refused => refused.Message,
        { InnerException: { } inner } => Refusal(inner),
        _ => null,
    };
}
