namespace Edge.Runtime;

/// <summary>A model package, or one of its files, cannot be used. The message names the file and the problem.</summary>
public sealed class ModelLoadException : Exception
{
    public ModelLoadException(string message) : base(message) { }

    public ModelLoadException(string message, Exception inner) : base(message, inner) { }
}
