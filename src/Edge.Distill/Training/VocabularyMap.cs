using System.Text.Json;
using Edge.Runtime.Tokenization;

namespace Edge.Distill.Training;

/// <summary>
/// Which teacher id spells each student token, matched by token string (vocabulary entries and
/// added tokens of both tokenizer.json files). It lets a teacher with a larger vocabulary teach a
/// student whose tokenizer is a subset of it, as a trimmed tokenizer is of the one it was cut from.
/// </summary>
internal sealed class VocabularyMap
{
    private VocabularyMap(long[] teacherIds) => TeacherIds = teacherIds;

    /// <summary>Student id i is teacher id TeacherIds[i].</summary>
    public long[] TeacherIds { get; }

    /// <summary>Matches the tokenizers of two folders; every student token must exist in the teacher's vocabulary.</summary>
    public static VocabularyMap Between(string teacherDirectory, string studentDirectory)
    {
        var teacher = Tokens(teacherDirectory);
        var student = Tokens(studentDirectory);
        var byString = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in teacher)
            byString.TryAdd(token, id);
        int size = student.Max(t => t.Id) + 1;
        var map = new long[size];
        var seen = new bool[size];
        foreach (var (token, id) in student)
        {
            if (!byString.TryGetValue(token, out int teacherId))
                throw new ArgumentException($"The student's token '{token}' (id {id}) is not in the teacher's vocabulary: a vocabulary map needs every student token in the teacher's.");
            map[id] = teacherId;
            seen[id] = true;
        }
        int gap = Array.IndexOf(seen, false);
        if (gap >= 0)
            throw new InvalidDataException($"{studentDirectory}/{ModelTokenizer.FileName} has no token with id {gap}; a vocabulary map needs contiguous ids.");
        return new VocabularyMap(map);
    }

    private static List<(string Token, int Id)> Tokens(string directory)
    {
        string path = Path.Combine(directory, ModelTokenizer.FileName);
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllBytes(path));
            var tokens = json.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject().Select(p => (p.Name, p.Value.GetInt32())).ToList();
            if (json.RootElement.TryGetProperty("added_tokens", out var added))
                tokens.AddRange(added.EnumerateArray().Select(a => (a.GetProperty("content").GetString()!, a.GetProperty("id").GetInt32())));
            return tokens;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path} is not a tokenizer.json with model.vocab and added_tokens: {e.Message}");
        }
    }
}
