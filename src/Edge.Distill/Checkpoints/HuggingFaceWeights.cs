using System.Text.Json;

namespace Edge.Distill.Checkpoints;

/// <summary>
/// The weights of a Hugging Face folder (model.safetensors, or shards listed by
/// model.safetensors.index.json) as float32 tensors by name, read one at a time on access from
/// the files (positioned reads, no memory map). DeepSeek-V3's fp8 weights are dequantized exactly with their
/// <c>weight_scale_inv</c> block scales, which are not themselves listed.
/// </summary>
internal sealed class HuggingFaceWeights : CheckpointWeights, IDisposable
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";
    private const string ScaleSuffix = "_scale_inv";

    private readonly List<Safetensors> _files;
    private readonly Dictionary<string, (Safetensors File, Safetensors.Entry Entry)> _tensors;
    private readonly int _fp8Block;

    private HuggingFaceWeights(List<Safetensors> files, Dictionary<string, (Safetensors File, Safetensors.Entry Entry)> tensors, int fp8Block)
    {
        _files = files;
        _tensors = tensors;
        _fp8Block = fp8Block;
    }

    /// <summary>Called with the stored bytes of each tensor read, for progress.</summary>
    public event Action<long>? Read;

    /// <summary>Stored bytes of every listed tensor (fp8 scales included).</summary>
    public long StoredBytes => _files.Sum(f => f.Entries.Values.Sum(e => e.End - e.Start));

    /// <summary>The dtypes the checkpoint stores its weights in (scales excluded).</summary>
    public IReadOnlyList<string> Dtypes => [.. _tensors.Values.Select(t => t.Entry.Dtype).Distinct().Order()];

    /// <param name="skip">Tensors to leave out (DeepSeek-V3's multi-token-prediction layers).</param>
    /// <param name="fp8Block">The fp8 block size (quantization_config.weight_block_size; 128 for DeepSeek-V3).</param>
    public static HuggingFaceWeights Open(string folder, Func<string, bool> skip, int fp8Block = 128)
    {
        var files = new List<Safetensors>();
        try
        {
            var byName = new Dictionary<string, (Safetensors File, Safetensors.Entry Entry)>(StringComparer.Ordinal);
            string index = Path.Combine(folder, IndexFile), single = Path.Combine(folder, SingleFile);
            if (File.Exists(index))
            {
                var map = ReadWeightMap(index);
                foreach (var shard in map.Values.Distinct(StringComparer.Ordinal))
                {
                    if (shard.Contains('/') || shard.Contains('\\') || shard.StartsWith('.'))
                        throw new InvalidDataException($"{IndexFile} names shard '{shard}', which is not a file in the folder.");
                    string path = Path.Combine(folder, shard);
                    if (!File.Exists(path))
                        throw new FileNotFoundException($"{IndexFile} lists shard '{shard}', which is missing from {folder}.");
                    files.Add(Safetensors.Open(path));
                }
                var shards = files.ToDictionary(f => Path.GetFileName(f.Path), StringComparer.Ordinal);
                foreach (var (name, shard) in map)
                {
                    if (!shards[shard].Entries.TryGetValue(name, out var entry))
                        throw new InvalidDataException($"{IndexFile} puts '{name}' in {shard}, which does not have it.");
                    byName[name] = (shards[shard], entry);
                }
            }
            else if (File.Exists(single))
            {
                var file = Safetensors.Open(single);
                files.Add(file);
                foreach (var entry in file.Entries.Values)
                    byName[entry.Name] = (file, entry);
            }
            else
            {
                throw new FileNotFoundException($"{folder} has neither {SingleFile} nor {IndexFile}.");
            }

            var tensors = byName
                .Where(t => !skip(t.Key) && !(t.Key.EndsWith(ScaleSuffix, StringComparison.Ordinal) && byName.ContainsKey(t.Key[..^ScaleSuffix.Length])))
                .ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
            var weights = new HuggingFaceWeights(files, tensors, fp8Block);
            foreach (var (name, (_, entry)) in tensors.Where(t => t.Value.Entry.Dtype == "F8_E4M3"))
                weights.CheckScales(name, entry, byName);
            return weights;
        }
        catch
        {
            foreach (var file in files)
                file.Dispose();
            throw;
        }
    }

    private static Dictionary<string, string> ReadWeightMap(string index)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(index));
        if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{index} has no weight_map.");
        return map.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
    }

    private void CheckScales(string name, Safetensors.Entry entry, Dictionary<string, (Safetensors File, Safetensors.Entry Entry)> all)
    {
        if (!all.TryGetValue(name + ScaleSuffix, out var scale))
            throw new InvalidDataException($"'{name}' is fp8 but the checkpoint has no '{name}{ScaleSuffix}' to dequantize it with.");
        long[] expected = [.. entry.Shape.Select(d => (d + _fp8Block - 1) / _fp8Block)];
        if (entry.Shape.Length != 2 || !scale.Entry.Shape.SequenceEqual(expected))
            throw new InvalidDataException($"'{name}{ScaleSuffix}' has shape [{string.Join(", ", scale.Entry.Shape)}]; {_fp8Block}x{_fp8Block} blocks of [{string.Join(", ", entry.Shape)}] need [{string.Join(", ", expected)}].");
    }

    public override (long[] Shape, float[] Data) this[string key]
    {
        get
        {
            var (file, entry) = _tensors[key];
            TensorMemory.BeforeRead(entry.Elements * sizeof(float));
            float[] data = file.ReadFloats(key);
            Read?.Invoke(entry.End - entry.Start);
            if (entry.Dtype == "F8_E4M3")
                ApplyBlockScales(data, entry.Shape, LoadScales(key));
            return (entry.Shape, data);
        }
    }

    private float[] LoadScales(string name)
    {
        string scaleName = name + ScaleSuffix;
        var file = _files.First(f => f.Entries.ContainsKey(scaleName));
        return file.ReadFloats(scaleName);
    }

    /// <summary>w[i, j] = fp8[i, j] x scale_inv[i / block, j / block]: DeepSeek's weight_dequant, exact in float32.</summary>
    private void ApplyBlockScales(float[] data, long[] shape, float[] scales)
    {
        long rows = shape[0], columns = shape[1], blockColumns = (columns + _fp8Block - 1) / _fp8Block;
        for (long r = 0; r < rows; r++)
        {
            for (long c = 0; c < columns; c++)
                data[r * columns + c] *= scales[r / _fp8Block * blockColumns + c / _fp8Block];
        }
    }

    public override long[] ShapeOf(string key) => _tensors[key].Entry.Shape;

    public override IEnumerable<string> Keys => _tensors.Keys;

    public override int Count => _tensors.Count;

    public override bool ContainsKey(string key) => _tensors.ContainsKey(key);

    public void Dispose()
    {
        foreach (var file in _files)
            file.Dispose();
    }
}
