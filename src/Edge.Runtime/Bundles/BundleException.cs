namespace Edge.Runtime.Bundles;

/// <summary>A bundle that must not be installed; the message says why (signature, hash, size, entry).</summary>
public sealed class BundleException(string message) : Exception(message);
