namespace Edge.Distill.Gguf;

/// <summary>What `export --format gguf --type` writes the weight matrices as; vectors stay F32.</summary>
internal enum GgufWeightType
{
    F32,
    F16,
    Q8_0,
    Q4_0,
}

internal static class GgufWeightTypes
{
    public static GgmlType Ggml(this GgufWeightType type) => type switch
    {
        GgufWeightType.F16 => GgmlType.F16,
        GgufWeightType.Q8_0 => GgmlType.Q8_0,
        GgufWeightType.Q4_0 => GgmlType.Q4_0,
        _ => GgmlType.F32,
    };

    /// <summary>llama.cpp's general.file_type (llama_ftype) for a file mostly of this type.</summary>
    public static uint FileType(this GgufWeightType type) => type switch
    {
        GgufWeightType.F16 => 1,
        GgufWeightType.Q4_0 => 2,
        GgufWeightType.Q8_0 => 7,
        _ => 0,
    };

    /// <summary>
    /// The type one tensor gets: matrices take the requested type when their rows fill whole
    /// blocks, everything else (norms, biases, the router, rows too short) stays F32, as
    /// llama.cpp's quantizer does.
    /// </summary>
    public static GgmlType For(this GgufWeightType type, string ggufName, long[] shape)
    {
        var wanted = type.Ggml();
        if (shape.Length < 2 || ggufName.Contains("ffn_gate_inp", StringComparison.Ordinal))
            return GgmlType.F32;
        return shape[^1] % GgmlTypes.Block(wanted).Elements == 0 ? wanted : GgmlType.F32;
    }
}
