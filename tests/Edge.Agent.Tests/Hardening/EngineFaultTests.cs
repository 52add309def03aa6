using System.Net;
using System.Text;
using System.Text.Json;
using Edge.Runtime.Scheduling;

namespace Edge.Agent.Tests.Hardening;

/// <summary>
/// Faults injected into a running daemon's engine through the executor seam: a fault fails only
/// the requests it touched (an SSE error event, a 500, an MQTT error answer) and the daemon serves
/// on; an engine that cannot recover says so on /readyz, in the metrics and on every new request.
/// </summary>
[TestClass]
public sealed class EngineFaultTests
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [TestMethod]
    public async Task AStepFaultEndsItsStreamWithAnErrorEventAndTheDaemonServesOn()
    {
        var faults = new FaultSwitch();
        await using var daemon = await LiveDaemon.StartWithExecutorAsync(faults.Wrap);
        faults.FailDecodes = 1;
        var stream = await daemon.Client.PostAsync("/v1/completions", Json("""{"prompt":"Hello","max_tokens":20,"ignore_eos":true,"stream":true}"""));
        Assert.AreEqual(HttpStatusCode.OK, stream.StatusCode, "the stream had started");
        string events = await stream.Content.ReadAsStringAsync();
        StringAssert.Contains(events, "\"error\"");
        StringAssert.Contains(events, "server_error");
        Assert.DoesNotContain("[DONE]", events, "a failed stream does not claim to be done");

        var next = await daemon.Client.PostAsync("/v1/completions", Json("""{"prompt":"Hello","max_tokens":4,"ignore_eos":true}"""));
        Assert.AreEqual(HttpStatusCode.OK, next.StatusCode, await next.Content.ReadAsStringAsync());
        Assert.AreEqual(HttpStatusCode.OK, (await daemon.Client.GetAsync("/readyz")).StatusCode);
        Assert.AreEqual(2, faults.Created, "the executor was rebuilt after the fault");
    }

    [TestMethod]
    public async Task APrefillFaultIsA500ForThatRequestOnly()
    {
        var faults = new FaultSwitch();
        await using var daemon = await LiveDaemon.StartWithExecutorAsync(faults.Wrap, "--Cache:Enabled=false");
        faults.FailPrefills = 1;
        var failed = await daemon.Client.PostAsync("/v1/chat/completions", Json("""{"messages":[{"role":"user","content":"Hi"}],"max_tokens":3}"""));
        Assert.AreEqual(HttpStatusCode.InternalServerError, failed.StatusCode);
        using var body = JsonDocument.Parse(await failed.Content.ReadAsStringAsync());
        Assert.AreEqual("server_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.AreEqual(HttpStatusCode.OK, (await daemon.Client.PostAsync("/v1/chat/completions", Json("""{"messages":[{"role":"user","content":"Hi"}],"max_tokens":3}"""))).StatusCode);
    }

    [TestMethod]
    public async Task AnEngineThatCannotRecoverIsReportedNotHidden()
    {
        var faults = new FaultSwitch();
        await using var daemon = await LiveDaemon.StartWithExecutorAsync(faults.Wrap, "--Cache:Enabled=false");
        faults.FailDecodes = int.MaxValue;
        faults.FailCreates = true;
        var failed = await daemon.Client.PostAsync("/v1/completions", Json("""{"prompt":"Hello","max_tokens":5,"ignore_eos":true}"""));
        Assert.AreEqual(HttpStatusCode.InternalServerError, failed.StatusCode, "the request that hit the fault completes, with an error");

        var ready = await daemon.Client.GetAsync("/readyz");
        Assert.AreEqual(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        using var readiness = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.AreEqual("degraded", readiness.RootElement.GetProperty("status").GetString());
        StringAssert.Contains(readiness.RootElement.GetProperty("reason").GetString(), "could not be rebuilt");

        var refused = await daemon.Client.PostAsync("/v1/completions", Json("""{"prompt":"Hello","max_tokens":5}"""));
        Assert.AreEqual(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        StringAssert.Contains(await refused.Content.ReadAsStringAsync(), "stopped", "not 'requests are already waiting'");
        Assert.AreEqual(0.0, await new MetricsReader(daemon.Client).ValueAsync("dsedge_engine_healthy"));
    }

    /// <summary>Wraps the daemon's real executor; faults are switched on by the test after start-up (the warm-up runs clean).</summary>
    internal sealed class FaultSwitch
    {
        public int FailDecodes;
        public int FailPrefills;
        public bool FailCreates;
        public int Created;

        public IBatchExecutor Wrap(IBatchExecutor inner)
        {
            if (Volatile.Read(ref FailCreates))
            {
                inner.Dispose();
                throw new InvalidOperationException("the accelerator is gone (injected)");
            }
            Interlocked.Increment(ref Created);
            return new Faulty(inner, this);
        }

        private sealed class Faulty(IBatchExecutor inner, FaultSwitch faults) : IBatchExecutor
        {
            public int MaxBatch => inner.MaxBatch;
            public int Capacity => inner.Capacity;

            public void Prefill(int slot, ReadOnlySpan<int> tokens, int start)
            {
                if (Interlocked.Decrement(ref faults.FailPrefills) >= 0)
                    throw new InvalidOperationException("prefill failed (injected)");
                inner.Prefill(slot, tokens, start);
            }

            public void Decode(int count, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions)
            {
                if (Interlocked.Decrement(ref faults.FailDecodes) >= 0)
                    throw new InvalidOperationException("decode step failed (injected)");
                inner.Decode(count, tokens, positions);
            }

            public Span<float> Logits(int slot) => inner.Logits(slot);
            public void Move(int source, int destination, int length) => inner.Move(source, destination, length);
            public void Release(int slot) => inner.Release(slot);
            public int RestorePrefix(int slot, ReadOnlySpan<int> prompt) => inner.RestorePrefix(slot, prompt);
            public void RetainPrefix(int slot, ReadOnlySpan<int> tokens) => inner.RetainPrefix(slot, tokens);
            public void Dispose() => inner.Dispose();
        }
    }
}
