using System.Net;

namespace Edge.Agent.Security;

/// <summary>
/// Checks every /v1/ request against the API keys: 401 without a valid key (unless anonymous
/// loopback is allowed and the caller is on loopback), 403 without the route's role. Failures
/// go to the audit log. Health, readiness and metrics stay open for probes and scrapers.
/// </summary>
internal static class AuthorizationMiddleware
{
    public static void Use(WebApplication app, ApiKeys keys, AuditLog audit) => app.Use(async (context, next) =>
    {
        string path = context.Request.Path.Value ?? "";
        string? role = RoleFor(path);
        if (role is null)
        {
            await next(context);
            return;
        }
        var remote = context.Connection.RemoteIpAddress;
        string caller = remote?.ToString() ?? "unknown";
        string? header = context.Request.Headers.Authorization;
        if (header is null)
        {
            if (keys.AllowAnonymousLoopback && remote is not null && IPAddress.IsLoopback(remote))
            {
                context.Items[RequestLimits.CallerItem] = $"anonymous@{caller}";
                await next(context);
                return;
            }
            audit.Write(caller, $"{context.Request.Method} {path}", "denied", "no API key");
            await Http.OpenAiErrors.WriteAsync(context, StatusCodes.Status401Unauthorized,
                "An API key is required: send it as 'Authorization: Bearer <key>'.", code: "invalid_api_key");
            return;
        }
        var key = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? keys.Find(header["Bearer ".Length..].Trim()) : null;
        if (key is null)
        {
            audit.Write(caller, $"{context.Request.Method} {path}", "denied", "invalid API key");
            await Http.OpenAiErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, "The API key is not valid.", code: "invalid_api_key");
            return;
        }
        if (!key.Roles.Contains(role))
        {
            audit.Write($"{key.Name}@{caller}", $"{context.Request.Method} {path}", "forbidden", $"needs role {role}");
            await Http.OpenAiErrors.WriteAsync(context, StatusCodes.Status403Forbidden, $"The API key '{key.Name}' lacks the '{role}' role this route needs.");
            return;
        }
        if (role == ApiKeys.Admin)
            audit.Write($"{key.Name}@{caller}", $"{context.Request.Method} {path}", "allowed");
        context.Items[RequestLimits.CallerItem] = key.Name;
        await next(context);
    });

    private static string? RoleFor(string path) =>
        path.StartsWith("/v1/admin/", StringComparison.Ordinal) ? ApiKeys.Admin
        : path.StartsWith("/v1/", StringComparison.Ordinal) ? ApiKeys.Infer
        : null;
}
