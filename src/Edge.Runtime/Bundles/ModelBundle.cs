using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using Edge.Runtime.Packaging;

namespace Edge.Runtime.Bundles;

/// <summary>
/// A signed model bundle (<c>.edgepkg</c>): a tar whose first entry is the package's
/// manifest.json, whose second is manifest.sig (ECDSA P-256 over SHA-256 of the manifest bytes,
/// DER), followed by every file the manifest pins, and nothing else. The manifest pins each file
/// by size and sha256, so the one signature covers the whole package. A reader checks the
/// signature before it parses anything, then every entry against the manifest as it streams by.
/// </summary>
public static class ModelBundle
{
    public const string Extension = ".edgepkg";
    public const string SignatureFileName = "manifest.sig";
    private const int MaxManifestBytes = 1 << 20;
    private const int MaxSignatureBytes = 256;

    /// <summary>Packs a package directory (checked first) into a bundle signed with the private key.</summary>
    public static ModelManifest Pack(string packageDirectory, ECDsa privateKey, string bundlePath)
    {
        var package = ModelPackage.Open(packageDirectory);
        byte[] manifest = File.ReadAllBytes(Path.Combine(package.Directory, ModelManifest.FileName));
        byte[] signature = privateKey.SignData(manifest, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        string partial = bundlePath + ".partial";
        using (var output = File.Create(partial))
        using (var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: false))
        {
            Add(tar, ModelManifest.FileName, new MemoryStream(manifest));
            Add(tar, SignatureFileName, new MemoryStream(signature));
            foreach (var file in package.Manifest.Files)
                Add(tar, file.Path, File.OpenRead(Path.Combine(package.Directory, file.Path)));
        }
        File.Move(partial, bundlePath, overwrite: true);
        return package.Manifest;
    }

    /// <summary>
    /// Verifies a bundle against the trusted public keys and, with a target folder, extracts it
    /// there (the folder must not exist; it is deleted again on any failure; files are flushed to
    /// disk). Throws <see cref="BundleException"/> naming the first problem.
    /// </summary>
    public static ModelManifest Verify(Stream bundle, IReadOnlyList<ECDsa> trustedKeys, string? extractTo = null, Version? runtimeVersion = null) =>
        Verify(bundle, trustedKeys, _ => extractTo, runtimeVersion);

    /// <summary>
    /// As <see cref="Verify(Stream, IReadOnlyList{ECDsa}, string?, Version?)"/>, with the target chosen
    /// once the signed manifest is known (the folder can carry the version; the chooser may refuse
    /// by throwing <see cref="BundleException"/>, or return null to verify without extracting).
    /// </summary>
    public static ModelManifest Verify(Stream bundle, IReadOnlyList<ECDsa> trustedKeys, Func<ModelManifest, string?> chooseTarget, Version? runtimeVersion = null)
    {
        string? extractTo = null;
        try
        {
            return VerifyEntries(bundle, trustedKeys, manifest =>
            {
                extractTo = chooseTarget(manifest);
                if (extractTo is not null && Directory.Exists(extractTo))
                {
                    string existing = extractTo;
                    extractTo = null; // not ours to remove
                    throw new BundleException($"{existing} already exists.");
                }
                return extractTo;
            }, runtimeVersion);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            Remove(extractTo);
            // Not e.Message: a NativeAOT build without resource strings would show .NET's resource
            // key ("TarInvalidNumber,") instead of a sentence.
            throw new BundleException("The bundle is not a readable tar archive (truncated or corrupt).", e);
        }
        catch
        {
            Remove(extractTo);
            throw;
        }
    }

    /// <summary>
    /// The manifest at the head of a bundle, NOT verified: enough to tell from the first bytes of a
    /// remote bundle whether it is worth downloading. Never install on its word; <see cref="Verify(Stream, IReadOnlyList{ECDsa}, Func{ModelManifest, string?}, Version?)"/> does that.
    /// </summary>
    public static ModelManifest PeekManifest(Stream bundleHead)
    {
        try
        {
            using var tar = new TarReader(bundleHead, leaveOpen: true);
            byte[] manifestBytes = ReadSmall(tar.GetNextEntry(), ModelManifest.FileName, MaxManifestBytes);
            return JsonSerializer.Deserialize(manifestBytes, PackageJsonContext.Default.ModelManifest) ?? throw new BundleException("The manifest is null.");
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or JsonException)
        {
            throw new BundleException("The head of the bundle holds no readable manifest.", e);
        }
    }

    private static ModelManifest VerifyEntries(Stream bundle, IReadOnlyList<ECDsa> trustedKeys, Func<ModelManifest, string?> chooseTarget, Version? runtimeVersion)
    {
        using var tar = new TarReader(bundle, leaveOpen: true);
        byte[] manifestBytes = ReadSmall(tar.GetNextEntry(), ModelManifest.FileName, MaxManifestBytes);
        byte[] signature = ReadSmall(tar.GetNextEntry(), SignatureFileName, MaxSignatureBytes);
        if (!trustedKeys.Any(key => key.VerifyData(manifestBytes, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)))
            throw new BundleException("The manifest's signature does not verify against any trusted key.");

        ModelManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(manifestBytes, PackageJsonContext.Default.ModelManifest) ?? throw new BundleException("The manifest is null.");
        }
        catch (JsonException e)
        {
            throw new BundleException($"The signed manifest is malformed JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).", e);
        }
        if (runtimeVersion is not null && Version.TryParse(manifest.MinRuntimeVersion, out var needed) && needed > runtimeVersion)
            throw new BundleException($"The model needs runtime {manifest.MinRuntimeVersion}; this is {runtimeVersion}.");
        var expected = new Dictionary<string, PackageFile>(StringComparer.Ordinal);
        foreach (var file in manifest.Files)
        {
            if (!IsSafeRelativePath(file.Path) || file.Path is ModelManifest.FileName or SignatureFileName)
                throw new BundleException($"The manifest lists '{file.Path}', which is not a plain relative path inside the package.");
            if (!expected.TryAdd(file.Path, file))
                throw new BundleException($"The manifest lists '{file.Path}' twice.");
        }

