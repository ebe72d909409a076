using System.Text.Json;
using System.Text.Json.Nodes;

namespace StableDiffusion.Schedulers;

/// <summary>The JSON type a scheduler option takes.</summary>
public enum SchedulerOptionKind
{
    Integer,
    Number,
    Boolean,
    /// <summary>A string from a fixed list (<see cref="SchedulerOption.AllowedValues"/>).</summary>
    Choice,
    /// <summary>An array of numbers (e.g. <c>trained_betas</c>).</summary>
    NumberArray,
    /// <summary>An array of integers (e.g. UniPC's <c>disable_corrector</c>).</summary>
    IntegerArray,
}

/// <summary>
/// One diffusers config key that a scheduler class accepts: its type, its class default (diffusers 0.35.2),
/// whether JSON null is a legal value, and for choices the allowed strings.
/// </summary>
public sealed class SchedulerOption
{
    private SchedulerOption(string key, SchedulerOptionKind kind, JsonNode? defaultValue, bool nullable, string[]? allowed)
    {
        Key = key;
        Kind = kind;
        Default = defaultValue;
        Nullable = nullable;
        AllowedValues = allowed;
    }

    public string Key { get; }
    public SchedulerOptionKind Kind { get; }

    /// <summary>The class default as JSON (null = JSON null / None).</summary>
    public JsonNode? Default { get; }

    /// <summary>True when null (Python <c>None</c>) is a legal value.</summary>
    public bool Nullable { get; }

    /// <summary>For <see cref="SchedulerOptionKind.Choice"/>: the legal values.</summary>
    public IReadOnlyList<string>? AllowedValues { get; }

    public static SchedulerOption Integer(string key, int defaultValue) => new(key, SchedulerOptionKind.Integer, JsonValue.Create(defaultValue), false, null);
    public static SchedulerOption Number(string key, double defaultValue) => new(key, SchedulerOptionKind.Number, JsonValue.Create(defaultValue), false, null);
    /// <summary>A number whose default is None (e.g. <c>sigma_min</c>).</summary>
    public static SchedulerOption NullableNumber(string key, double? defaultValue = null) =>
        new(key, SchedulerOptionKind.Number, defaultValue is { } d ? JsonValue.Create(d) : null, true, null);
    public static SchedulerOption NullableInteger(string key, int? defaultValue = null) =>
        new(key, SchedulerOptionKind.Integer, defaultValue is { } d ? JsonValue.Create(d) : null, true, null);
    public static SchedulerOption Boolean(string key, bool defaultValue) => new(key, SchedulerOptionKind.Boolean, JsonValue.Create(defaultValue), false, null);
    public static SchedulerOption Choice(string key, string defaultValue, params string[] allowed)
    {
        if (Array.IndexOf(allowed, defaultValue) < 0) throw new ArgumentException($"Default '{defaultValue}' of '{key}' is not among its allowed values.", nameof(defaultValue));
        return new(key, SchedulerOptionKind.Choice, JsonValue.Create(defaultValue), false, allowed);
    }
    /// <summary>A choice whose default is None (e.g. DPMSolver's <c>variance_type</c>).</summary>
    public static SchedulerOption NullableChoice(string key, string? defaultValue, params string[] allowed) =>
        new(key, SchedulerOptionKind.Choice, defaultValue is null ? null : JsonValue.Create(defaultValue), true, allowed);
    public static SchedulerOption NumberArray(string key) => new(key, SchedulerOptionKind.NumberArray, null, true, null);
    public static SchedulerOption IntegerArray(string key, params int[] defaultValue) =>
        new(key, SchedulerOptionKind.IntegerArray, new JsonArray(defaultValue.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()), false, null);

