using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Edge.TestSupport;

namespace Edge.Delivery.Tests;

/// <summary>The .deb packages and the systemd unit: lint, layout, maintainer scripts, hardening.</summary>
[TestClass]
public sealed partial class PackageTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("amd64")]
    [DataRow("arm64")]
    public void LintianFindsNoErrors(string arch)
    {
        var (_, output) = Delivery.Run("lintian", ["--tag-display-limit", "0", Delivery.Package(arch)], check: false);
        TestContext.WriteLine(output);
        Assert.IsFalse(output.Split('\n').Any(line => line.StartsWith("E:", StringComparison.Ordinal)), output);
    }

    [TestMethod]
    public void TheUnitVerifiesAndItsExposureIsTwoOrLower()
    {
        // systemd-analyze verify checks that ExecStart exists, so the unit is verified against
        // the binary unpacked from the package (the path rewritten to that folder, nothing else).
        string unpacked = Delivery.Unpack("amd64");
        string unit = Path.Combine(Directory.CreateTempSubdirectory("dsedge-unit").FullName, "deepseek-edge.service");
        File.WriteAllText(unit, File.ReadAllText(Path.Combine(unpacked, "lib/systemd/system/deepseek-edge.service"))
            .Replace("ExecStart=/usr/lib/deepseek-edge/", $"ExecStart={unpacked}/usr/lib/deepseek-edge/", StringComparison.Ordinal));
        var (exit, verify) = Delivery.Run("systemd-analyze", ["verify", unit], check: false);
        Assert.AreEqual(0, exit, verify);
        Assert.AreEqual("", verify.Trim(), "systemd-analyze verify printed problems");

        var (_, security) = Delivery.Run("systemd-analyze", ["security", "--offline=yes", unit]);
        var score = Exposure().Match(security);
        Assert.IsTrue(score.Success, security);
        double exposure = double.Parse(score.Groups[1].Value, CultureInfo.InvariantCulture);
        TestContext.WriteLine($"systemd-analyze security: exposure {exposure}");
        Assert.IsLessThanOrEqualTo(2.0, exposure, security);
    }

    [TestMethod]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void TheAmd64PackageInstallsIntoAFolderAsDocumentedAndKeepsStateUntilPurge()
    {
        string root = Directory.CreateTempSubdirectory("dsedge-root").FullName;
        Directory.CreateDirectory(Path.Combine(root, "var/lib/dpkg/info"));
        Directory.CreateDirectory(Path.Combine(root, "var/lib/dpkg/updates"));
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.WriteAllText(Path.Combine(root, "var/lib/dpkg/status"), "");
        File.WriteAllText(Path.Combine(root, "etc/hostname"), "press-line-3\n");
        string[] dpkg = [$"--root={root}", "--force-script-chrootless", "--force-depends", "--force-not-root"];

        var (_, install) = Delivery.Run("dpkg", [.. dpkg, "-i", Delivery.Package("amd64")]);
        foreach (string file in new[]
        {
            "usr/lib/deepseek-edge/deepseek-edge", "usr/lib/deepseek-edge/libonnxruntime.so", "usr/lib/deepseek-edge/appsettings.json",
            "usr/share/deepseek-edge/models/default/manifest.json", "usr/share/deepseek-edge/models/default/tokenizer.json",
            "usr/share/deepseek-edge/variants/jetson/hardware.json", "usr/share/deepseek-edge/variants/raspberrypi/hardware.json",
            "lib/systemd/system/deepseek-edge.service", "etc/deepseek-edge/appsettings.json", "usr/share/doc/deepseek-edge/copyright",
        })
            Assert.IsTrue(File.Exists(Path.Combine(root, file)), $"{file} is missing");
        StringAssert.Contains(File.ReadAllText(Path.Combine(root, "var/lib/dpkg/info/deepseek-edge.conffiles")), "/etc/deepseek-edge/appsettings.json");
        StringAssert.Contains(File.ReadAllText(Path.Combine(root, "etc/deepseek-edge/appsettings.json")), "\"AllowAnonymousLoopback\": false");
        StringAssert.Contains(File.ReadAllText(Path.Combine(root, "etc/deepseek-edge/device.json")), "\"Id\": \"press-line-3-");

        // The first admin key: in a file only root reads (never printed, so never in apt's term.log), stored only as its SHA-256.
        StringAssert.Contains(install, "/etc/deepseek-edge/first-admin-key");
        string keyFile = Path.Combine(root, "etc/deepseek-edge/first-admin-key");
        string key = File.ReadAllText(keyFile).Trim();
        StringAssert.StartsWith(key, "dse_");
        Assert.DoesNotContain(key, install, "the key must not reach the terminal (apt logs it)");
        Assert.AreEqual((UnixFileMode)0, File.GetUnixFileMode(keyFile) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead), "root only");
        string keys = File.ReadAllText(Path.Combine(root, "etc/deepseek-edge/keys.json"));
        Assert.DoesNotContain(key, keys);
        StringAssert.Contains(keys, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))));

        // An upgrade (the same package again) keeps the device id and key; remove keeps state; purge deletes it.
        string deviceJson = File.ReadAllText(Path.Combine(root, "etc/deepseek-edge/device.json"));
        var (_, upgrade) = Delivery.Run("dpkg", [.. dpkg, "-i", Delivery.Package("amd64")]);
        Assert.DoesNotContain("first-admin-key", upgrade);
        Assert.AreEqual(keys, File.ReadAllText(Path.Combine(root, "etc/deepseek-edge/keys.json")));
        Assert.AreEqual(deviceJson, File.ReadAllText(Path.Combine(root, "etc/deepseek-edge/device.json")));
        Directory.CreateDirectory(Path.Combine(root, "var/lib/deepseek-edge"));
        File.WriteAllText(Path.Combine(root, "var/lib/deepseek-edge/mqtt.db"), "state");
        Delivery.Run("dpkg", [.. dpkg, "-r", "deepseek-edge"]);
        Assert.IsFalse(File.Exists(Path.Combine(root, "usr/lib/deepseek-edge/deepseek-edge")));
        Assert.IsTrue(File.Exists(Path.Combine(root, "var/lib/deepseek-edge/mqtt.db")), "remove must keep state");
        Assert.IsTrue(File.Exists(Path.Combine(root, "etc/deepseek-edge/keys.json")), "remove must keep the keys");
        Delivery.Run("dpkg", [.. dpkg, "-P", "deepseek-edge"]);
        Assert.IsFalse(Directory.Exists(Path.Combine(root, "var/lib/deepseek-edge")), "purge deletes state");
        Assert.IsFalse(Directory.Exists(Path.Combine(root, "etc/deepseek-edge")), "purge deletes configuration");
        Directory.Delete(root, recursive: true);
    }

    [TestMethod]
    [DataRow("Raspberry Pi 5 Model B Rev 1.0", "xnnpack,cpu", "raspberrypi.conf", "SupplementaryGroups=gpio")]
    [DataRow("NVIDIA Jetson AGX Orin Developer Kit", "tensorrt,cuda,cpu", "jetson.conf", "DeviceAllow=/dev/nvmap rw")]
    public void TheFirstInstallPicksTheHardwareVariantFromTheDeviceTree(string model, string providers, string dropIn, string dropInLine)
    {
        string root = Directory.CreateTempSubdirectory("dsedge-root").FullName;
        Directory.CreateDirectory(Path.Combine(root, "var/lib/dpkg/info"));
        Directory.CreateDirectory(Path.Combine(root, "var/lib/dpkg/updates"));
        Directory.CreateDirectory(Path.Combine(root, "proc/device-tree"));
        File.WriteAllText(Path.Combine(root, "var/lib/dpkg/status"), "");
        File.WriteAllText(Path.Combine(root, "proc/device-tree/model"), model + "\0");
        Delivery.Run("dpkg", [$"--root={root}", "--force-script-chrootless", "--force-depends", "--force-not-root", "--force-architecture", "-i", Delivery.Package("arm64")]);
        string hardware = File.ReadAllText(Path.Combine(root, "etc/deepseek-edge/hardware.json"));
        StringAssert.Contains(hardware, $"\"Providers\": \"{providers}\"");
        Assert.DoesNotContain("NativeLibraryPath", hardware, "no JetPack ONNX Runtime in this root, so none may be configured");
        StringAssert.Contains(File.ReadAllText(Path.Combine(root, "etc/systemd/system/deepseek-edge.service.d", dropIn)), dropInLine);
        Directory.Delete(root, recursive: true);
    }

    [GeneratedRegex(@"Overall exposure level for \S+: ([0-9.]+)")]
    private static partial Regex Exposure();
}
