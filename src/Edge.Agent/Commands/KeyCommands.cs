using System.CommandLine;
using Edge.Agent.Security;

namespace Edge.Agent.Commands;

/// <summary>deepseek-edge new-key / hash-key: API keys for Auth:Keys, which stores only hashes.</summary>
internal static class KeyCommands
{
    public static Command CreateNewKey()
    {
        var command = new Command("new-key", "Print a new random API key and the SHA-256 to put in Auth:Keys (the key itself is shown once and stored nowhere).");
        command.SetAction(_ =>
        {
            string key = ApiKeys.NewKey();
            Console.WriteLine($"key:    {key}");
            Console.WriteLine($"sha256: {ApiKeys.Hash(key)}");
            return 0;
        });
        return command;
    }

    public static Command CreateHashKey()
    {
        var command = new Command("hash-key", "Read an API key on stdin; print its SHA-256 for Auth:Keys.");
        command.SetAction(_ =>
        {
            string? key = Console.In.ReadLine()?.Trim();
            if (string.IsNullOrEmpty(key))
            {
                Console.Error.WriteLine("deepseek-edge: no key on stdin.");
                return 2;
            }
            Console.WriteLine(ApiKeys.Hash(key));
            return 0;
        });
        return command;
    }
}