        string? extractTo = chooseTarget(manifest);
        if (extractTo is not null)
        {
            Directory.CreateDirectory(extractTo);
            WriteDurably(Path.Combine(extractTo, ModelManifest.FileName), new MemoryStream(manifestBytes), manifestBytes.Length, null);
            WriteDurably(Path.Combine(extractTo, SignatureFileName), new MemoryStream(signature), signature.Length, null);
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                throw new BundleException($"Entry '{entry.Name}' is a {entry.EntryType}; a bundle holds only regular files.");
            if (!IsSafeRelativePath(entry.Name))
                throw new BundleException($"Entry '{entry.Name}' is not a plain relative path (absolute, '..', or empty parts).");
            if (!expected.TryGetValue(entry.Name, out var file))
                throw new BundleException($"Entry '{entry.Name}' is not in the signed manifest.");
            if (!seen.Add(entry.Name))
                throw new BundleException($"Entry '{entry.Name}' appears twice.");
            if (entry.Length != file.Bytes)
                throw new BundleException($"Entry '{entry.Name}' has {entry.Length} bytes; the manifest pins {file.Bytes}.");
            using var data = new CountingStream(entry.DataStream ?? new MemoryStream());
            string actual = extractTo is null
                ? Convert.ToHexStringLower(SHA256.HashData(data))
                : WriteDurably(Path.Combine(extractTo, entry.Name), data, file.Bytes, extractTo);
            if (data.Count < file.Bytes)
                throw new BundleException($"Entry '{entry.Name}' ends after {data.Count} of its {file.Bytes} bytes: the bundle is truncated.");
            if (!string.Equals(actual, file.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new BundleException($"Entry '{entry.Name}' has sha256 {actual}; the manifest pins {file.Sha256}.");
        }
        if (expected.Keys.FirstOrDefault(path => !seen.Contains(path)) is { } missing)
            throw new BundleException($"The bundle ends without '{missing}', which the manifest lists (truncated?).");
        if (extractTo is not null)
            FlushDirectory(extractTo);
        return manifest;
    }

    private static byte[] ReadSmall(TarEntry? entry, string name, int limit)
    {
        if (entry is null)
            throw new BundleException($"The bundle ends before {name}.");
        if (entry.Name != name || entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            throw new BundleException($"The bundle must start with {ModelManifest.FileName} and {SignatureFileName}; found '{entry.Name}' ({entry.EntryType}).");
        if (entry.Length is <= 0 || entry.Length > limit)
            throw new BundleException($"{name} has {entry.Length} bytes (limit {limit}).");
        using var buffer = new MemoryStream();
        entry.DataStream!.CopyTo(buffer);
        if (buffer.Length != entry.Length)
            throw new BundleException($"{name} is truncated.");
        return buffer.ToArray();
    }

    /// <summary>Plain relative paths only: no root, no '..' or '.', no empty parts, no backslashes.</summary>
    public static bool IsSafeRelativePath(string path) =>
        path.Length > 0 && !path.StartsWith('/') && !path.Contains('\\') && !path.Contains('\0')
        && path.Split('/').All(part => part.Length > 0 && part is not "." and not "..");

    /// <returns>The sha256 of what was written.</returns>
    private static string WriteDurably(string path, Stream data, long bytes, string? root)
    {
        if (root is not null && !Path.GetFullPath(path).StartsWith(Path.GetFullPath(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new BundleException($"'{path}' would land outside {root}.");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            var buffer = new byte[81920];
            long written = 0;
            int read;
            while ((read = data.Read(buffer)) > 0)
            {
                written += read;
                if (written > bytes)
                    throw new BundleException($"'{path}' is longer than the {bytes} bytes pinned.");
                hash.AppendData(buffer.AsSpan(0, read));
                output.Write(buffer.AsSpan(0, read));
            }
            output.Flush(flushToDisk: true);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>fsync each directory, so that the entries (not only the data) survive a power cut.</summary>
    private static void FlushDirectory(string root)
    {
        foreach (string directory in Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories).Append(root))
            Storage.DurableFileSystem.FlushDirectory(directory);
    }

    private static void Add(TarWriter tar, string name, Stream data)
    {
        using (data)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
            {
                DataStream = data,
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                ModificationTime = DateTimeOffset.UnixEpoch,
            };
            tar.WriteEntry(entry);
        }
    }

    private static void Remove(string? folder)
    {
        if (folder is not null && Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
    }

    /// <summary>Counts what is read, so a short entry (a truncated bundle) is told apart from a changed one.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Count { get; private set; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Count; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int read = inner.Read(buffer);
            Count += read;
            return read;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
