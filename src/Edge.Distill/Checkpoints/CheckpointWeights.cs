using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Edge.Distill.Checkpoints;

/// <summary>
/// A checkpoint's tensors by Hugging Face name, read (and converted to float32) on every access;
/// shapes are known without reading. Subclasses say where tensors come from (safetensors, GGUF);
/// the dictionary plumbing is here once.
/// </summary>
internal abstract class CheckpointWeights : IReadOnlyDictionary<string, (long[] Shape, float[] Data)>
{
    public abstract IEnumerable<string> Keys { get; }

    public abstract int Count { get; }

    public abstract (long[] Shape, float[] Data) this[string key] { get; }

    public abstract bool ContainsKey(string key);

    public abstract long[] ShapeOf(string name);

    public IEnumerable<(long[] Shape, float[] Data)> Values => Keys.Select(k => this[k]);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out (long[] Shape, float[] Data) value)
    {
        if (!ContainsKey(key))
        {
            value = default;
            return false;
        }
        value = this[key];
        return true;
    }

    public IEnumerator<KeyValuePair<string, (long[] Shape, float[] Data)>> GetEnumerator() =>
        Keys.Select(k => new KeyValuePair<string, (long[] Shape, float[] Data)>(k, this[k])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
