using System.Device.Gpio;
using System.Text;
using Edge.Agent.Gpio;
using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;
using Edge.TestSupport;

namespace Edge.Agent.Tests;

/// <summary>Status LEDs through System.Device.Gpio's own driver abstraction, and the daemon without a GPIO chip.</summary>
[TestClass]
public sealed class StatusLightTests
{
    [TestMethod]
    public void LightsFollowTheStateAndOnlyChangesAreWritten()
    {
        var driver = new RecordingDriver();
        using (var lights = new StatusLights(new GpioController(driver), readyPin: 17, busyPin: 27, errorPin: 22))
        {
            CollectionAssert.AreEqual(new[] { "17=Low", "27=Low", "22=Low" }, driver.Writes);
            CollectionAssert.AreEquivalent(new[] { 17, 27, 22 }, driver.Outputs.ToArray());
            driver.Writes.Clear();
            lights.Show(ready: true, busy: false, error: false);
            lights.Show(ready: true, busy: true, error: false);
            lights.Show(ready: true, busy: true, error: false);
            lights.Show(ready: false, busy: false, error: true);
            CollectionAssert.AreEqual(new[] { "17=High", "27=High", "17=Low", "27=Low", "22=High" }, driver.Writes);
            driver.Writes.Clear();
        }
        CollectionAssert.AreEqual(new[] { "22=Low" }, driver.Writes, "everything is switched off on shutdown");
    }

    [TestMethod]
    public async Task ReadyBusyAndErrorComeFromTheInferenceLoop()
    {
        var engine = InferenceEngine.Load(RepositoryPaths.DefaultModel);
        var scheduler = new GenerationScheduler(engine);
        using var model = new Edge.Agent.Serving.ServingModel(engine, scheduler, null, new Edge.Agent.Serving.ServingHealth());
        Assert.AreEqual((true, false, false), StatusLightService.Evaluate(started: true, model, DateTimeOffset.UtcNow));
        Assert.AreEqual((false, false, false), StatusLightService.Evaluate(started: false, model, DateTimeOffset.UtcNow));
        var running = scheduler.GenerateAsync(engine.Tokenizer.Encode("Hi"), new GenerationSettings { MaxTokens = 500, StopAtEos = false });
        while (scheduler.ActiveSequences == 0)
            await Task.Delay(1);
        Assert.AreEqual((true, true, false), StatusLightService.Evaluate(started: true, model, DateTimeOffset.UtcNow));
        Assert.AreEqual((false, true, true), StatusLightService.Evaluate(started: true, model, DateTimeOffset.UtcNow.AddMinutes(5)));
        await running;
    }

    [TestMethod]
    public async Task AnEngineThatStoppedLightsTheErrorLedAndStopsTheWatchdog()
    {
        var engine = InferenceEngine.Load(RepositoryPaths.DefaultModel);
        var faults = new Hardening.EngineFaultTests.FaultSwitch();
        var scheduler = new GenerationScheduler(engine, new SchedulerOptions(), n => faults.Wrap(GenerationScheduler.OnnxRuntimeExecutor(engine, n)));
        using var model = new Edge.Agent.Serving.ServingModel(engine, scheduler, null, new Edge.Agent.Serving.ServingHealth());
        faults.FailDecodes = int.MaxValue;
        faults.FailCreates = true;
        await Assert.ThrowsExactlyAsync<GenerationFaultException>(() => scheduler.GenerateAsync(engine.Tokenizer.Encode("Hi"), new GenerationSettings { MaxTokens = 4, StopAtEos = false }));
        Assert.IsNotNull(scheduler.Fault);
        Assert.AreEqual((false, false, true), StatusLightService.Evaluate(started: true, model, DateTimeOffset.UtcNow), "idle, but the engine is dead: error, not ready");
        var status = Edge.Agent.Serving.EngineStatus.Of(model, TimeSpan.FromSeconds(30), DateTimeOffset.UtcNow);
        Assert.IsFalse(status.Healthy, "the watchdog withholds its ping");
        StringAssert.Contains(status.Reason, "stopped");
    }

    [TestMethod]
    public async Task WithoutAGpioChipTheDaemonLogsOneLineAndServes()
    {
        if (Directory.EnumerateFiles("/dev", "gpiochip*").Any())
            Assert.Inconclusive("This machine has a GPIO chip; the test is about machines without one.");
        await using var daemon = await LiveDaemon.StartAsync("--Gpio:ReadyPin=17", "--Gpio:BusyPin=27");
        using var response = await daemon.Client.PostAsync("/v1/completions", new StringContent("""{"prompt":"Hi","max_tokens":2,"ignore_eos":true}""", Encoding.UTF8, "application/json"));
        Assert.IsTrue(response.IsSuccessStatusCode);
        for (int i = 0; i < 50 && !daemon.LoggedProblems.Any(p => p.Contains("GPIO", StringComparison.Ordinal)); i++)
            await Task.Delay(20);
        Assert.HasCount(1, daemon.LoggedProblems.Where(p => p.Contains("GPIO status LEDs are configured but no GPIO controller", StringComparison.Ordinal)).ToList(), string.Join("\n", daemon.LoggedProblems));
    }

    /// <summary>A GPIO driver that records what the controller asks of it.</summary>
    private sealed class RecordingDriver : GpioDriver
    {
        public List<string> Writes { get; } = [];
        public HashSet<int> Outputs { get; } = [];

        protected override int PinCount => 40;
        protected override void OpenPin(int pinNumber) { }
        protected override void ClosePin(int pinNumber) { }
        protected override void SetPinMode(int pinNumber, PinMode mode)
        {
            if (mode == PinMode.Output)
                Outputs.Add(pinNumber);
        }
        protected override PinMode GetPinMode(int pinNumber) => Outputs.Contains(pinNumber) ? PinMode.Output : PinMode.Input;
        protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => true;
        protected override PinValue Read(int pinNumber) => PinValue.Low;
        protected override void Write(int pinNumber, PinValue value) => Writes.Add($"{pinNumber}={(value == PinValue.High ? "High" : "Low")}");
        protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) => default;
        protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback) { }
        protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback) { }
    }
}