    /// <summary>A copy with another default (classes share keys but not always defaults).</summary>
    public SchedulerOption WithDefault(object? defaultValue)
    {
        var node = defaultValue switch
        {
            null => null,
            JsonNode n => n.DeepClone(),
            string s => JsonValue.Create(s),
            bool b => JsonValue.Create(b),
            int i => JsonValue.Create(i),
            double d => JsonValue.Create(d),
            _ => throw new ArgumentException($"Unsupported default type {defaultValue.GetType()}.", nameof(defaultValue)),
        };
        if (node is null && !Nullable && Kind != SchedulerOptionKind.NumberArray)
            throw new ArgumentException($"Option '{Key}' cannot default to null.", nameof(defaultValue));
        if (node is not null) _ = Normalize(node, "default");
        return new SchedulerOption(Key, Kind, node, Nullable, AllowedValues?.ToArray());
    }

    /// <summary>
    /// Checks a value and returns it in canonical form (choices matched case-insensitively and returned as
    /// declared; integers written as integers). Throws <see cref="ArgumentException"/> naming the key, the
    /// value and what is allowed.
    /// </summary>
    public JsonNode? Normalize(JsonNode? value, string source)
    {
        if (value is null)
        {
            if (Nullable) return null;
            throw Invalid(value, source);
        }
        var kind = value.GetValueKind();
        switch (Kind)
        {
            case SchedulerOptionKind.Integer:
                if (kind == JsonValueKind.Number)
                {
                    double d = SchedulerOptions.ToDouble(value);
                    if (d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue) return JsonValue.Create((int)d);
                }
                throw Invalid(value, source);
            case SchedulerOptionKind.Number:
                if (kind == JsonValueKind.Number) return JsonValue.Create(SchedulerOptions.ToDouble(value));
                // diffusers' JSON writer stores non-finite floats as strings ("-Infinity", "NaN").
                if (kind == JsonValueKind.String && value.GetValue<string>() is "Infinity" or "-Infinity" or "NaN")
                    return JsonValue.Create(value.GetValue<string>());
                throw Invalid(value, source);
            case SchedulerOptionKind.Boolean:
                if (kind is JsonValueKind.True or JsonValueKind.False) return JsonValue.Create(kind == JsonValueKind.True);
                throw Invalid(value, source);
            case SchedulerOptionKind.Choice:
                if (kind == JsonValueKind.String)
                {
                    string s = value.GetValue<string>();
                    foreach (var allowed in AllowedValues!)
                        if (string.Equals(allowed, s, StringComparison.OrdinalIgnoreCase)) return JsonValue.Create(allowed);
                }
                throw Invalid(value, source);
            case SchedulerOptionKind.NumberArray:
            case SchedulerOptionKind.IntegerArray:
                if (value is JsonArray array)
                {
                    var copy = new JsonArray();
                    foreach (var item in array)
                    {
                        if (item is null || item.GetValueKind() != JsonValueKind.Number) throw Invalid(value, source);
                        double d = SchedulerOptions.ToDouble(item);
                        if (Kind == SchedulerOptionKind.IntegerArray)
                        {
                            if (d != Math.Floor(d)) throw Invalid(value, source);
                            copy.Add(JsonValue.Create((int)d));
                        }
                        else copy.Add(JsonValue.Create(d));
                    }
                    return copy;
                }
                throw Invalid(value, source);
            default:
                throw new InvalidOperationException($"Unknown option kind {Kind}.");
        }
    }

    /// <summary>What the option accepts, in words (for error messages and help).</summary>
    public string Describe() => Kind switch
    {
        SchedulerOptionKind.Integer => "an integer",
        SchedulerOptionKind.Number => "a number",
        SchedulerOptionKind.Boolean => "true or false",
        SchedulerOptionKind.Choice => "one of " + string.Join(", ", AllowedValues!.Select(v => $"\"{v}\"")),
        SchedulerOptionKind.NumberArray => "an array of numbers",
        SchedulerOptionKind.IntegerArray => "an array of integers",
        _ => Kind.ToString(),
    } + (Nullable ? " or null" : "");

    private ArgumentException Invalid(JsonNode? value, string source) =>
        new($"Scheduler option '{Key}' ({source}) must be {Describe()}; it is {value?.ToJsonString() ?? "null"}.", Key);

    public override string ToString() => $"{Key} = {Default?.ToJsonString() ?? "null"} ({Describe()})";
}
