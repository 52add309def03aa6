using System.CommandLine;
using Edge.Runtime.Bundles;

namespace Edge.Distill.Commands;

/// <summary>edge-distill keygen / pack: signing keys and signed model bundles for over-the-air updates.</summary>
internal static class BundleCommands
{
    public static Command CreateKeygen()
    {
        var output = new Option<string>("--out") { Description = "Private key file to write (PEM); the public key goes next to it as <name>.pub.pem.", Required = true };
        var command = new Command("keygen", "Make an ECDSA P-256 key pair for signing bundles.") { output };
        command.SetAction(result =>
        {
            string privatePath = result.GetValue(output)!;
            string publicPath = PublicKeyPath(privatePath);
            if (File.Exists(privatePath) || File.Exists(publicPath))
                throw new ArgumentException($"{privatePath} or {publicPath} exists already; keygen never overwrites a key.");
            var (privatePem, publicPem) = BundleKeys.Generate();
            // Readable by its owner only, before the key is in it.
            using (var file = new FileStream(privatePath, FileMode.CreateNew, FileAccess.Write))
            {
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(file.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                using var writer = new StreamWriter(file);
                writer.Write(privatePem);
            }
            File.WriteAllText(publicPath, publicPem);
            Console.WriteLine($"private key: {privatePath} (keep it off devices)");
            Console.WriteLine($"public key:  {publicPath} (goes into the devices' Ota:TrustedKeys)");
            return 0;
        });
        return command;
    }

    public static Command CreatePack()
    {
        var package = new Option<string>("--package") { Description = "Model package folder.", Required = true };
        var key = new Option<string>("--key") { Description = "Private key (PEM) from keygen.", Required = true };
        var output = new Option<string>("--out") { Description = $"Bundle to write (<name>{ModelBundle.Extension}).", Required = true };
        var command = new Command("pack", "Pack a model package into a signed bundle (tar: manifest.json, manifest.sig, the files).") { package, key, output };
        command.SetAction(result =>
        {
            using var signer = BundleKeys.ReadPrivate(result.GetValue(key)!);
            var manifest = ModelBundle.Pack(result.GetValue(package)!, signer, result.GetValue(output)!);
            Console.WriteLine($"{result.GetValue(output)}: {manifest.Name} {manifest.Version}, {manifest.Files.Count} files, {new FileInfo(result.GetValue(output)!).Length} bytes, signed");
            return 0;
        });
        return command;
    }

    public static string PublicKeyPath(string privateKeyPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(privateKeyPath))!, Path.GetFileNameWithoutExtension(privateKeyPath) + ".pub.pem");
}
