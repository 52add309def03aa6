namespace Edge.Runtime.Constraints;

/// <summary>A grammar the output must match, as the request gave it: a JSON schema's text, or a regex.</summary>
/// <param name="Parameter">The request parameter it came from, which a refusal names; by default response_format or guided_regex.</param>
public sealed record OutputGrammar(GrammarKind Kind, string Source, string? Parameter = null)
{
    /// <summary>Longest source accepted, in characters (schemas are also capped in bytes by their compiler).</summary>
    public const int MaxSourceLength = 64 * 1024;
}

public enum GrammarKind
{
    /// <summary>A JSON document valid against a JSON schema (response_format json_schema, guided_json).</summary>
    JsonSchema,
    /// <summary>Text that a regular expression matches whole (guided_regex).</summary>
    Regex,
}
