using System.Security.Cryptography;
using System.Text.Json;

namespace Edge.Runtime.Packaging;

/// <summary>
/// A model package directory whose manifest has been checked: every listed file exists with
/// the pinned size and sha256, and genai_config.json names a decoder that is in the package.
/// </summary>
public sealed class ModelPackage
{
    private ModelPackage(string directory, ModelManifest manifest, GenAiConfig genAi, GenerationDefaults generationDefaults)
    {
        Directory = directory;
        Manifest = manifest;
        GenAi = genAi;
        GenerationDefaults = generationDefaults;
    }

    public string Directory { get; }
    public ModelManifest Manifest { get; }
    public GenAiConfig GenAi { get; }

    /// <summary>Sampling for parameters a request leaves out: generation_config.json's, or greedy.</summary>
    public GenerationDefaults GenerationDefaults { get; }
    public string DecoderPath => Path.Combine(Directory, GenAi.Model.Decoder.Filename);

    public static ModelPackage Open(string directory)
    {
        directory = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(directory))
            throw new ModelLoadException($"Model package {directory} does not exist.");
        var manifest = ReadJson(Path.Combine(directory, ModelManifest.FileName), PackageJsonContext.Default.ModelManifest);
        foreach (var file in manifest.Files)
            VerifyFile(directory, file);
        var genAi = ReadJson(Path.Combine(directory, GenAiConfig.FileName), PackageJsonContext.Default.GenAiConfig);
        if (!manifest.Files.Any(f => f.Path == genAi.Model.Decoder.Filename))
            throw new ModelLoadException($"{GenAiConfig.FileName} names decoder '{genAi.Model.Decoder.Filename}', which the manifest does not list.");
        // Read only when the manifest pins it: a file dropped in beside a signed package changes nothing.
        var defaults = manifest.Files.Any(f => f.Path == GenerationDefaults.FileName) ? GenerationDefaults.Read(directory) : GenerationDefaults.Greedy;
        return new ModelPackage(directory, manifest, genAi, defaults);
    }

    /// <summary>Writes manifest.json over the package's files (all of them except the manifest itself and its signature).</summary>
    public static ModelManifest WriteManifest(string directory, Func<IReadOnlyList<PackageFile>, ModelManifest> describe)
    {
        var files = System.IO.Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(directory, path).Replace('\\', '/'))
            .Where(path => path is not ModelManifest.FileName and not "manifest.sig")
            .Order(StringComparer.Ordinal)
            .Select(path => Describe(directory, path))
            .ToList();
        var manifest = describe(files);
        File.WriteAllText(Path.Combine(directory, ModelManifest.FileName), Serialize(manifest));
        return manifest;
    }

    public static string Serialize(ModelManifest manifest) =>
        JsonSerializer.Serialize(manifest, PackageJsonContext.Default.ModelManifest) + "\n";

    public static string Serialize(GenAiConfig config) =>
        JsonSerializer.Serialize(config, PackageJsonContext.Default.GenAiConfig) + "\n";

    private static PackageFile Describe(string directory, string relativePath)
    {
        string path = Path.Combine(directory, relativePath);
        using var stream = File.OpenRead(path);
        return new PackageFile(relativePath, Convert.ToHexStringLower(SHA256.HashData(stream)), stream.Length);
    }

    private static void VerifyFile(string directory, PackageFile expected)
    {
        if (Path.IsPathRooted(expected.Path) || expected.Path.Split('/', '\\').Contains(".."))
            throw new ModelLoadException($"{ModelManifest.FileName} lists '{expected.Path}', which is outside the package.");
        string path = Path.Combine(directory, expected.Path);
        if (!File.Exists(path))
            throw new ModelLoadException($"{path} is listed in {ModelManifest.FileName} but missing.");
        var actual = Describe(directory, expected.Path);
        if (actual.Bytes != expected.Bytes)
            throw new ModelLoadException($"{path} has {actual.Bytes} bytes; {ModelManifest.FileName} pins {expected.Bytes}.");
        if (!string.Equals(actual.Sha256, expected.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new ModelLoadException($"{path} has sha256 {actual.Sha256}; {ModelManifest.FileName} pins {expected.Sha256}.");
    }

    private static T ReadJson<T>(string path, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        if (!File.Exists(path))
            throw new ModelLoadException($"{path} is missing.");
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), type)
                ?? throw new ModelLoadException($"{path} is empty (null).");
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"{path} is malformed: {e.Message}", e);
        }
    }
}
