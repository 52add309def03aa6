using Edge.Agent.Configuration;

namespace Edge.Agent.Core;

/// <summary>
/// The names a request's "model" may give: the served model's own name (its manifest's) and the
/// aliases an integrator configures (Model:Aliases, comma-separated) so that equipment written
/// for another name keeps working. Names compare exactly, as OpenAI's ids do: another casing is
/// another model. Anything else is refused as an unknown model (HTTP 404), never served silently.
/// </summary>
internal sealed record ModelNames(IReadOnlyList<string> Aliases)
{
    public const int MaxNameLength = 256;

    public static ModelNames Read(IConfiguration configuration)
    {
        var aliases = (configuration["Model:Aliases"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string alias in aliases)
        {
            if (alias.Length > MaxNameLength || alias.Any(char.IsControl))
                throw new ConfigurationException("Model:Aliases", $"'{alias[..Math.Min(alias.Length, 40)]}' is not a model name (at most {MaxNameLength} characters, no control characters)");
        }
        return new ModelNames([.. aliases.Distinct(StringComparer.Ordinal)]);
    }

    /// <summary>Every name the model is served under, its own first.</summary>
    public IReadOnlyList<string> Of(string servedName) => [servedName, .. Aliases.Where(a => a != servedName)];

    public bool Serves(string servedName, string requested) => requested == servedName || Aliases.Contains(requested, StringComparer.Ordinal);

    /// <summary>Refuses a requested name the served model does not answer to; a request without one gets the served model.</summary>
    public void Check(string servedName, string? requested)
    {
        if (requested is not null && !Serves(servedName, requested))
            throw UnknownModel(servedName, requested);
    }

    public RefusalException UnknownModel(string servedName, string requested)
    {
        string shown = requested.Length > 80 ? requested[..80] + "..." : requested;
        return new(RefusalKind.NotFound, $"The model '{shown}' does not exist on this device; it serves {string.Join(", ", Of(servedName).Select(n => $"'{n}'"))}.", "model", "model_not_found");
    }
}
