using System.CommandLine;
using Edge.Runtime.Bundles;

namespace Edge.Agent.Commands;

/// <summary>deepseek-edge verify-bundle: check a signed model bundle as the device would, without installing it.</summary>
internal static class VerifyBundleCommand
{
    public static Command Create()
    {
        var bundle = new Argument<string>("bundle") { Description = $"The {ModelBundle.Extension} file." };
        var keys = new Option<string[]>("--public-key") { Description = "Trusted public key (PEM); repeat for several.", Required = true, AllowMultipleArgumentsPerToken = false };
        var command = new Command("verify-bundle", "Verify a bundle's signature and every file's size and sha256.") { bundle, keys };
        command.SetAction(result =>
        {
            var trusted = result.GetValue(keys)!.Select(BundleKeys.ReadPublic).ToList();
            try
            {
                string path = result.GetValue(bundle)!;
                if (!File.Exists(path))
                    throw new BundleException($"{path} does not exist.");
                using var stream = File.OpenRead(path);
                var manifest = ModelBundle.Verify(stream, trusted, runtimeVersion: typeof(ModelBundle).Assembly.GetName().Version);
                Console.WriteLine($"OK: {manifest.Name} {manifest.Version} (needs runtime {manifest.MinRuntimeVersion}), {manifest.Files.Count} files verified");
                return 0;
            }
            finally
            {
                trusted.ForEach(key => key.Dispose());
            }
        });
        return command;
    }
}
