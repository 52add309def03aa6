using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Edge.Agent.Tests;

/// <summary>HTTPS with a certificate from configuration (Kestrel endpoints), as a plant LAN deployment sets it up.</summary>
[TestClass]
public sealed class HttpsTests
{
    [TestMethod]
    public async Task ServesOverHttpsWithTheConfiguredCertificate()
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-tls").FullName;
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=deepseek-edge-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(folder, "cert.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, "key.pem"), key.ExportPkcs8PrivateKeyPem());

        await using var daemon = await LiveDaemon.StartAsync(
            "--Kestrel:Endpoints:Https:Url=https://127.0.0.1:0",
            $"--Kestrel:Endpoints:Https:Certificate:Path={Path.Combine(folder, "cert.pem")}",
            $"--Kestrel:Endpoints:Https:Certificate:KeyPath={Path.Combine(folder, "key.pem")}");
        Assert.AreEqual("https", daemon.Client.BaseAddress!.Scheme);

        string? served = null;
        using var handler = new HttpClientHandler
        {
            // Trust exactly the certificate we configured, and record what the server presented.
            ServerCertificateCustomValidationCallback = (_, presented, _, _) =>
            {
                served = presented?.Thumbprint;
                return presented?.Thumbprint == certificate.Thumbprint;
            },
        };
        using var client = new HttpClient(handler) { BaseAddress = daemon.Client.BaseAddress };
        using var response = await client.PostAsync("/v1/completions", new StringContent("""{"prompt":"Secure hello","max_tokens":3,"ignore_eos":true}""", Encoding.UTF8, "application/json"));
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.AreEqual(certificate.Thumbprint, served);
        Directory.Delete(folder, recursive: true);
    }
}
