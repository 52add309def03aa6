namespace Edge.Runtime.Bundles;

/// <summary>A bundle that must not be installed; the message says why (signature, hash, size, entry).</summary>
public sealed class BundleException : Exception
{
    public BundleException(string message) : base(message) { }

    public BundleException(string message, Exception inner) : base(message, inner) { }
}
