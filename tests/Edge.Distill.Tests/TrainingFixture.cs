using Edge.TestSupport;

namespace Edge.Distill.Tests;

/// <summary>
/// What the data and training tests share, made once: a tokenizer cut to 2,000 merges, shards of
/// 24 Brown corpus files, and a tiny student for that tokenizer.
/// </summary>
internal static class TrainingFixture
{
    private static readonly Lazy<(string Work, string Tokenizer, string Shards, string Student)> Made = new(Make);

    public static string Work => Made.Value.Work;
    public static string Tokenizer => Made.Value.Tokenizer;
    public static string Shards => Made.Value.Shards;
    public static string Student => Made.Value.Student;

    /// <summary>A few Brown files, copied so the data command sees a folder of them.</summary>
    public static string CorpusSample(string folder, int files)
    {
        Directory.CreateDirectory(folder);
        foreach (string file in Directory.EnumerateFiles(RepositoryPaths.BrownCorpus, "c*").Order(StringComparer.Ordinal).Where(f => Path.GetFileName(f).Length == 4).Take(files))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        return folder;
    }

    private static (string, string, string, string) Make()
    {
        string work = Directory.CreateTempSubdirectory("edge-distill-training").FullName;
        string tokenizer = Path.Combine(work, "tokenizer");
        string shards = Path.Combine(work, "shards");
        string student = Path.Combine(work, "student");
        Assert.AreEqual(0, DistillCli.Run("vocab", "--tokenizer", RepositoryPaths.DeepSeekV3Tokenizer, "--merges", "2000", "--out", tokenizer));
        Assert.AreEqual(0, DistillCli.Run("data", CorpusSample(Path.Combine(work, "corpus"), 24), "--format", "BrownTagged", "--tokenizer", tokenizer,
            "--out", shards, "--shard-tokens", "20000", "--validation-percent", "10"));
        Assert.AreEqual(0, DistillCli.Run("init", "--preset", "tiny", "--seed", "3", "--tokenizer", tokenizer, "--out", student));
        return (work, tokenizer, shards, student);
    }
}
