namespace Edge.Distill.Checkpoints;

/// <summary>A checkpoint's tensors by Hugging Face name, read (and converted to float32) on access; shapes known without reading.</summary>
internal interface ICheckpointWeights : IReadOnlyDictionary<string, (long[] Shape, float[] Data)>
{
    long[] ShapeOf(string name);
}
