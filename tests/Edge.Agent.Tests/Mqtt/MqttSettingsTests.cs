using Edge.Agent.Configuration;
using Edge.Agent.Mqtt;
using Microsoft.Extensions.Configuration;

namespace Edge.Agent.Tests.Mqtt;

/// <summary>MQTT configuration: off unless a host is set, defaults that work, bad values named.</summary>
[TestClass]
public sealed class MqttSettingsTests
{
    private static MqttSettings? Read(params (string Key, string Value)[] values) =>
        MqttSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

    [TestMethod]
    public void IsOffWithoutAHostAndOnWithDefaultsWithOne()
    {
        Assert.IsNull(Read());
        var settings = Read(("Mqtt:Host", "broker.plant"))!;
        Assert.AreEqual(1883, settings.Port);
        Assert.AreEqual("deepseek-edge", settings.TopicPrefix);
        Assert.AreEqual(Environment.MachineName, settings.DeviceId);
        Assert.AreEqual(MQTTnet.Formatter.MqttProtocolVersion.V500, settings.ProtocolVersion);
        Assert.AreEqual($"deepseek-edge/{Environment.MachineName}/request", settings.Topics.Request);
        Assert.AreEqual(8883, Read(("Mqtt:Host", "b"), ("Mqtt:Tls:Enabled", "true"))!.Port);
        Assert.AreEqual(MQTTnet.Formatter.MqttProtocolVersion.V311, Read(("Mqtt:Host", "b"), ("Mqtt:ProtocolVersion", "3.1.1"))!.ProtocolVersion);
    }

    [TestMethod]
    [DataRow("Mqtt:Port", "0")]
    [DataRow("Mqtt:Port", "eighty")]
    [DataRow("Mqtt:ProtocolVersion", "3")]
    [DataRow("Device:Id", "line/3")]
    [DataRow("Device:Id", "press#1")]
    [DataRow("Mqtt:TopicPrefix", "plant/+")]
    [DataRow("Mqtt:TopicPrefix", "/plant")]
    [DataRow("Mqtt:Tls:CaFile", "/nonexistent/ca.pem")]
    [DataRow("Mqtt:Outbox:MaxMessages", "0")]
    [DataRow("Mqtt:ReconnectMaxMilliseconds", "5")]
    [DataRow("Mqtt:SessionExpirySeconds", "-1")]
    public void ABadValueStopsStartUpNamingItsKey(string key, string value)
    {
        var e = Assert.ThrowsExactly<ConfigurationException>(() => Read(("Mqtt:Host", "b"), (key, value)));
        Assert.AreEqual(key, e.Key);
    }

    [TestMethod]
    public void CertificatesNeedTlsAndAClientCertificateNeedsItsKey()
    {
        string file = Path.GetTempFileName();
        try
        {
            Assert.AreEqual("Mqtt:Tls:Enabled", Assert.ThrowsExactly<ConfigurationException>(() => Read(("Mqtt:Host", "b"), ("Mqtt:Tls:CaFile", file))).Key);
            Assert.AreEqual("Mqtt:Tls:ClientKeyFile", Assert.ThrowsExactly<ConfigurationException>(() =>
                Read(("Mqtt:Host", "b"), ("Mqtt:Tls:Enabled", "true"), ("Mqtt:Tls:ClientCertificateFile", file))).Key);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
