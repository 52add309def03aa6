using System.Threading.RateLimiting;
using Edge.Agent.Hosting;

namespace Edge.Agent.Security;

/// <summary>
/// Limits beyond the model's own: concurrent requests per caller (Limits:ConcurrentRequestsPerKey,
/// 8; 429 beyond it), max_tokens (Limits:MaxTokens) and prompt length (Limits:MaxPromptTokens),
/// both 0 for "the model's context decides".
/// </summary>
internal sealed record RequestLimits(int ConcurrentRequestsPerKey, int MaxTokens, int MaxPromptTokens)
{
    /// <summary>Who a request counts against: the API key's name, or the address of an anonymous caller.</summary>
    public const string CallerItem = "dsedge.caller";

    public static RequestLimits Read(IConfiguration configuration) => new(
        ConfigurationValues.ReadInt(configuration, "Limits:ConcurrentRequestsPerKey", 8, minimum: 1),
        ConfigurationValues.ReadInt(configuration, "Limits:MaxTokens", 0, minimum: 0),
        ConfigurationValues.ReadInt(configuration, "Limits:MaxPromptTokens", 0, minimum: 0));

    /// <summary>ASP.NET Core's rate limiting, one concurrency limiter per caller, on /v1/ routes only.</summary>
    public void Configure(Microsoft.AspNetCore.RateLimiting.RateLimiterOptions options)
    {
        options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            context.Request.Path.StartsWithSegments("/v1")
                ? RateLimitPartition.GetConcurrencyLimiter(context.Items[CallerItem] as string ?? "unknown",
                    _ => new ConcurrencyLimiterOptions { PermitLimit = ConcurrentRequestsPerKey, QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter("open"));
        // The middleware's default rejection is 503; a caller over its own limit is a 429.
        options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        options.OnRejected = (rejected, _) =>
        {
            rejected.HttpContext.Response.Headers.RetryAfter = "1";
            return new ValueTask(Http.OpenAiErrors.WriteAsync(rejected.HttpContext, StatusCodes.Status429TooManyRequests,
                $"Too many concurrent requests for this API key: the limit is {ConcurrentRequestsPerKey}.", code: "rate_limit_exceeded"));
        };
    }
}
