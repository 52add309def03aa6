using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Edge.Agent.Tests.Mqtt;

/// <summary>MQTT over TLS with mutual authentication: mosquitto requires a client certificate signed by the plant's CA.</summary>
[TestClass]
public sealed class MqttTlsTests
{
    [TestMethod]
    public async Task ConnectsWithTheCaAndAClientCertificate()
    {
        string certificates = Directory.CreateTempSubdirectory("dsedge-mqtt-tls").FullName;
        using var authority = CreateAuthority();
        WritePem(certificates, "ca", authority, includeKey: false);
        using (var server = Issue(authority, "CN=127.0.0.1", serverAuth: true))
            WritePem(certificates, "server", server, includeKey: true);
        using (var client = Issue(authority, "CN=press-7", serverAuth: false))
            WritePem(certificates, "client", client, includeKey: true);

        using var broker = MosquittoBroker.Start(_ => $"""
            cafile {certificates}/ca.crt
            certfile {certificates}/server.crt
            keyfile {certificates}/server.key
            require_certificate true
            """);
        string deviceId = $"tls-{Guid.NewGuid():N}"[..16];
        // The plain test client cannot get in without a certificate; the daemon can, so its online status proves the handshake.
        await using var daemon = await LiveDaemon.StartAsync(MqttSetup.DaemonConfiguration(broker.Port, deviceId,
            "--Mqtt:Tls:Enabled=true", $"--Mqtt:Tls:CaFile={certificates}/ca.crt",
            $"--Mqtt:Tls:ClientCertificateFile={certificates}/client.crt", $"--Mqtt:Tls:ClientKeyFile={certificates}/client.key"));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await daemon.Client.GetStringAsync("/metrics")).Contains("dsedge_mqtt_connected 1", StringComparison.Ordinal))
        {
            Assert.IsLessThan(deadline, DateTime.UtcNow, broker.Log + string.Join("\n", daemon.LoggedProblems));
            await Task.Delay(50);
        }
        Directory.Delete(certificates, recursive: true);
    }

    private static X509Certificate2 CreateAuthority()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Plant test CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static X509Certificate2 Issue(X509Certificate2 authority, string subject, bool serverAuth)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (serverAuth)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }
        using var issued = request.Create(authority, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), RandomNumberGenerator.GetBytes(8));
        return issued.CopyWithPrivateKey(key);
    }

    private static void WritePem(string folder, string name, X509Certificate2 certificate, bool includeKey)
    {
        File.WriteAllText(Path.Combine(folder, $"{name}.crt"), certificate.ExportCertificatePem());
        if (includeKey)
            File.WriteAllText(Path.Combine(folder, $"{name}.key"), certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }
}
