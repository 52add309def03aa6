namespace Edge.Agent.Security;

/// <summary>Who may call an endpoint. Every endpoint declares one (<see cref="RoleMetadata"/>); a test fails for one that does not.</summary>
internal enum EndpointRole
{
    /// <summary>Anyone: health, readiness, metrics.</summary>
    Open,
    /// <summary>Inference and model information: a key with the infer role, or an anonymous loopback caller where allowed.</summary>
    Infer,
    /// <summary>Model updates: always a key with the admin role, never anonymous.</summary>
    Admin,
}

/// <summary>
/// The role an endpoint needs, attached to the endpoint itself: authorization reads it from the
/// endpoint routing chose, so no spelling of the path (case, slashes, escapes, dot segments) can
/// reach an endpoint under another endpoint's role.
/// </summary>
internal sealed record RoleMetadata(EndpointRole Role);
