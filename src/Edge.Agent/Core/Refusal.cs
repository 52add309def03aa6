namespace Edge.Agent.Core;

/// <summary>Why the core would not run a request; each transport turns it into its own error (HTTP status, MQTT error answer).</summary>
internal enum RefusalKind
{
    /// <summary>The request is malformed or asks for something this server does not do (HTTP 400).</summary>
    Invalid,
    /// <summary>The request is larger than a configured limit (HTTP 413).</summary>
    TooLarge,
    /// <summary>The queue is full; the same request may succeed later (HTTP 503 with Retry-After).</summary>
    Overloaded,
    /// <summary>The engine cannot serve at all (HTTP 503); the reason is on /readyz too.</summary>
    Unavailable,
    /// <summary>Another operation of the same kind is running (HTTP 409).</summary>
    Busy,
    /// <summary>What the request names does not exist here, such as a model this device does not serve (HTTP 404).</summary>
    NotFound,
}

/// <summary>
/// The one refusal type of the core: raised before anything is sent to the client, with the
/// parameter at fault in the API's spelling when there is one.
/// </summary>
internal sealed class RefusalException(RefusalKind kind, string message, string? parameter = null, string? code = null) : Exception(message)
{
    public RefusalKind Kind { get; } = kind;
    public string? Parameter { get; } = parameter;

    /// <summary>A machine-readable reason where OpenAI defines one (model_not_found).</summary>
    public string? Code { get; } = code;

    public static RefusalException Invalid(string message, string? parameter = null) => new(RefusalKind.Invalid, message, parameter);
}
