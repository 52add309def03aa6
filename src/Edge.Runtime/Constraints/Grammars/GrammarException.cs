namespace Edge.Runtime.Constraints.Grammars;

/// <summary>A regex or schema this server cannot enforce (an unsupported feature, named, or a grammar too large); the request is refused with the message.</summary>
public sealed class GrammarException(string message) : Exception(message);
