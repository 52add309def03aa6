using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Edge.Distill.Data;

/// <summary>One shard file: its name, token count and sha256 (of the whole file).</summary>
internal sealed record ShardFile(string File, long Tokens, string Sha256);

/// <summary>
/// <c>shards.json</c>: what the shards were made from and with (tokenizer hash, vocabulary size,
/// the sources and their provenance, the seed), and every shard file with its hash.
/// </summary>
internal sealed record ShardIndex(
    int Format,
    string TokenizerSha256,
    int VocabularySize,
    int? BosId,
    int? EosId,
    long TrainDocuments,
    long ValidationDocuments,
    IReadOnlyList<ShardFile> Train,
    IReadOnlyList<ShardFile> Validation,
    IReadOnlyList<string> Sources,
    string? Provenance,
    long Seed)
{
    public const string FileName = "shards.json";
    public const int CurrentFormat = 1;

    public long TrainTokens => Train.Sum(s => s.Tokens);
    public long ValidationTokens => Validation.Sum(s => s.Tokens);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(ShardIndex))]
internal sealed partial class ShardJsonContext : JsonSerializerContext;

/// <summary>
/// Token shards: little-endian files of the magic <c>DSETOK01</c>, the token count (int64) and the
/// token ids (int32), documents one after another, each starting with BOS and ending with EOS.
/// Opening a shard set checks the index and every file (magic, length, sha256), so a corrupt or
/// truncated shard is refused by name before training reads it.
/// </summary>
internal sealed class TokenShards
{
    private static ReadOnlySpan<byte> Magic => "DSETOK01"u8;
    private const int HeaderBytes = 16;

    private TokenShards(string directory, ShardIndex index)
    {
        Directory = directory;
        Index = index;
    }

    public string Directory { get; }
    public ShardIndex Index { get; }

    public static TokenShards Open(string directory)
    {
        string path = Path.Combine(directory, ShardIndex.FileName);
        if (!File.Exists(path))
            throw new InvalidDataException($"{path} is missing: --data must name a folder written by 'edge-distill data'.");
        ShardIndex index;
        try
        {
            index = JsonSerializer.Deserialize(File.ReadAllBytes(path), ShardJsonContext.Default.ShardIndex)
                ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a shard index: {e.Message}");
        }
        if (index.Format != ShardIndex.CurrentFormat)
            throw new InvalidDataException($"{path} has shard format {index.Format}; this tool reads {ShardIndex.CurrentFormat}.");
        foreach (var shard in index.Train.Concat(index.Validation))
            Check(directory, shard);
        return new TokenShards(directory, index);
    }

    /// <summary>A shard's tokens (one shard in memory at a time).</summary>
    public int[] Read(ShardFile shard)
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(Directory, shard.File));
        var tokens = new int[(bytes.Length - HeaderBytes) / sizeof(int)];
        for (int i = 0; i < tokens.Length; i++)
            tokens[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(HeaderBytes + i * sizeof(int)));
        return tokens;
    }

    /// <summary>All tokens of one split, shard after shard.</summary>
    public IEnumerable<int[]> ReadAll(IReadOnlyList<ShardFile> split) => split.Select(Read);

    private static void Check(string directory, ShardFile shard)
    {
        string file = Path.Combine(directory, shard.File);
        if (Path.GetFileName(shard.File) != shard.File || !File.Exists(file))
            throw new InvalidDataException($"Shard {shard.File} listed in {ShardIndex.FileName} is missing.");
        using var stream = File.OpenRead(file);
        var header = new byte[HeaderBytes];
        if (stream.Read(header) != HeaderBytes || !header.AsSpan(0, 8).SequenceEqual(Magic))
            throw new InvalidDataException($"Shard {shard.File} is corrupt: it does not start with the token-shard header.");
        long count = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8));
        if (count != shard.Tokens || stream.Length != HeaderBytes + count * sizeof(int))
            throw new InvalidDataException($"Shard {shard.File} is corrupt or truncated: {stream.Length} bytes for {shard.Tokens} tokens.");
        stream.Position = 0;
        string sha = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (sha != shard.Sha256)
            throw new InvalidDataException($"Shard {shard.File} is corrupt: sha256 {sha}, the index says {shard.Sha256}.");
    }

    /// <summary>Writes one split's shards, starting a new file every <c>tokensPerShard</c> tokens (at a document boundary).</summary>
    internal sealed class Writer(string directory, string split, long tokensPerShard) : IDisposable
    {
        private readonly List<ShardFile> _written = [];
        private FileStream? _file;
        private long _tokens;
        private readonly byte[] _buffer = new byte[4];
        private readonly byte[] _buffer8 = new byte[8];

        public IReadOnlyList<ShardFile> Written => _written;

        public void Add(IReadOnlyList<int> document)
        {
            if (_file is null || _tokens >= tokensPerShard)
                Finish();
            _file ??= Begin();
            foreach (int id in document)
            {
                BinaryPrimitives.WriteInt32LittleEndian(_buffer, id);
                _file.Write(_buffer);
            }
            _tokens += document.Count;
        }

        private FileStream Begin()
        {
            _tokens = 0;
            var file = File.Create(Path.Combine(directory, $"{split}-{_written.Count:D5}.bin"));
            file.Write(Magic);
            file.Write(new byte[8]);
            return file;
        }

        public void Finish()
        {
            if (_file is null)
                return;
            BinaryPrimitives.WriteInt64LittleEndian(_buffer8, _tokens);
            _file.Position = 8;
            _file.Write(_buffer8);
            _file.Position = 0;
            string sha = Convert.ToHexStringLower(SHA256.HashData(_file));
            string name = Path.GetFileName(_file.Name);
            _file.Dispose();
            _file = null;
            _written.Add(new ShardFile(name, _tokens, sha));
        }

        public void Dispose() => _file?.Dispose();
    }
}
