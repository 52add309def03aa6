using System.Text.Json.Nodes;

namespace Edge.Runtime.Tests.Constraints;

/// <summary>Random JSON schemas over every feature the schema compiler supports.</summary>
internal static class RandomSchemas
{
    private static readonly string[] Words = ["valve", "action", "bar", "état", "温度", "id", "ok", "note", "a b", "q\"t"];

    public static JsonNode Schema(Random random, int depth)
    {
        int kind = random.Next(depth >= 2 ? 8 : 12);
        return kind switch
        {
            0 => String(random),
            1 => Bounded(random, "integer"),
            2 => Bounded(random, "number"),
            3 => new JsonObject { ["type"] = random.Next(2) == 0 ? "boolean" : "null" },
            4 => new JsonObject { ["enum"] = new JsonArray([.. Enumerable.Range(0, random.Next(1, 4)).Select(_ => Scalar(random))]) },
            5 => new JsonObject { ["const"] = Scalar(random) },
            6 => new JsonObject { ["type"] = new JsonArray("string", "null"), ["maxLength"] = random.Next(1, 8) },
            7 => new JsonObject { ["description"] = "free", ["title"] = "any" }, // any value, nested at most three deep
            8 or 9 => Object(random, depth),
            10 => Array(random, depth),
            _ => new JsonObject { ["anyOf"] = new JsonArray(Schema(random, depth + 1), Schema(random, depth + 1)) },
        };
    }

    private static JsonObject String(Random random)
    {
        var schema = new JsonObject { ["type"] = "string" };
        switch (random.Next(4))
        {
            case 0:
                int min = random.Next(0, 4);
                schema["minLength"] = min;
                schema["maxLength"] = min + random.Next(0, 12);
                break;
            case 1:
                schema["pattern"] = random.Next(3) switch { 0 => "^V-[0-9]{1,3}$", 1 => "^[a-z]+(_[a-z]+)*$", _ => "ok" };
                break;
            case 2:
                schema["format"] = new[] { "date", "time", "date-time", "uuid" }[random.Next(4)];
                break;
        }
        return schema;
    }

    private static JsonObject Bounded(Random random, string type)
    {
        var schema = new JsonObject { ["type"] = type };
        int low = random.Next(-1000, 1000);
        if (random.Next(2) == 0)
            schema[random.Next(2) == 0 ? "minimum" : "exclusiveMinimum"] = low;
        if (random.Next(2) == 0)
            schema[random.Next(2) == 0 ? "maximum" : "exclusiveMaximum"] = low + random.Next(2, 5000);
        return schema;
    }

    private static JsonValue Scalar(Random random) => random.Next(4) switch
    {
        0 => JsonValue.Create(Words[random.Next(Words.Length)]),
        1 => JsonValue.Create(random.Next(-50, 50)),
        2 => JsonValue.Create(random.Next(2) == 0),
        _ => JsonValue.Create(Words[random.Next(Words.Length)] + random.Next(100)),
    };

    private static JsonObject Object(Random random, int depth)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        foreach (string name in Words.OrderBy(_ => random.Next()).Take(random.Next(1, 5)))
        {
            properties[name] = Schema(random, depth + 1);
            if (random.Next(2) == 0)
                required.Add(name);
        }
        var schema = new JsonObject { ["type"] = "object", ["properties"] = properties, ["required"] = required };
        if (random.Next(3) > 0)
            schema["additionalProperties"] = false;
        if (depth == 0 && random.Next(3) == 0)
        {
            schema["$defs"] = new JsonObject { ["shared"] = Schema(random, depth + 1) };
            properties["ref"] = new JsonObject { ["$ref"] = "#/$defs/shared" };
        }
        return schema;
    }

    private static JsonObject Array(Random random, int depth)
    {
        var schema = new JsonObject { ["type"] = "array", ["items"] = Schema(random, depth + 1) };
        int min = random.Next(0, 3);
        if (random.Next(2) == 0)
            schema["minItems"] = min;
        if (random.Next(2) == 0)
            schema["maxItems"] = min + random.Next(0, 4);
        return schema;
    }
}
