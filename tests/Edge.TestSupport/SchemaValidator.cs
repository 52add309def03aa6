using System.Text.Json;
using System.Text.Json.Nodes;

namespace Edge.TestSupport;

/// <summary>Ajv (tools/reference/validate-schema.mjs): a JSON schema validator nobody here wrote, for checking constrained output.</summary>
public static class SchemaValidator
{
    public static List<(bool Valid, string Errors, string Document)> Validate(string schema, IReadOnlyList<string> documents) =>
        Validate([(schema, documents)])[0];

    public static List<List<(bool Valid, string Errors, string Document)>> Validate(IReadOnlyList<(string Schema, IReadOnlyList<string> Documents)> cases)
    {
        var input = new JsonArray([.. cases.Select(c => new JsonObject
        {
            ["schema"] = JsonNode.Parse(c.Schema),
            ["documents"] = new JsonArray([.. c.Documents.Select(d => (JsonNode)JsonValue.Create(d))]),
        })]);
        using var output = JsonDocument.Parse(NodeReference.Run("validate-schema.mjs", input.ToJsonString()));
        return [.. output.RootElement.EnumerateArray().Select((c, i) => c.EnumerateArray()
            .Select((r, d) => (r.GetProperty("valid").GetBoolean(), r.GetProperty("errors").GetString()!, cases[i].Documents[d])).ToList())];
    }
}
