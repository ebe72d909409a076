using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StableDiffusion.Schedulers;

/// <summary>
/// A diffusers scheduler configuration: the keys of <c>scheduler_config.json</c> with their JSON values.
/// Immutable; <see cref="With(string, object?)"/> returns a copy with overrides, which is how diffusers' <c>from_config</c>
/// swaps one scheduler for another while keeping the model's noise schedule.
/// A key missing here takes the default of the scheduler class that reads it (current diffusers' defaults).
/// </summary>
public sealed class SchedulerConfig
{
    private readonly Dictionary<string, JsonNode?> _values;

    private SchedulerConfig(Dictionary<string, JsonNode?> values) => _values = values;

    /// <summary>An empty configuration: every key takes the class default.</summary>
    public static SchedulerConfig Empty { get; } = new(new Dictionary<string, JsonNode?>(StringComparer.Ordinal));

    /// <summary>The keys present in this configuration.</summary>
    public IEnumerable<string> Keys => _values.Keys;

    /// <summary>The diffusers class the configuration was written for (<c>_class_name</c>), if any.</summary>
    public string? ClassName => GetString("_class_name", null);

    public static SchedulerConfig Parse(string json)
    {
        var node = JsonNode.Parse(json) as JsonObject
            ?? throw new FormatException("A scheduler configuration must be a JSON object.");
        var values = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (key, value) in node)
            values[key] = value?.DeepClone();
        return new SchedulerConfig(values);
    }

    public static SchedulerConfig Load(string path) => Parse(File.ReadAllText(path));

    /// <summary>True when <paramref name="key"/> is present (a JSON null counts as present).</summary>
    public bool Contains(string key) => _values.ContainsKey(key);

    /// <summary>A copy with the given keys replaced. Values may be CLR primitives, arrays or JsonNodes; null removes nothing, it stores JSON null.</summary>
    public SchedulerConfig With(IEnumerable<KeyValuePair<string, object?>> overrides)
    {
        var values = new Dictionary<string, JsonNode?>(_values.Count, StringComparer.Ordinal);
        foreach (var (key, value) in _values)
            values[key] = value?.DeepClone();
        foreach (var (key, value) in overrides)
            values[key] = ToNode(value);
        return new SchedulerConfig(values);
    }

    public SchedulerConfig With(string key, object? value) => With([new KeyValuePair<string, object?>(key, value)]);

    /// <summary>A copy without the given keys (they fall back to class defaults).</summary>
    public SchedulerConfig Without(params string[] keys)
    {
        var values = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (key, value) in _values)
            if (Array.IndexOf(keys, key) < 0)
                values[key] = value?.DeepClone();
        return new SchedulerConfig(values);
    }

    /// <summary>The raw JSON value of a key, or null when absent or JSON null.</summary>
    public JsonNode? GetNode(string key) => _values.TryGetValue(key, out var v) ? v : null;

    public double GetDouble(string key, double defaultValue)
    {
        var node = GetNode(key);
        if (node is null) return defaultValue;
        return node.GetValueKind() switch
        {
            JsonValueKind.Number => SchedulerOptions.ToDouble(node),
            JsonValueKind.String when double.TryParse(node.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            _ => throw InvalidValue(key, node, "a number"),
        };
    }

    public int GetInt(string key, int defaultValue)
    {
        var node = GetNode(key);
        if (node is null) return defaultValue;
        if (node.GetValueKind() == JsonValueKind.Number)
        {
            double d = SchedulerOptions.ToDouble(node);
            if (d == Math.Floor(d) && d >= int.MinValue && d <= int.MaxValue) return (int)d;
        }
        throw InvalidValue(key, node, "an integer");
    }

    public bool GetBool(string key, bool defaultValue)
    {
        var node = GetNode(key);
        if (node is null) return defaultValue;
        return node.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw InvalidValue(key, node, "true or false"),
        };
    }

    public string? GetString(string key, string? defaultValue)
    {
        var node = GetNode(key);
        if (node is null) return defaultValue;
        return node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : throw InvalidValue(key, node, "a string");
    }

    /// <summary>A number array (e.g. <c>trained_betas</c>), or null when absent or JSON null.</summary>
    public double[]? GetDoubleArray(string key)
    {
        var node = GetNode(key);
        if (node is null) return null;
        if (node is not JsonArray array) throw InvalidValue(key, node, "an array of numbers");
        var result = new double[array.Count];
        for (int i = 0; i < result.Length; i++)
            result[i] = array[i] is { } item && item.GetValueKind() == JsonValueKind.Number
                ? SchedulerOptions.ToDouble(item)
                : throw InvalidValue(key, node, "an array of numbers");
        return result;
    }

    public string ToJson(bool indented = true)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in _values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            obj[key] = value?.DeepClone();
        return obj.ToJsonString(new JsonSerializerOptions { WriteIndented = indented });
    }

    public override string ToString() => ToJson(indented: false);

    private static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        JsonElement element => JsonNode.Parse(element.GetRawText()),
        string or bool or int or long or double or float or decimal => JsonValue.Create(value),
        System.Collections.IEnumerable items => new JsonArray(items.Cast<object?>().Select(ToNode).ToArray()),
        _ => JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture)),
    };

    private static FormatException InvalidValue(string key, JsonNode node, string expected) =>
        new($"Scheduler option '{key}' must be {expected}; it is {node.ToJsonString()}.");
}
