using System.Text.Json;

namespace Edge.Distill.Modeling;

/// <summary>Llama 3.1's RoPE scaling: long wavelengths divided by factor, short ones kept, a smooth blend between.</summary>
internal sealed record Llama3RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositionEmbeddings)
{
    public double Scale(double frequency)
    {
        double lowFreqWavelength = OriginalMaxPositionEmbeddings / LowFreqFactor;
        double highFreqWavelength = OriginalMaxPositionEmbeddings / HighFreqFactor;
        double wavelength = 2 * Math.PI / frequency;
        if (wavelength < highFreqWavelength)
            return frequency;
        if (wavelength > lowFreqWavelength)
            return frequency / Factor;
        double smooth = (OriginalMaxPositionEmbeddings / wavelength - LowFreqFactor) / (HighFreqFactor - LowFreqFactor);
        return (1 - smooth) * frequency / Factor + smooth * frequency;
    }

    public static Llama3RopeScaling Read(JsonElement e) => new(
        e.GetProperty("factor").GetDouble(),
        e.GetProperty("low_freq_factor").GetDouble(),
        e.GetProperty("high_freq_factor").GetDouble(),
        e.GetProperty("original_max_position_embeddings").GetInt32());
}

/// <summary>
/// YaRN RoPE scaling as DeepSeek-V2 and -V3 configure it (rope_scaling type "yarn"): frequencies
/// blended between interpolated (divided by factor) and original by a linear ramp over the
/// correction range of beta_fast..beta_slow rotations; cos and sin scaled by
/// mscale(factor, mscale) / mscale(factor, mscale_all_dim); the softmax scale multiplied by
/// mscale(factor, mscale_all_dim) squared. Follows Hugging Face's DeepseekV2YarnRotaryEmbedding.
/// </summary>
internal sealed record YarnRopeScaling(double Factor, int OriginalMaxPositionEmbeddings, double BetaFast, double BetaSlow, double Mscale, double MscaleAllDim)
{
    public static YarnRopeScaling Read(JsonElement e)
    {
        double Number(string name, double fallback) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : fallback;
        return new YarnRopeScaling(
            e.GetProperty("factor").GetDouble(),
            e.GetProperty("original_max_position_embeddings").GetInt32(),
            Number("beta_fast", 32), Number("beta_slow", 1), Number("mscale", 1), Number("mscale_all_dim", 0));
    }

    public static double GetMscale(double scale, double mscale) => scale <= 1 ? 1.0 : 0.1 * mscale * Math.Log(scale) + 1.0;

    /// <summary>What cos and sin are multiplied by.</summary>
    public float Magnitude => (float)(GetMscale(Factor, Mscale) / GetMscale(Factor, MscaleAllDim));

    /// <summary>What the softmax scale 1/sqrt(d) is multiplied by.</summary>
    public double SoftmaxScaleFactor => MscaleAllDim != 0 ? Math.Pow(GetMscale(Factor, MscaleAllDim), 2) : 1.0;

    public float[] InverseFrequencies(int dim, double theta)
    {
        double CorrectionDim(double rotations) => dim * Math.Log(OriginalMaxPositionEmbeddings / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));
        double low = Math.Max(Math.Floor(CorrectionDim(BetaFast)), 0), high = Math.Min(Math.Ceiling(CorrectionDim(BetaSlow)), dim - 1);
        if (low == high)
            high += 0.001;
        var result = new float[dim / 2];
        for (int i = 0; i < result.Length; i++)
        {
            double extrapolated = 1.0 / Math.Pow(theta, 2.0 * i / dim);
            double interpolated = extrapolated / Factor;
            double ramp = Math.Clamp((i - low) / (high - low), 0, 1);
            double extrapolationWeight = 1 - ramp;
            result[i] = (float)(interpolated * (1 - extrapolationWeight) + extrapolated * extrapolationWeight);
        }
        return result;
    }
}
