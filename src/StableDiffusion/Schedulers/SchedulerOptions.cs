using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StableDiffusion.Schedulers;

/// <summary>
/// The resolved values of a scheduler's declared options (config value or class default, validated).
/// Reading an undeclared key is a programming error and throws.
/// </summary>
public sealed class SchedulerOptions
{
    private readonly Dictionary<string, JsonNode?> _values;

    internal SchedulerOptions(Dictionary<string, JsonNode?> values, SchedulerConfig effective)
    {
        _values = values;
        Effective = effective;
    }

    /// <summary>The full configuration: the input config with every declared key set to its resolved value.</summary>
    public SchedulerConfig Effective { get; }

    public bool IsDeclared(string key) => _values.ContainsKey(key);

    private JsonNode? Node(string key) =>
        _values.TryGetValue(key, out var node) ? node : throw new KeyNotFoundException($"Scheduler option '{key}' is not declared by this scheduler.");

    public bool IsNull(string key) => Node(key) is null;

    public int GetInt(string key) => Node(key) is { } n ? (int)ToDouble(n) : throw NullValue(key);
    public int? GetNullableInt(string key) => Node(key) is { } n ? (int)ToDouble(n) : null;
    public double GetDouble(string key) => Node(key) is { } n ? ToDouble(n) : throw NullValue(key);
    public double? GetNullableDouble(string key) => Node(key) is { } n ? ToDouble(n) : null;
    public bool GetBool(string key) => Node(key) is { } n ? n.GetValue<bool>() : throw NullValue(key);
    public string GetString(string key) => Node(key) is { } n ? n.GetValue<string>() : throw NullValue(key);
    public string? GetNullableString(string key) => Node(key)?.GetValue<string>();

    public double[]? GetDoubleArray(string key) =>
        Node(key) is JsonArray a ? a.Select(item => ToDouble(item!)).ToArray() : null;

    public int[]? GetIntArray(string key) =>
        Node(key) is JsonArray a ? a.Select(item => (int)ToDouble(item!)).ToArray() : null;

    /// <summary>Reads a number whatever CLR type backs the JsonValue (parsed JSON or a created int/double).</summary>
    internal static double ToDouble(JsonNode n)
    {
        if (n.GetValueKind() == JsonValueKind.String)
            return double.Parse(n.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture);
        var v = n.AsValue();
        if (v.TryGetValue(out double d)) return d;
        if (v.TryGetValue(out int i)) return i;
        if (v.TryGetValue(out long l)) return l;
        if (v.TryGetValue(out float f)) return f;
        if (v.TryGetValue(out decimal m)) return (double)m;
        if (v.TryGetValue(out JsonElement e)) return e.GetDouble();
        throw new FormatException($"Not a number: {n.ToJsonString()}.");
    }

    private static InvalidOperationException NullValue(string key) => new($"Scheduler option '{key}' is null.");
}
