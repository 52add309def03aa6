using Edge.Runtime.Sampling;
using Edge.Distill.Checkpoints;
using Edge.Runtime.Inference;
using Edge.Runtime.Packaging;
using Edge.Runtime.Tokenization;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace Edge.Distill.Export;

/// <summary>
/// Runs a checkpoint in TorchSharp and its exported package in ONNX Runtime on the same prompt:
/// the prefill, then decode steps through the exported cache, compared with TorchSharp
/// recomputing the whole sequence each step.
/// </summary>
internal static class ExportVerifier
{
    public const double DefaultTolerance = 1e-4;

    public sealed record Report(int PromptTokens, int DecodeSteps, double MaxAbsDifference, double MaxAbsLogit, IReadOnlyList<int> Tokens);

    public static Report Run(string checkpointDirectory, string packageDirectory, string prompt, int decodeSteps)
    {
        using var model = Checkpoint.Load(checkpointDirectory);
        model.eval();
        var package = ModelPackage.Open(packageDirectory);
        var tokenizer = ModelTokenizer.Load(package.Directory);
        using var options = new SessionOptions();
        using var session = ModelSession.Open(package, options);
        using var state = session.CreateState();
        using var noGrad = no_grad();

        var tokens = tokenizer.Encode(prompt).ToList();
        int vocabulary = session.VocabularySize;
        double maxDifference = 0, maxLogit = 0;

        float[] onnx = session.Step(state, tokens.ToArray(), allLogits: true)!;
        float[] torchLogits = TorchLogits(model, tokens);
        Compare(onnx, torchLogits, ref maxDifference, ref maxLogit);

        for (int step = 0; step < decodeSteps; step++)
        {
            int next = Greedy.ArgMax(state.LastLogits);
            tokens.Add(next);
            session.Step(state, [next]);
            float[] all = TorchLogits(model, tokens);
            Compare(state.LastLogits, all.AsSpan(all.Length - vocabulary), ref maxDifference, ref maxLogit);
        }
        return new Report(tokens.Count - decodeSteps, decodeSteps, maxDifference, maxLogit, tokens);
    }

    private static float[] TorchLogits(Modeling.DeepSeekV3ForCausalLM model, List<int> tokens)
    {
        using var scope = NewDisposeScope();
        var ids = tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Count]);
        return model.forward(ids).contiguous().data<float>().ToArray();
    }

    private static void Compare(ReadOnlySpan<float> onnx, ReadOnlySpan<float> torch, ref double maxDifference, ref double maxLogit)
    {
        if (onnx.Length != torch.Length)
            throw new InvalidOperationException($"ONNX produced {onnx.Length} logits, TorchSharp {torch.Length}.");
        for (int i = 0; i < onnx.Length; i++)
        {
            maxDifference = Math.Max(maxDifference, Math.Abs((double)onnx[i] - torch[i]));
            maxLogit = Math.Max(maxLogit, Math.Abs((double)torch[i]));
        }
    }

}
