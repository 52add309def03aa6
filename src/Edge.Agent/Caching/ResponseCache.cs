using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Edge.Runtime.Inference;
using Edge.Agent.Storage;
using Microsoft.Data.Sqlite;

namespace Edge.Agent.Caching;

/// <summary>A cached answer: the text, how it finished, and its token counts.</summary>
internal sealed record CachedAnswer(string Text, FinishReason FinishReason, int PromptTokens, int CompletionTokens);

/// <summary>
/// Answers for deterministic requests (greedy, or sampled with an explicit seed) in SQLite under
/// the state directory, so the same question gets the same answer without the model, across
/// restarts. Keyed by the model version, the prompt's token ids and every generation setting;
/// bounded in bytes with least-recently-used eviction; entries of other model versions are
/// dropped when a model is loaded.
/// </summary>
internal sealed class ResponseCache : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly string _modelVersion;
    private readonly long _maxBytes;
    private readonly Lock _lock = new();

    public ResponseCache(string stateDirectory, string modelVersion, long maxBytes)
    {
        _modelVersion = modelVersion;
        _maxBytes = maxBytes;
        _connection = StateDatabase.Open(stateDirectory, "cache.db", durable: false);
        _connection.Execute("""
            CREATE TABLE IF NOT EXISTS responses (
                key TEXT PRIMARY KEY, model_version TEXT NOT NULL, text TEXT NOT NULL, finish TEXT NOT NULL,
                prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, bytes INTEGER NOT NULL, last_used INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS responses_lru ON responses(last_used);
            """);
        using var stale = _connection.Command("DELETE FROM responses WHERE model_version <> $version;");
        stale.Parameters.AddWithValue("$version", modelVersion);
        stale.ExecuteNonQuery();
    }

    /// <summary>Only requests whose answer is fixed by their inputs are cached.</summary>
    /// <summary>Answers worth keeping: the same every time, and without log probabilities (the cache keeps text only).</summary>
    public static bool IsDeterministic(GenerationSettings settings) => (settings.IsGreedy || settings.Seed is not null) && settings.TopLogprobs is null;

    /// <summary>The cache key: route, prompt ids and every setting that shapes the answer.</summary>
    public string Key(string route, IReadOnlyList<int> prompt, GenerationSettings s)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{route}|{_modelVersion}|{string.Join(',', prompt)}|{s.MaxTokens}|{s.Temperature:R}|{s.TopK}|{s.TopP:R}|{s.MinP:R}|");
        text.Append(CultureInfo.InvariantCulture, $"{s.RepetitionPenalty:R}|{s.PresencePenalty:R}|{s.FrequencyPenalty:R}|{s.Seed}|{s.StopAtEos}|{s.ContextOverflow}|{s.ResponseFormat}|");
        // Lists of strings length-prefixed, so that no two lists write the same key (["a|b"] against ["a", "b"]).
        static string Strings(IReadOnlyList<string> list) => string.Concat(list.Select(x => $"{x.Length}:{x}"));
        text.Append(Strings(s.StopStrings)).Append('|').Append(string.Join(',', s.StopTokenIds)).Append('|').Append(Strings(s.Choices)).Append('|')
            .Append(s.Grammar is { } g ? $"{g.Kind}:{Strings([g.Source, g.Trigger ?? ""])}" : "").Append('|')
            .Append(string.Join(',', s.LogitBias.OrderBy(b => b.Key).Select(b => string.Create(CultureInfo.InvariantCulture, $"{b.Key}={b.Value:R}"))));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    public CachedAnswer? Find(string key)
    {
        lock (_lock)
        {
            using var find = _connection.Command("SELECT text, finish, prompt_tokens, completion_tokens FROM responses WHERE key = $key;");
            find.Parameters.AddWithValue("$key", key);
            using var reader = find.ExecuteReader();
            if (!reader.Read())
                return null;
            var answer = new CachedAnswer(reader.GetString(0), Enum.Parse<FinishReason>(reader.GetString(1)), reader.GetInt32(2), reader.GetInt32(3));
            reader.Close();
            using var touch = _connection.Command("UPDATE responses SET last_used = $now WHERE key = $key;");
            touch.Parameters.AddWithValue("$now", NextStamp());
            touch.Parameters.AddWithValue("$key", key);
            touch.ExecuteNonQuery();
            return answer;
        }
    }

    public void Store(string key, CachedAnswer answer)
    {
        long bytes = Encoding.UTF8.GetByteCount(answer.Text) + 64;
        if (bytes > _maxBytes)
            return;
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction();
            using (var insert = _connection.Command("""
                INSERT OR REPLACE INTO responses (key, model_version, text, finish, prompt_tokens, completion_tokens, bytes, last_used)
                VALUES ($key, $version, $text, $finish, $prompt, $completion, $bytes, $now);
                """))
            {
                insert.Transaction = transaction;
                insert.Parameters.AddWithValue("$key", key);
                insert.Parameters.AddWithValue("$version", _modelVersion);
                insert.Parameters.AddWithValue("$text", answer.Text);
                insert.Parameters.AddWithValue("$finish", answer.FinishReason.ToString());
                insert.Parameters.AddWithValue("$prompt", answer.PromptTokens);
                insert.Parameters.AddWithValue("$completion", answer.CompletionTokens);
                insert.Parameters.AddWithValue("$bytes", bytes);
                insert.Parameters.AddWithValue("$now", NextStamp());
                insert.ExecuteNonQuery();
            }
            // Evict least recently used entries until the cache fits its budget again.
            using (var evict = _connection.Command("""
                DELETE FROM responses WHERE key IN (
                    SELECT key FROM (SELECT key, SUM(bytes) OVER (ORDER BY last_used DESC) AS running FROM responses) WHERE running > $max);
                """))
            {
                evict.Transaction = transaction;
                evict.Parameters.AddWithValue("$max", _maxBytes);
                evict.ExecuteNonQuery();
            }
            transaction.Commit();
        }
    }

    public long Count
    {
        get
        {
            lock (_lock)
            {
                using var count = _connection.Command("SELECT COUNT(*) FROM responses;");
                return (long)count.ExecuteScalar()!;
            }
        }
    }

    // Strictly increasing use stamps, so LRU order holds even within one clock tick.
    private long _stamp;

    private long NextStamp()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        _stamp = Math.Max(_stamp + 1, now);
        return _stamp;
    }

    public void Dispose() => _connection.Dispose();
}
