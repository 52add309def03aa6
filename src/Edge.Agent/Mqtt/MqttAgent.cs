using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using Edge.Agent.Core;
using Edge.Agent.Serving;
using Edge.Runtime.Inference;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Edge.Agent.Mqtt;

/// <summary>
/// The daemon on the plant broker: keeps a connection (persistent session, reconnect with
/// backoff), takes requests into the durable inbox before acknowledging them, answers them
/// through the same generator as HTTP, and publishes answers from the durable outbox in order,
/// deleting each only on the broker's PUBACK. A retained status with a Last Will tells the plant
/// whether the device is there.
/// </summary>
internal sealed partial class MqttAgent : BackgroundService
{
    private readonly MqttSettings _settings;
    private readonly MqttTopics _topics;
    private readonly MqttStore _store;
    private readonly MqttRequestHandler _handler;
    private readonly MqttMetrics _metrics;
    private readonly Serving.ModelSlot _slot;
    private readonly Ota.ModelUpdater? _updater;
    private CancellationToken _stopping;
    private readonly ILogger<MqttAgent> _logger;
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly Channel<MqttInboxItem> _work = Channel.CreateUnbounded<MqttInboxItem>();
    // A pulse: "the outbox may have something to publish, or the connection came back".
    private readonly Channel<bool> _outboxPulse = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private TaskCompletionSource _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private const int MaxCorrelationBytes = 1024;
    // One update command at a time, as HTTP's 409 does; a second one while it runs is refused.
    private readonly SemaphoreSlim _otaGate = new(1, 1);
    // Stored answers sent again for redelivered ids: at most this many a second, so that one
    // id sent in a loop cannot turn the outbox into an amplifier.
    private readonly TokenBucketRateLimiter _replays = new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = 20, TokensPerPeriod = 10, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0, AutoReplenishment = true,
    });

    public MqttAgent(MqttSettings settings, MqttStore store, Serving.ModelSlot slot, CompletionService service, Metrics.AgentMetrics metrics, ILogger<MqttAgent> logger, Ota.ModelUpdater? updater = null)
    {
        _settings = settings;
        _topics = settings.Topics;
        _store = store;
        _slot = slot;
        _updater = updater;
        _logger = logger;
        _handler = new MqttRequestHandler(service, _topics);
        _metrics = new MqttMetrics(metrics.Meter, store, () => _client.IsConnected);
        _store.Dropped += count =>
        {
            _metrics.CountDropped(count);
            OutboxFull(_logger, count, settings.OutboxMaxMessages, settings.OutboxMaxBytes);
        };
        if (updater is not null)
            updater.Outcome += status => PublishOutcome(new MqttOtaStatus(status.State, status.Version, status.PreviousVersion, status.Reason));
        _client.ApplicationMessageReceivedAsync += ReceiveAsync;
        _client.DisconnectedAsync += _ =>
        {
            _disconnected.TrySetResult();
            return Task.CompletedTask;
        };
    }

    private bool IsVersion5 => _settings.ProtocolVersion == MqttProtocolVersion.V500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        // Requests a crash or a stop interrupted are answered first.
        foreach (var pending in _store.PendingRequests())
            _work.Writer.TryWrite(pending);
        _ = Task.Run(ResumeUpdatesAsync, CancellationToken.None);
        _outboxPulse.Writer.TryWrite(true);
        var loops = new[] { AnswerRequestsAsync(stoppingToken), PublishOutboxAsync(stoppingToken), ReportStatusAsync(stoppingToken) };
        await StayConnectedAsync(stoppingToken);
        try
        {
            await Task.WhenAll(loops);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (!_client.IsConnected)
            return;
        try
        {
            // A clean goodbye: the retained status says offline (a normal disconnect does not send the Last Will).
            await _client.PublishAsync(StatusMessage("offline"), cancellationToken);
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            GoodbyeFailed(_logger, e.Message);
        }
    }

    public override void Dispose()
    {
        _client.Dispose();
        _otaGate.Dispose();
        _replays.Dispose();
        base.Dispose();
    }

    private async Task StayConnectedAsync(CancellationToken stopping)
    {
        var options = ClientOptions();
        int attempt = 0;
        while (!stopping.IsCancellationRequested)
        {
            _disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                var result = await _client.ConnectAsync(options, stopping);
                if (result.ResultCode != MqttClientConnectResultCode.Success)
                    throw new InvalidOperationException($"the broker refused the connection: {result.ResultCode} {result.ReasonString}");
                Connected(_logger, _settings.Host, _settings.Port, _topics.Request, result.IsSessionPresent, attempt);
                attempt = 0;
                await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                    .WithTopicFilter(filter => filter.WithTopic(_topics.Request).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
                    .WithTopicFilter(filter => filter.WithTopic(_topics.Ota).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build(), stopping);
                var (status, reason) = Presence();
                await _client.PublishAsync(StatusMessage(status, reason), stopping);
                _outboxPulse.Writer.TryWrite(true);
                await _disconnected.Task.WaitAsync(stopping);
                Disconnected(_logger, _settings.Host, _settings.Port);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                if (attempt == 0)
                    ConnectFailed(_logger, _settings.Host, _settings.Port, e.Message);
            }
            try
            {
                await Task.Delay(ReconnectBackoff.Delay(attempt++, _settings.ReconnectMinDelay, _settings.ReconnectMaxDelay, Random.Shared), stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Runs one at a time in MQTTnet's receive order. The broker gets its PUBACK only after the
    /// request is in the inbox (or answered), so an acknowledged request survives a crash.
    /// </summary>
    private async Task ReceiveAsync(MqttApplicationMessageReceivedEventArgs received)
    {
        var message = received.ApplicationMessage;
        if (message.Topic == _topics.Ota)
        {
            byte[] command = System.Buffers.BuffersExtensions.ToArray(message.Payload);
            // Kept before the broker gets its PUBACK: a crash between receipt and outcome loses nothing.
            received.AutoAcknowledge = false;
            string? id = TryReadId(command);
            if (IsDuplicate(id))
            {
                await received.AcknowledgeAsync(CancellationToken.None);
                return;
            }
            long key = -1;
            try
            {
                if (command.Length <= Ota.UpdateCommand.MaxBytes)
                    key = _store.StoreOtaCommand(command);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                ReceiveFailed(_logger, e); // a full disk: the command still runs, only not durably
            }
            // Started before the PUBACK: IsDuplicate marked the id running, and from here a running
            // update owns that mark and clears it. Were the PUBACK to fail first (the connection
            // drops), the mark would stay with nothing running, and the broker's redelivered copy
            // would be dropped as a duplicate: the command lost.
            _ = Task.Run(() => UpdateAsync(command, key, id), CancellationToken.None);
            await received.AcknowledgeAsync(CancellationToken.None);
            return;
        }
        if (message.Topic != _topics.Request)
            return;
        received.AutoAcknowledge = false;
        try
        {
            string? responseTopic = message.ResponseTopic is { Length: > 0 } topic ? topic : null;
            byte[]? correlation = message.CorrelationData is { Length: > 0 } data ? data : null;
            if (correlation is { Length: > MaxCorrelationBytes })
            {
                // Echoed with every answer and kept in the store: a request id's worth, not a payload.
                Refuse(null, null, $"The correlation data is {correlation.Length} bytes; the limit is {MaxCorrelationBytes}.");
            }
            else if (responseTopic is not null && _topics.ResponseTopicProblem(responseTopic) is { } topicProblem)
            {
                // Answered on the device's error topic, never on the refused one.
                Refuse(null, correlation, topicProblem);
            }
            else if (message.Payload.Length > _settings.MaxPayloadBytes)
            {
                Refuse(responseTopic, correlation, $"The request is {message.Payload.Length} bytes; the limit is {_settings.MaxPayloadBytes}.");
            }
            else
            {
                byte[] payload = System.Buffers.BuffersExtensions.ToArray(message.Payload);
                var (id, problem) = MqttRequestEnvelope.ReadId(payload);
                if (id is null)
                {
                    Refuse(responseTopic, correlation, problem!);
                }
                else
                {
                    var item = new MqttInboxItem(id, payload, responseTopic, correlation);
                    var receipt = _store.Receive(item, replay: () => _replays.AttemptAcquire().IsAcquired);
                    _metrics.CountRequest(receipt switch
                    {
                        MqttReceipt.Accepted => "accepted",
                        MqttReceipt.AnsweredBefore => "answered_before",
                        MqttReceipt.ReplayThrottled => "replay_throttled",
                        _ => "in_progress",
                    });
                    if (receipt == MqttReceipt.Accepted)
                        _work.Writer.TryWrite(item);
                    else
                        _outboxPulse.Writer.TryWrite(true);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever the message held, it is acknowledged and answered: an exception here would
            // leave it unacknowledged, and the broker would deliver the same poison message for ever.
            ReceiveFailed(_logger, e);
            try
            {
                Refuse(null, null, "The request could not be read.");
            }
            catch (Exception again) when (again is not OperationCanceledException)
            {
                ReceiveFailed(_logger, again); // the store itself failed (a full disk): the refusal is logged only
            }
        }
        await received.AcknowledgeAsync(CancellationToken.None);
    }

    /// <summary>
    /// An update command: download, verify, smoke-test and swap as the HTTP admin route does; the
    /// updater records the outcome, which <see cref="PublishOutcome"/> sends to ota/status. A command
    /// that a crash interrupts is not retried (the model store recovers at start); the sender sees
    /// no status and may resend.
    /// </summary>
    private async Task UpdateAsync(byte[] command, long key, string? id)
    {
        if (id is not null)
        {
            lock (_commandsLock)
                _activeCommands.Add(id);
        }
        try
        {
            await RunUpdateAsync(command, id);
        }
        finally
        {
            if (key >= 0)
                ForgetOtaCommand(key);
            if (id is not null)
            {
                lock (_commandsLock)
                    _activeCommands.Remove(id);
            }
        }
    }

    // QoS 1 may deliver a command twice (a broker restart before its PUBACK reached it): a copy of a
    // command that is running is dropped, and a copy of a finished one gets its outcome again,
    // instead of running twice or being refused as busy.
    private const string BusyReason = "Another update command is running.";
    private readonly Lock _commandsLock = new();
    private readonly HashSet<string> _activeCommands = [];
    private readonly Dictionary<string, MqttOtaStatus> _finishedCommands = [];
    private readonly Queue<string> _finishedOrder = new();
    private const int RememberedCommands = 64;

    /// <summary>Whether a command with this id is running or finished (then its outcome is published again).</summary>
    private bool IsDuplicate(string? id)
    {
        if (id is null)
            return false;
        MqttOtaStatus? finished;
        lock (_commandsLock)
        {
            if (_activeCommands.Contains(id))
                return true;
            if (!_finishedCommands.TryGetValue(id, out finished))
            {
                _activeCommands.Add(id); // running from now on: a copy right behind it is a duplicate
                return false;
            }
        }
        _commandId.Value = id;
        PublishOutcome(finished with { Command = null });
        _commandId.Value = null;
        return true;
    }

    private void RememberOutcome(string id, MqttOtaStatus outcome)
    {
        lock (_commandsLock)
        {
            if (!_finishedCommands.ContainsKey(id))
            {
                _finishedOrder.Enqueue(id);
                if (_finishedOrder.Count > RememberedCommands)
                    _finishedCommands.Remove(_finishedOrder.Dequeue());
            }
            _finishedCommands[id] = outcome;
        }
    }

    private void ForgetOtaCommand(long key)
    {
        try
        {
            _store.OtaCommandDone(key);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
        {
            ReceiveFailed(_logger, e);
        }
    }

    /// <summary>
    /// At start, the update commands a crash or stop interrupted: one whose outcome the journal
    /// recorded after it arrived has finished (its outcome is published again with its id); any
    /// other runs again.
    /// </summary>
    private async Task ResumeUpdatesAsync()
    {
        foreach (var (key, payload, received) in _store.PendingOtaCommands())
        {
            if (_updater?.Journal.Last is { } last && last.At >= received)
            {
                _commandId.Value = TryReadId(payload);
                PublishOutcome(new MqttOtaStatus(last.State, last.Version, last.PreviousVersion, last.Reason));
                _commandId.Value = null;
                ForgetOtaCommand(key);
                continue;
            }
            await UpdateAsync(payload, key, TryReadId(payload));
        }
    }

    private static string? TryReadId(byte[] payload)
    {
        try
        {
            return Ota.UpdateCommand.Read(payload).Id;
        }
        catch (RefusalException)
        {
            return null;
        }
    }

    /// <summary>The id of the update command whose outcomes this flow publishes (outcomes are raised synchronously inside it).</summary>
    private readonly AsyncLocal<string?> _commandId = new();

    private async Task RunUpdateAsync(byte[] command, string? id)
    {
        const string who = "mqtt";
        _commandId.Value = id;
        if (_updater is null)
        {
            PublishOutcome(new MqttOtaStatus("refused", null, _slot.Current.Version, "Updates are not available."));
            return;
        }
        Ota.UpdateCommand parsed;
        try
        {
            parsed = Ota.UpdateCommand.Read(command);
        }
        catch (RefusalException e)
        {
            _updater.RecordRefusal(who, e.Message);
            return;
        }
        // The previous command publishes its outcome just before it lets go of the gate: a sender that
        // answers that outcome at once must not be told another command is running, so wait a moment.
        bool entered;
        try
        {
            entered = await _otaGate.WaitAsync(TimeSpan.FromSeconds(1), _stopping);
        }
        catch (OperationCanceledException)
        {
            return; // stopping
        }
        if (!entered)
        {
            _updater.RecordRefusal(who, BusyReason);
            return;
        }
        string? bundle = null;
        try
        {
            bundle = await _updater.DownloadAsync(parsed.Url, who, _stopping);
            await _updater.InstallAsync(bundle, parsed.Force, who);
        }
        catch (Ota.UpdateRefusedException)
        {
            // recorded, and so published, by the updater
        }
        catch (RefusalException e)
        {
            _updater.RecordRefusal(who, e.Message);
        }
        catch (IOException e)
        {
            _updater.RecordRefusal(who, Runtime.Storage.DurableFileSystem.IsDiskFull(e)
                ? "The device's disk is full: the bundle could not be stored."
                : "The bundle could not be stored or read back.");
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            if (bundle is not null)
                File.Delete(bundle);
            _otaGate.Release();
        }
    }

    /// <summary>Every update outcome (MQTT command, HTTP route, poll, probation) on ota/status, through the outbox.</summary>
    private void PublishOutcome(MqttOtaStatus outcome)
    {
        OtaOutcome(_logger, outcome.Status, outcome.Version ?? outcome.PreviousVersion, outcome.Reason);
        outcome = outcome with { Command = _commandId.Value };
        if (outcome.Command is { } id && outcome.Reason != BusyReason)
            RememberOutcome(id, outcome);
        _store.Answer(null, new MqttOutgoing(_topics.OtaStatus, JsonSerializer.SerializeToUtf8Bytes(outcome, MqttJsonContext.Readable.MqttOtaStatus), null));
        _outboxPulse.Writer.TryWrite(true);
    }

    private void Refuse(string? responseTopic, byte[]? correlation, string problem)
    {
        _metrics.CountRequest("invalid");
        _store.Answer(null, _handler.UnaddressedError(responseTopic, correlation, problem));
        _outboxPulse.Writer.TryWrite(true);
    }

    private async Task AnswerRequestsAsync(CancellationToken stopping)
    {
        using var slots = new SemaphoreSlim(_settings.MaxConcurrentRequests);
        var running = new List<Task>();
        try
        {
            await foreach (var item in _work.Reader.ReadAllAsync(stopping))
            {
                await slots.WaitAsync(stopping);
                running.RemoveAll(task => task.IsCompleted);
                running.Add(Task.Run(async () =>
                {
                    try
                    {
                        await AnswerAsync(item, stopping);
                    }
                    finally
                    {
                        slots.Release();
                    }
                }, CancellationToken.None));
            }
        }
        finally
        {
            await Task.WhenAll(running);
        }
    }

    private async Task AnswerAsync(MqttInboxItem item, CancellationToken stopping)
    {
        MqttOutgoing answer;
        while (true)
        {
            try
            {
                answer = await _handler.AnswerAsync(item, PublishDeltaAsync, stopping);
                break;
            }
            catch (RefusalException e) when (e.Kind == RefusalKind.Overloaded)
            {
                // MQTT has no 503: the request waits in the inbox until the queue has room.
                if (!await WaitQuietlyAsync(TimeSpan.FromMilliseconds(200), stopping))
                    return;
            }
            catch (RefusalException e)
            {
                answer = _handler.Error(item, e.Message, e.Parameter, serverFault: e.Kind == RefusalKind.Unavailable, code: e.Code);
                break;
            }
            catch (JsonException e)
            {
                answer = _handler.Error(item, $"The request is not valid JSON: {e.Message}", null);
                break;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return; // Still in the inbox: answered after the restart.
            }
            catch (Exception e)
            {
                AnswerFailed(_logger, item.RequestId, e);
                answer = _handler.Error(item, $"The request failed inside the server: {e.Message}", null, serverFault: true);
                break;
            }
        }
        _store.Answer(item.Key, answer);
        _outboxPulse.Writer.TryWrite(true);
    }

    private static async Task<bool> WaitQuietlyAsync(TimeSpan delay, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(delay, stopping);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Stream deltas go out at QoS 0, straight away: they are previews, and the final answer goes through the outbox.</summary>
    private async Task PublishDeltaAsync(MqttOutgoing delta)
    {
        if (!_client.IsConnected)
            return;
        try
        {
            await _client.PublishAsync(Message(delta, MqttQualityOfServiceLevel.AtMostOnce), CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A lost preview is fine; the final answer is in the outbox.
        }
    }

    private async Task PublishOutboxAsync(CancellationToken stopping)
    {
        await foreach (var _ in _outboxPulse.Reader.ReadAllAsync(stopping))
        {
            while (_client.IsConnected)
            {
                var batch = _store.PeekOutbox(64);
                if (batch.Count == 0)
                    break;
                try
                {
                    foreach (var entry in batch)
                    {
                        // QoS 1: returns when the broker's PUBACK arrives.
                        var result = await _client.PublishAsync(Message(entry.Message, MqttQualityOfServiceLevel.AtLeastOnce), stopping);
                        if (result.IsSuccess)
                            _metrics.CountPublished();
                        else
                            AnswerRefusedByBroker(_logger, entry.Message.Topic, result.ReasonCode.ToString(), result.ReasonString);
                        _store.Delivered(entry.Sequence);
                    }
                }
                catch (Exception e) when (!stopping.IsCancellationRequested)
                {
                    // The connection went: the entry stays, and the reconnect pulses us again.
                    PublishInterrupted(_logger, e.Message);
                    break;
                }
            }
        }
    }

    private async Task ReportStatusAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_settings.StatusInterval);
        (int Depth, string Version, string Status) reported = (-1, "", "");
        while (await timer.WaitForNextTickAsync(stopping))
        {
            var (status, reason) = Presence();
            var now = (QueueDepth, _slot.Current.Version, status);
            if (now == reported || !_client.IsConnected)
                continue;
            try
            {
                await _client.PublishAsync(StatusMessage(status, reason), stopping);
                reported = now;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Reported again on the next tick or reconnect.
            }
        }
    }

    /// <summary>Requests waiting: in the scheduler's queue and in the inbox.</summary>
    private int QueueDepth => (_slot.Current.Scheduler?.QueueDepth ?? 0) + (int)_store.InboxCount;

    /// <summary>The engine's state for the status topic: "online", or "degraded" with the reason when the engine cannot serve.</summary>
    private (string Status, string? Reason) Presence()
    {
        var health = EngineStatus.Of(_slot.Current, DateTimeOffset.UtcNow);
        return health.Healthy ? ("online", null) : ("degraded", health.Reason);
    }

    private MqttApplicationMessage StatusMessage(string status, string? reason = null)
    {
        var engine = _slot.Current.Engine;
        var manifest = engine.Package.Manifest;
        var body = new DeviceStatus(status, _settings.DeviceId, manifest.Name, manifest.Version, engine.Provider, status == "offline" ? 0 : QueueDepth,
            DateTimeOffset.UtcNow.ToUnixTimeSeconds(), reason) { Groups = _settings.Groups };
        return new MqttApplicationMessageBuilder()
            .WithTopic(_topics.Status)
            .WithPayload(JsonSerializer.SerializeToUtf8Bytes(body, MqttJsonContext.Readable.DeviceStatus))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag()
            .Build();
    }

    private MqttApplicationMessage Message(MqttOutgoing outgoing, MqttQualityOfServiceLevel qos)
    {
        var builder = new MqttApplicationMessageBuilder().WithTopic(outgoing.Topic).WithPayload(outgoing.Payload).WithQualityOfServiceLevel(qos)
            // The latest update outcome stays on the broker, so a fleet rollout that restarts reads where each device stands.
            .WithRetainFlag(outgoing.Topic == _topics.OtaStatus);
        if (IsVersion5)
        {
            builder.WithContentType("application/json").WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData);
            if (outgoing.CorrelationData is { } correlation)
                builder.WithCorrelationData(correlation);
        }
        return builder.Build();
    }

    private MqttClientOptions ClientOptions()
    {
        var engine = _slot.Current.Engine;
        var offline = new DeviceStatus("offline", _settings.DeviceId, engine.Package.Manifest.Name, engine.Package.Manifest.Version, engine.Provider, 0, 0, null) { Groups = _settings.Groups };
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_settings.Host, _settings.Port)
            .WithClientId(_settings.DeviceId)
            .WithProtocolVersion(_settings.ProtocolVersion)
            .WithKeepAlivePeriod(_settings.KeepAlive)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithWillTopic(_topics.Status)
            .WithWillPayload(JsonSerializer.SerializeToUtf8Bytes(offline, MqttJsonContext.Readable.DeviceStatus))
            .WithWillRetain()
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        // A persistent session: the broker keeps our subscription and queues requests while we are away.
        if (IsVersion5)
            builder.WithCleanStart(false).WithSessionExpiryInterval(_settings.SessionExpirySeconds);
        else
            builder.WithCleanSession(false);
        if (_settings.Username is not null)
            builder.WithCredentials(_settings.Username, _settings.Password ?? "");
        if (_settings.UseTls)
            builder.WithTlsOptions(ConfigureTls);
        return builder.Build();
    }

    private void ConfigureTls(MqttClientTlsOptionsBuilder tls)
    {
        tls.UseTls().WithTargetHost(_settings.Host);
        if (_settings.CaFile is not null)
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(_settings.CaFile);
            tls.WithTrustChain(authorities);
        }
        if (_settings.ClientCertificateFile is not null)
        {
            using var pem = X509Certificate2.CreateFromPemFile(_settings.ClientCertificateFile, _settings.ClientKeyFile);
            // SslStream on Linux needs the key in a persisted form; a PKCS#12 round trip gives it one.
            tls.WithClientCertificates([X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null)]);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT connected to {Host}:{Port} (session present: {SessionPresent}, after {Attempts} retries); listening on {Topic}.")]
    private static partial void Connected(ILogger logger, string host, int port, string topic, bool sessionPresent, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT connection to {Host}:{Port} lost; reconnecting with backoff. Answers wait in the outbox.")]
    private static partial void Disconnected(ILogger logger, string host, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT cannot connect to {Host}:{Port} ({Reason}); retrying with backoff.")]
    private static partial void ConnectFailed(ILogger logger, string host, int port, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT publishing paused ({Reason}); the answer stays in the outbox.")]
    private static partial void PublishInterrupted(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The broker refused an answer on {Topic}: {ReasonCode} {ReasonString}; it was dropped.")]
    private static partial void AnswerRefusedByBroker(ILogger logger, string topic, string reasonCode, string? reasonString);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The MQTT outbox is full: dropped the {Count} oldest answers (limits {MaxMessages} messages, {MaxBytes} bytes).")]
    private static partial void OutboxFull(ILogger logger, int count, int maxMessages, long maxBytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "An MQTT request could not be taken in; it was acknowledged and refused.")]
    private static partial void ReceiveFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "MQTT request {RequestId} failed inside the server.")]
    private static partial void AnswerFailed(ILogger logger, string requestId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT update command: {Status} (version {Version}) {Reason}")]
    private static partial void OtaOutcome(ILogger logger, string status, string? version, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT goodbye (offline status, disconnect) failed: {Reason}.")]
    private static partial void GoodbyeFailed(ILogger logger, string reason);
}
