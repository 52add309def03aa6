namespace Edge.Agent.Http;

/// <summary>The response header that says whether the answer came from the response cache.</summary>
internal static class CacheHeader
{
    public const string Name = "X-DeepSeekEdge-Cache";
}
