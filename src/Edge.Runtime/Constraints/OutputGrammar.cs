namespace Edge.Runtime.Constraints;

/// <summary>A grammar the output must match, as the request gave it: a JSON schema's text, or a regex.</summary>
/// <param name="Parameter">The request parameter it came from, which a refusal names; by default response_format or guided_regex.</param>
public sealed record OutputGrammar(GrammarKind Kind, string Source, string? Parameter = null)
{
    /// <summary>
    /// When set, the grammar is lazy: the output is free until it ends with this text, then must
    /// match the grammar, then is free again (tool calls inside an answer: the arguments are
    /// constrained from the call's marker on, the prose around them is not).
    /// </summary>
    public string? Trigger { get; init; }

    /// <summary>Longest source accepted, in characters (schemas are also capped in bytes by their compiler).</summary>
    public const int MaxSourceLength = 64 * 1024;
}

public enum GrammarKind
{
    /// <summary>A JSON document valid against a JSON schema (response_format json_schema, guided_json).</summary>
    JsonSchema,
    /// <summary>Text that a regular expression matches whole (guided_regex).</summary>
    Regex,
    /// <summary>
    /// One of several JSON documents, each framed by literal text: the source is a JSON array of
    /// {"prefix", "schema", "suffix"} (a tool call: the function's name before, its closing after).
    /// </summary>
    FramedSchemas,
}
