using System.Threading.RateLimiting;
using Edge.Agent.Configuration;
using Edge.Agent.Security;

namespace Edge.Agent.Http;

/// <summary>
/// Concurrent requests per caller (Limits:ConcurrentRequestsPerKey, 8; 429 beyond it), with
/// ASP.NET Core's rate limiting: one concurrency limiter per API key or anonymous address, on
/// every endpoint that is not open.
/// </summary>
internal sealed record CallerConcurrencyLimits(int ConcurrentRequestsPerKey)
{
    public static CallerConcurrencyLimits Read(IConfiguration configuration) =>
        new(ConfigurationValues.ReadInt(configuration, "Limits:ConcurrentRequestsPerKey", 8, minimum: 1));

    public void Configure(Microsoft.AspNetCore.RateLimiting.RateLimiterOptions options)
    {
        options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            (context.GetEndpoint()?.Metadata.GetMetadata<RoleMetadata>()?.Role ?? EndpointRole.Open) != EndpointRole.Open
                ? RateLimitPartition.GetConcurrencyLimiter(context.Items[AuthorizationMiddleware.CallerItem] as string ?? "unknown",
                    _ => new ConcurrencyLimiterOptions { PermitLimit = ConcurrentRequestsPerKey, QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter("open"));
        // The middleware's default rejection is 503; a caller over its own limit is a 429.
        options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        options.OnRejected = (rejected, _) =>
        {
            rejected.HttpContext.Response.Headers.RetryAfter = "1";
            return new ValueTask(HttpErrors.WriteAsync(rejected.HttpContext, StatusCodes.Status429TooManyRequests,
                $"Too many concurrent requests for this API key: the limit is {ConcurrentRequestsPerKey}.", code: "rate_limit_exceeded"));
        };
    }
}
