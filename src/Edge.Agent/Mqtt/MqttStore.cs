using Edge.Agent.Storage;
using Microsoft.Data.Sqlite;

namespace Edge.Agent.Mqtt;

/// <summary>A request taken from the broker and not yet answered.</summary>
internal sealed record MqttInboxItem(string RequestId, byte[] Payload, string? ResponseTopic, byte[]? CorrelationData)
{
    /// <summary>
    /// The request as the store knows it: its id within its requester's scope (the response
    /// topic), so that two machines that both send id "1" both get answers. An id never holds
    /// '/', so the first '/' separates it from the topic unambiguously; a request without a
    /// response topic keeps its bare id, as stores written before scoping have it.
    /// </summary>
    public string Key => ResponseTopic is null ? RequestId : $"{RequestId}/{ResponseTopic}";

    public static string IdOfKey(string key) => key.IndexOf('/') is var slash and >= 0 ? key[..slash] : key;
}

/// <summary>A message to publish with QoS 1.</summary>
internal sealed record MqttOutgoing(string Topic, byte[] Payload, byte[]? CorrelationData);

/// <summary>An outbox entry: its place in the publishing order and the message.</summary>
internal sealed record MqttOutboxEntry(long Sequence, MqttOutgoing Message);

/// <summary>What became of a request that arrived.</summary>
internal enum MqttReceipt
{
    /// <summary>New: stored in the inbox, to be answered.</summary>
    Accepted,
    /// <summary>Seen and answered before: the stored answer was queued again.</summary>
    AnsweredBefore,
    /// <summary>Seen and still being answered: nothing to do.</summary>
    InProgress,
    /// <summary>Seen and answered before, but replays are over their rate: nothing was sent.</summary>
    ReplayThrottled,
}

