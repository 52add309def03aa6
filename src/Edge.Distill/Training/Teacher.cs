using System.Security.Cryptography;
using Edge.Distill.Checkpoints;
using Edge.Runtime.Inference;
using Edge.Runtime.Packaging;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace Edge.Distill.Training;

/// <summary>A model whose next-token logits the student learns from.</summary>
internal abstract class Teacher : IDisposable
{
    /// <summary>sha256 of the teacher's tokenizer.json: distillation needs the student's exact vocabulary.</summary>
    public abstract string TokenizerSha256 { get; }

    public abstract string Description { get; }

    /// <summary>The folder holding the teacher's tokenizer.json.</summary>
    public abstract string TokenizerDirectory { get; }

    /// <summary>Logits for every position of each row, [batch, length, vocabulary or more], no gradient.</summary>
    public abstract Tensor Logits(long[] ids, int batch, int length);

    public abstract void Dispose();

    public static string HashTokenizer(string directory) =>
        Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(directory, Edge.Runtime.Tokenization.ModelTokenizer.FileName))));

    /// <summary>
    /// Refuses a teacher whose tokenizer is not the student's: logits over different vocabularies
    /// cannot be compared position by position (a vocabulary map between them is not supported).
    /// </summary>
    public void RequireVocabularyOf(string studentDirectory)
    {
        string student = HashTokenizer(studentDirectory);
        if (student != TokenizerSha256)
            throw new ArgumentException($"The teacher ({Description}) and the student have different vocabularies (tokenizer.json sha256 {TokenizerSha256[..12]} vs {student[..12]}); " +
                "distillation compares their logits token by token, so both need the same tokenizer, or --vocab-map auto when every student token is also a teacher token.");
    }
}

/// <summary>
/// A teacher with another vocabulary, seen through a <see cref="VocabularyMap"/>: the student's
/// ids are translated to the teacher's before it runs, and its logits are gathered back in the
/// student's order. The teacher thus reads the student's tokenization of the text (a valid, if not
/// its preferred, spelling) and its distribution is renormalised over the tokens the student has.
/// </summary>
internal sealed class MappedTeacher(Teacher inner, VocabularyMap map, string studentDirectory) : Teacher
{
    private readonly Tensor _gather = tensor(map.TeacherIds);

    public override string TokenizerSha256 { get; } = HashTokenizer(studentDirectory);
    public override string Description => $"{inner.Description} through a vocabulary map ({map.TeacherIds.Length} student tokens)";
    public override string TokenizerDirectory => studentDirectory;

    public override Tensor Logits(long[] ids, int batch, int length)
    {
        var translated = ids.Select(id => id < map.TeacherIds.Length ? map.TeacherIds[id] : throw new InvalidDataException($"Token id {id} is outside the student's vocabulary.")).ToArray();
        using var teacherLogits = inner.Logits(translated, batch, length);
        return teacherLogits.index_select(-1, _gather);
    }

    public override void Dispose()
    {
        _gather.Dispose();
        inner.Dispose();
    }
}

/// <summary>Any package Edge.Runtime can run, through ONNX Runtime: one full-sequence pass per row.</summary>
internal sealed class PackageTeacher : Teacher
{
    private readonly ModelSession _session;
    private readonly SessionOptions _options = new();

    public PackageTeacher(string packageDirectory)
    {
        var package = ModelPackage.Open(packageDirectory);
        _session = ModelSession.Open(package, _options);
        TokenizerSha256 = HashTokenizer(package.Directory);
        TokenizerDirectory = package.Directory;
        Description = $"package {package.Manifest.Name} {package.Manifest.Version}";
    }

    public override string TokenizerSha256 { get; }
    public override string Description { get; }
    public override string TokenizerDirectory { get; }

    public override Tensor Logits(long[] ids, int batch, int length)
    {
        int vocabulary = _session.VocabularySize;
        var all = new float[(long)batch * length * vocabulary];
        var row = new int[length];
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < length; t++)
                row[t] = (int)ids[b * length + t];
            using var state = _session.CreateState();
            float[] logits = _session.Step(state, row, allLogits: true)!;
            logits.CopyTo(all, (long)b * length * vocabulary);
        }
        return tensor(all, [batch, length, vocabulary]);
    }

    public override void Dispose()
    {
        _session.Dispose();
        _options.Dispose();
    }
}

/// <summary>A TorchSharp checkpoint, run without gradients.</summary>
internal sealed class CheckpointTeacher : Teacher
{
    private readonly Modeling.DeepSeekV3ForCausalLM _model;

    public CheckpointTeacher(string checkpointDirectory)
    {
        _model = Checkpoint.Load(checkpointDirectory);
        _model.eval();
        TokenizerSha256 = HashTokenizer(checkpointDirectory);
        TokenizerDirectory = checkpointDirectory;
        Description = $"checkpoint {checkpointDirectory}";
    }

    public override string TokenizerSha256 { get; }
    public override string Description { get; }
    public override string TokenizerDirectory { get; }

    public override Tensor Logits(long[] ids, int batch, int length)
    {
        using var noGrad = no_grad();
        return _model.forward(tensor(ids, [batch, length]));
    }

    public override void Dispose() => _model.Dispose();
}
