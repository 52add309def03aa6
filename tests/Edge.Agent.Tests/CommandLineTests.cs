using System.Diagnostics;
using System.Text.Json;
using Edge.Runtime.Tokenization;
using Edge.TestSupport;

namespace Edge.Agent.Tests;

/// <summary>The deepseek-edge executable's commands, run as a separate process.</summary>
[TestClass]
public sealed class CommandLineTests
{
    private static (int ExitCode, string Stdout, string Stderr) Run(string stdin, params string[] args) => RunWith([], stdin, args);

    private static (int ExitCode, string Stdout, string Stderr) RunWith(Dictionary<string, string> environment, string stdin, params string[] args)
    {
        string binary = Path.Combine(AppContext.BaseDirectory, "deepseek-edge.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        start.ArgumentList.Add(binary);
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        Assert.IsTrue(process.WaitForExit(60_000), "the command did not finish");
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    [TestMethod]
    public void TokenizeWritesOneArrayPerLineFromAFolderWithOnlyTokenizerFiles()
    {
        string folder = Directory.CreateTempSubdirectory("tokenizer-only").FullName;
        foreach (string file in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(RepositoryPaths.DefaultModel, file), Path.Combine(folder, file));
        var tokenizer = ModelTokenizer.Load(folder);

        var (exit, stdout, _) = Run("Hello world\n你好\n\n", "tokenize", "--tokenizer", folder);
        Assert.AreEqual(0, exit);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(3, lines);
        CollectionAssert.AreEqual(tokenizer.Encode("Hello world"), JsonSerializer.Deserialize<int[]>(lines[0]));
        CollectionAssert.AreEqual(tokenizer.Encode("你好"), JsonSerializer.Deserialize<int[]>(lines[1]));

        var (noSpecialExit, noSpecial, _) = Run("Hello world\n", "tokenize", "--tokenizer", folder, "--no-special-tokens");
        Assert.AreEqual(0, noSpecialExit);
        CollectionAssert.AreEqual(tokenizer.Encode("Hello world", addSpecialTokens: false), JsonSerializer.Deserialize<int[]>(noSpecial.Trim()));
        Directory.Delete(folder, recursive: true);
    }

    [TestMethod]
    public void DetokenizeWritesOneStringPerLineAndFlagsBadLines()
    {
        var tokenizer = ModelTokenizer.Load(RepositoryPaths.DefaultModel);
        string ids = JsonSerializer.Serialize(tokenizer.Encode("Valve 7 open", addSpecialTokens: false));
        var (exit, stdout, stderr) = Run($"{ids}\nnot json\n[1, 999999999]\n{ids}\n", "detokenize", "--tokenizer", RepositoryPaths.DefaultModel);
        Assert.AreEqual(1, exit, "bad lines make the exit code 1");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        CollectionAssert.AreEqual(new[] { "\"Valve 7 open\"", "null", "null", "\"Valve 7 open\"" }, lines);
        StringAssert.Contains(stderr, "line 2");
        StringAssert.Contains(stderr, "line 3");
    }

    [TestMethod]
    public void GeneratePrintsACompletion()
    {
        var (exit, stdout, stderr) = Run("", "generate", "--prompt", "Hello", "--max-tokens", "5", "--ignore-eos");
        Assert.AreEqual(0, exit, stderr);
        Assert.IsFalse(string.IsNullOrWhiteSpace(stdout));
        StringAssert.Contains(stderr, "5 completion tokens");
    }

    [TestMethod]
    public void AMissingModelIsAClearErrorNotACrash()
    {
        var (exit, _, stderr) = Run("", "generate", "--model", "/nonexistent/model", "--prompt", "x");
        Assert.AreEqual(2, exit);
        StringAssert.Contains(stderr, "/nonexistent/model does not exist");
    }

    [TestMethod]
    public void ABadConfigurationValueStopsStartUpNamingTheKey()
    {
        string state = Directory.CreateTempSubdirectory("dsedge-config").FullName;
        var (exit, _, stderr) = RunWith(new() { ["DSEDGE_Engine__StrictProviders"] = "maybe" }, "", "serve", "--urls", "http://127.0.0.1:0", "--state-dir", state);
        Assert.AreEqual(2, exit);
        StringAssert.Contains(stderr, "Configuration Engine:StrictProviders");

        var (strictExit, _, strictError) = Run("", "serve", "--urls", "http://127.0.0.1:0", "--state-dir", state, "--Engine:Providers=cuda,cpu", "--Engine:StrictProviders=true");
        Assert.AreEqual(2, strictExit);
        StringAssert.Contains(strictError, "'cuda' is not available");
    }

    [TestMethod]
    public void VerifyBundleAcceptsASignedBundleAndRefusesAnotherKeyAndABadFile()
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-verify-bundle").FullName;
        var (signing, trusted) = Edge.Runtime.Bundles.BundleKeys.Generate();
        var (_, stranger) = Edge.Runtime.Bundles.BundleKeys.Generate();
        File.WriteAllText(Path.Combine(folder, "key.pem"), signing);
        File.WriteAllText(Path.Combine(folder, "trusted.pub.pem"), trusted);
        File.WriteAllText(Path.Combine(folder, "stranger.pub.pem"), stranger);
        string bundle = Path.Combine(folder, "default.edgepkg");
        using (var key = Edge.Runtime.Bundles.BundleKeys.ReadPrivate(Path.Combine(folder, "key.pem")))
            Edge.Runtime.Bundles.ModelBundle.Pack(RepositoryPaths.DefaultModel, key, bundle);

        var (exit, stdout, stderr) = Run("", "verify-bundle", bundle, "--public-key", Path.Combine(folder, "trusted.pub.pem"));
        Assert.AreEqual(0, exit, stderr);
        StringAssert.Contains(stdout, "OK: deepseek-edge 0.1.0");

        (exit, _, stderr) = Run("", "verify-bundle", bundle, "--public-key", Path.Combine(folder, "stranger.pub.pem"));
        Assert.AreEqual(2, exit);
        StringAssert.Contains(stderr, "does not verify against any trusted key");

        File.WriteAllText(Path.Combine(folder, "junk.edgepkg"), "not a tar at all, just text that goes on for a while " + new string('x', 600));
        (exit, _, stderr) = Run("", "verify-bundle", Path.Combine(folder, "junk.edgepkg"), "--public-key", Path.Combine(folder, "trusted.pub.pem"));
        Assert.AreEqual(2, exit);
        StringAssert.Contains(stderr, "deepseek-edge: ");
        Assert.DoesNotContain("Unhandled exception", stderr);
        Directory.Delete(folder, recursive: true);
    }
}

/// <summary>A daemon that cannot listen says so in one line and exits 2.</summary>
[TestClass]
public sealed class ListenFailureTests
{
    [TestMethod]
    public void APortInUseIsOneLineAndExit2()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { Path.Combine(AppContext.BaseDirectory, "deepseek-edge.dll"), "serve", "--model", RepositoryPaths.DefaultModel,
            "--urls", $"http://127.0.0.1:{port}", "--state-dir", Directory.CreateTempSubdirectory("dsedge-port").FullName })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        Assert.IsTrue(process.WaitForExit(60_000));
        Assert.AreEqual(2, process.ExitCode, stderr);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(1, lines, stderr);
        StringAssert.Contains(lines[0], "address already in use");
        Assert.DoesNotContain("   at ", stdout.Result + stderr, "no stack trace");
    }
}
