using System.Net;
using Edge.Agent.Security;

namespace Edge.Agent.Http;

/// <summary>
/// Checks every request against the role its endpoint declares (<see cref="RoleMetadata"/>),
/// after routing has chosen the endpoint: 401 without a valid key, 403 without the role. An
/// anonymous loopback caller (where Auth:AllowAnonymousLoopback allows it) gets the infer role
/// only. When no keys are configured, a bearer token that matches none is treated as anonymous,
/// as llama.cpp and Ollama do (the OpenAI SDKs always send some key); with keys it is a 401.
/// Failures and every admin call go to the audit log.
/// </summary>
internal static class AuthorizationMiddleware
{
    /// <summary>Who a request counts against: the API key's name, or "anonymous@address".</summary>
    public const string CallerItem = "dsedge.caller";

    public static void Use(WebApplication app, ApiKeys keys, AuditLog audit) => app.Use(async (context, next) =>
    {
        // No endpoint (404) or routing's own 405 endpoint: nothing runs that needs a role.
        var endpoint = context.GetEndpoint();
        var role = endpoint?.Metadata.GetMetadata<RoleMetadata>()?.Role ?? EndpointRole.Open;
        if (role == EndpointRole.Open)
        {
            await next(context);
            return;
        }
        var remote = context.Connection.RemoteIpAddress;
        string caller = remote?.ToString() ?? "unknown";
        string action = $"{context.Request.Method} {(endpoint as RouteEndpoint)?.RoutePattern.RawText ?? context.Request.Path.Value}";
        string? presented = BearerToken(context.Request.Headers.Authorization);
        var key = presented is null ? null : keys.Find(presented);
        if (key is null && presented is not null && keys.Any)
        {
            audit.Write(caller, action, "denied", "invalid API key");
            await HttpErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, "The API key is not valid.", code: "invalid_api_key");
            return;
        }
        if (key is null)
        {
            bool loopback = remote is not null && IPAddress.IsLoopback(remote);
            if (keys.AllowAnonymousLoopback && loopback && role == EndpointRole.Infer)
            {
                context.Items[CallerItem] = $"anonymous@{caller}";
                await next(context);
                return;
            }
            audit.Write(caller, action, "denied", role == EndpointRole.Admin ? "no API key (admin always needs one)" : "no API key");
            await HttpErrors.WriteAsync(context, StatusCodes.Status401Unauthorized,
                role == EndpointRole.Admin
                    ? "This route needs an API key with the admin role: send it as 'Authorization: Bearer <key>'."
                    : "An API key is required: send it as 'Authorization: Bearer <key>'.", code: "invalid_api_key");
            return;
        }
        string roleName = ApiKeys.RoleName(role);
        if (!key.Roles.Contains(roleName))
        {
            audit.Write($"{key.Name}@{caller}", action, "forbidden", $"needs role {roleName}");
            await HttpErrors.WriteAsync(context, StatusCodes.Status403Forbidden, $"The API key '{key.Name}' lacks the '{roleName}' role this route needs.");
            return;
        }
        if (role == EndpointRole.Admin)
            audit.Write($"{key.Name}@{caller}", action, "allowed");
        context.Items[CallerItem] = key.Name;
        await next(context);
    });

    /// <summary>The token of "Bearer &lt;token&gt;" (scheme in any case); null for no header or another scheme.</summary>
    private static string? BearerToken(string? header) =>
        header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header["Bearer ".Length..].Trim() is { Length: > 0 } token
            ? token
            : null;
}