/// <summary>
/// The durable half of store-and-forward, in SQLite under the state directory: an inbox of
/// requests taken from the broker (written before the broker gets its PUBACK, so a request
/// acknowledged is never lost to a crash), an outbox of answers (written before publishing,
/// removed on PUBACK, replayed in order), and the answers already given (so a redelivered
/// request id gets the same answer again instead of a second generation). Every change is one
/// transaction with synchronous=FULL: the point of this file is surviving power cuts.
/// </summary>
internal sealed class MqttStore : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();
    private readonly int _maxOutboxMessages;
    private readonly long _maxOutboxBytes;
    private readonly int _rememberedAnswers;

    public MqttStore(string stateDirectory, int maxOutboxMessages, long maxOutboxBytes, int rememberedAnswers)
    {
        _maxOutboxMessages = maxOutboxMessages;
        _maxOutboxBytes = maxOutboxBytes;
        _rememberedAnswers = rememberedAnswers;
        _connection = StateDatabase.Open(stateDirectory, "mqtt.db", durable: true);
        _connection.Execute("""
            CREATE TABLE IF NOT EXISTS inbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE, payload BLOB NOT NULL,
                response_topic TEXT, correlation BLOB);
            CREATE TABLE IF NOT EXISTS outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL, correlation BLOB, bytes INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS ota_pending (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, payload BLOB NOT NULL, received INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS answers (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE, topic TEXT NOT NULL, payload BLOB NOT NULL, correlation BLOB);
            """);
    }

    /// <summary>Raised (under the store's lock) with the number of answers dropped, oldest first, from a full outbox.</summary>
    public event Action<int>? Dropped;

    /// <summary>Records a request from the broker unless its id was seen before; then its stored answer is queued again if <paramref name="replay"/> allows.</summary>
    public MqttReceipt Receive(MqttInboxItem item, Func<bool>? replay = null)
    {
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction();
            MqttReceipt receipt;
            if (FindAnswer(item.Key, transaction) is { } answer)
            {
                if (replay is null || replay())
                {
                    EnqueueLocked(answer, transaction);
                    receipt = MqttReceipt.AnsweredBefore;
                }
                else
                {
                    receipt = MqttReceipt.ReplayThrottled;
                }
            }
            else
            {
                using var insert = _connection.Command("INSERT OR IGNORE INTO inbox (request_id, payload, response_topic, correlation) VALUES ($id, $payload, $topic, $correlation);", transaction);
                insert.Parameters.AddWithValue("$id", item.Key);
                insert.Parameters.AddWithValue("$payload", item.Payload);
                insert.Parameters.AddWithValue("$topic", (object?)item.ResponseTopic ?? DBNull.Value);
                insert.Parameters.AddWithValue("$correlation", (object?)item.CorrelationData ?? DBNull.Value);
                receipt = insert.ExecuteNonQuery() == 1 ? MqttReceipt.Accepted : MqttReceipt.InProgress;
            }
            transaction.Commit();
            return receipt;
        }
    }

    /// <summary>Keeps an update command until it has run (a crash between receipt and outcome runs it again at start); returns its key.</summary>
    public long StoreOtaCommand(byte[] payload)
    {
        lock (_lock)
        {
            using var insert = _connection.Command("INSERT INTO ota_pending (payload, received) VALUES ($payload, $received); SELECT last_insert_rowid();");
            insert.Parameters.AddWithValue("$payload", payload);
            insert.Parameters.AddWithValue("$received", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            return (long)insert.ExecuteScalar()!;
        }
    }

    /// <summary>Update commands received and not finished, oldest first, with when each arrived.</summary>
    public IReadOnlyList<(long Key, byte[] Payload, DateTimeOffset Received)> PendingOtaCommands()
    {
        lock (_lock)
        {
            using var select = _connection.Command("SELECT seq, payload, received FROM ota_pending ORDER BY seq;");
            using var reader = select.ExecuteReader();
            var commands = new List<(long, byte[], DateTimeOffset)>();
            while (reader.Read())
                commands.Add((reader.GetInt64(0), (byte[])reader[1], DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
            return commands;
        }
    }

    public void OtaCommandDone(long key)
    {
        lock (_lock)
        {
            using var delete = _connection.Command("DELETE FROM ota_pending WHERE seq = $seq;");
            delete.Parameters.AddWithValue("$seq", key);
            delete.ExecuteNonQuery();
        }
    }

    /// <summary>Requests received and not answered yet, oldest first (after a restart: the ones a crash interrupted).</summary>
    public IReadOnlyList<MqttInboxItem> PendingRequests()
    {
        lock (_lock)
        {
            using var select = _connection.Command("SELECT request_id, payload, response_topic, correlation FROM inbox ORDER BY seq;");
            using var reader = select.ExecuteReader();
            var items = new List<MqttInboxItem>();
            while (reader.Read())
                items.Add(new MqttInboxItem(MqttInboxItem.IdOfKey(reader.GetString(0)), (byte[])reader[1], reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : (byte[])reader[3]));
            return items;
        }
    }

    /// <summary>
    /// Queues an answer for publishing. With a request key (<see cref="MqttInboxItem.Key"/>), the
    /// request leaves the inbox and its answer is remembered, in the same transaction; without
    /// one (a request too broken to have an id), the answer is only queued.
    /// </summary>
    public void Answer(string? requestId, MqttOutgoing answer)
    {
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction();
            EnqueueLocked(answer, transaction);
            if (requestId is not null)
            {
                using (var remember = _connection.Command("INSERT OR REPLACE INTO answers (request_id, topic, payload, correlation) VALUES ($id, $topic, $payload, $correlation);", transaction))
                {
                    remember.Parameters.AddWithValue("$id", requestId);
                    AddMessage(remember, answer);
                    remember.ExecuteNonQuery();
                }
                using (var done = _connection.Command("DELETE FROM inbox WHERE request_id = $id;", transaction))
                {
                    done.Parameters.AddWithValue("$id", requestId);
                    done.ExecuteNonQuery();
                }
                using var forget = _connection.Command("DELETE FROM answers WHERE seq <= (SELECT MAX(seq) FROM answers) - $keep;", transaction);
                forget.Parameters.AddWithValue("$keep", _rememberedAnswers);
                forget.ExecuteNonQuery();
            }
            transaction.Commit();
        }
    }

    /// <summary>The oldest answers waiting to be published, in order.</summary>
    public IReadOnlyList<MqttOutboxEntry> PeekOutbox(int max)
    {
        lock (_lock)
        {
            using var select = _connection.Command("SELECT seq, topic, payload, correlation FROM outbox ORDER BY seq LIMIT $max;");
            select.Parameters.AddWithValue("$max", max);
            using var reader = select.ExecuteReader();
            var entries = new List<MqttOutboxEntry>();
            while (reader.Read())
                entries.Add(new MqttOutboxEntry(reader.GetInt64(0), new MqttOutgoing(reader.GetString(1), (byte[])reader[2], reader.IsDBNull(3) ? null : (byte[])reader[3])));
            return entries;
        }
    }

    /// <summary>The broker acknowledged the answer: it leaves the outbox.</summary>
    public void Delivered(long sequence)
    {
        lock (_lock)
        {
            using var delete = _connection.Command("DELETE FROM outbox WHERE seq = $seq;");
            delete.Parameters.AddWithValue("$seq", sequence);
            delete.ExecuteNonQuery();
        }
    }

    public (long Messages, long Bytes) OutboxSize
    {
        get
        {
            lock (_lock)
            {
                using var select = _connection.Command("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM outbox;");
                using var reader = select.ExecuteReader();
                reader.Read();
                return (reader.GetInt64(0), reader.GetInt64(1));
            }
        }
    }

    public long InboxCount
    {
        get
        {
            lock (_lock)
            {
                using var count = _connection.Command("SELECT COUNT(*) FROM inbox;");
                return (long)count.ExecuteScalar()!;
            }
        }
    }

    private MqttOutgoing? FindAnswer(string requestId, SqliteTransaction transaction)
    {
        using var find = _connection.Command("SELECT topic, payload, correlation FROM answers WHERE request_id = $id;", transaction);
        find.Parameters.AddWithValue("$id", requestId);
        using var reader = find.ExecuteReader();
        return reader.Read() ? new MqttOutgoing(reader.GetString(0), (byte[])reader[1], reader.IsDBNull(2) ? null : (byte[])reader[2]) : null;
    }

    /// <summary>Appends to the outbox, then drops the oldest entries while it is over its bounds.</summary>
    private void EnqueueLocked(MqttOutgoing message, SqliteTransaction transaction)
    {
        using (var insert = _connection.Command("INSERT INTO outbox (topic, payload, correlation, bytes) VALUES ($topic, $payload, $correlation, $bytes);", transaction))
        {
            AddMessage(insert, message);
            insert.Parameters.AddWithValue("$bytes", message.Payload.Length + message.Topic.Length + (message.CorrelationData?.Length ?? 0));
            insert.ExecuteNonQuery();
        }
        using var trim = _connection.Command("""
            DELETE FROM outbox WHERE seq IN (
                SELECT seq FROM (
                    SELECT seq, COUNT(*) OVER (ORDER BY seq DESC) AS newer, SUM(bytes) OVER (ORDER BY seq DESC) AS running FROM outbox)
                WHERE newer > $maxMessages OR running > $maxBytes);
            """, transaction);
        trim.Parameters.AddWithValue("$maxMessages", _maxOutboxMessages);
        trim.Parameters.AddWithValue("$maxBytes", _maxOutboxBytes);
        int dropped = trim.ExecuteNonQuery();
        if (dropped > 0)
            Dropped?.Invoke(dropped);
    }

    private static void AddMessage(SqliteCommand command, MqttOutgoing message)
    {
        command.Parameters.AddWithValue("$topic", message.Topic);
        command.Parameters.AddWithValue("$payload", message.Payload);
        command.Parameters.AddWithValue("$correlation", (object?)message.CorrelationData ?? DBNull.Value);
    }

    public void Dispose() => _connection.Dispose();
}
