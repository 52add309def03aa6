using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Edge.Runtime.Tokenization;

namespace Edge.Distill.Data;

/// <summary>
/// Turns documents into shuffled train and validation shards: each document is tokenized with the
/// model's tokenizer (BOS ... EOS), goes to validation when a hash of its text says so (the split
/// does not depend on the order or the seed), and passes a seeded shuffle buffer, so memory holds
/// at most that many documents whatever the corpus size.
/// </summary>
internal sealed class ShardBuilder(ModelTokenizer tokenizer, string tokenizerFile, string outputDirectory, ShardOptions options)
{
    public ShardIndex Build(IEnumerable<string> documents, IReadOnlyList<string> sources, Action<long>? progress = null)
    {
        if (Directory.Exists(outputDirectory) && Directory.EnumerateFileSystemEntries(outputDirectory).Any())
            throw new ArgumentException($"{outputDirectory} exists and is not empty; choose a new folder for the shards.");
        Directory.CreateDirectory(outputDirectory);
        var random = new Random((int)options.Seed);
        using var train = new TokenShards.Writer(outputDirectory, "train", options.TokensPerShard);
        using var validation = new TokenShards.Writer(outputDirectory, "validation", options.TokensPerShard);
        var buffer = new List<int[]>(options.ShuffleBuffer);
        long trainDocuments = 0, validationDocuments = 0, seen = 0;
        foreach (string document in documents)
        {
            var ids = Tokenize(document);
            if (IsValidation(document))
            {
                validation.Add(ids);
                validationDocuments++;
            }
            else if (buffer.Count < options.ShuffleBuffer)
            {
                buffer.Add(ids);
            }
            else
            {
                int pick = random.Next(buffer.Count);
                train.Add(buffer[pick]);
                buffer[pick] = ids;
                trainDocuments++;
            }
            if (++seen % 1000 == 0)
                progress?.Invoke(seen);
        }
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buffer));
        foreach (var ids in buffer)
            train.Add(ids);
        trainDocuments += buffer.Count;
        train.Finish();
        validation.Finish();
        if (trainDocuments == 0 || validationDocuments == 0)
            throw new InvalidDataException($"The input holds {trainDocuments} training and {validationDocuments} validation documents; both splits need at least one (more text, or another --validation-percent).");

        var index = new ShardIndex(ShardIndex.CurrentFormat, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(tokenizerFile))),
            tokenizer.VocabularySize, tokenizer.BosId, tokenizer.EosId, trainDocuments, validationDocuments,
            train.Written, validation.Written, sources, options.Provenance, options.Seed);
        File.WriteAllBytes(Path.Combine(outputDirectory, ShardIndex.FileName), JsonSerializer.SerializeToUtf8Bytes(index, ShardJsonContext.Default.ShardIndex));
        return index;
    }

    private int[] Tokenize(string document)
    {
        int[] body = tokenizer.Encode(document, addSpecialTokens: false);
        var ids = new List<int>(body.Length + 2);
        if (tokenizer.BosId is { } bos)
            ids.Add(bos);
        ids.AddRange(body);
        if (tokenizer.EosId is { } eos)
            ids.Add(eos);
        return [.. ids];
    }

    private bool IsValidation(string document) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(document))) % 10_000 < (ulong)(options.ValidationPercent * 100);
}

/// <summary>Settings of <see cref="ShardBuilder"/>.</summary>
internal sealed record ShardOptions(double ValidationPercent, long TokensPerShard, int ShuffleBuffer, long Seed, string? Provenance);
