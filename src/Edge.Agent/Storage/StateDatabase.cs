using Microsoft.Data.Sqlite;

namespace Edge.Agent.Storage;

/// <summary>The SQLite files under the state directory (response cache, MQTT store): opened the same way, queried through the same helpers.</summary>
internal static class StateDatabase
{
    /// <param name="durable">synchronous=FULL: every commit survives a power cut (the MQTT store); otherwise WAL's default.</param>
    public static SqliteConnection Open(string stateDirectory, string fileName, bool durable)
    {
        Directory.CreateDirectory(stateDirectory);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(stateDirectory, fileName) }.ToString());
        connection.Open();
        connection.Execute(durable ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;" : "PRAGMA journal_mode=WAL;");
        return connection;
    }

    public static SqliteCommand Command(this SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    public static void Execute(this SqliteConnection connection, string sql)
    {
        using var command = connection.Command(sql);
        command.ExecuteNonQuery();
    }
}
