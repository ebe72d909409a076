using System.Collections;
using System.Text.Json.Nodes;

namespace StableDiffusion.Schedulers;

/// <summary>
/// The config keys one scheduler class accepts, with their class defaults. Resolving a <see cref="SchedulerConfig"/>
/// against it validates every declared key, fills the missing ones with the class default (diffusers'
/// <c>from_config</c>) and ignores keys the class does not take (as diffusers does, e.g. <c>skip_prk_steps</c> on Euler).
/// </summary>
public sealed class SchedulerOptionSet : IReadOnlyList<SchedulerOption>
{
    private readonly List<SchedulerOption> _options = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    public SchedulerOptionSet() { }

    public SchedulerOptionSet(IEnumerable<SchedulerOption> options)
    {
        foreach (var option in options) Add(option);
    }

    /// <summary>Adds an option, or replaces the one with the same key (so shared sets can be refined).</summary>
    public SchedulerOptionSet Add(SchedulerOption option)
    {
        if (_index.TryGetValue(option.Key, out int i)) _options[i] = option;
        else { _index[option.Key] = _options.Count; _options.Add(option); }
        return this;
    }

    public SchedulerOptionSet Add(IEnumerable<SchedulerOption> options)
    {
        foreach (var option in options) Add(option);
        return this;
    }

    /// <summary>Changes the default of an already declared key.</summary>
    public SchedulerOptionSet WithDefault(string key, object? defaultValue) => Add(Get(key).WithDefault(defaultValue));

    public SchedulerOption Get(string key) =>
        TryGet(key, out var option) ? option : throw new KeyNotFoundException($"Option '{key}' is not declared.");

    public bool TryGet(string key, out SchedulerOption option)
    {
        if (_index.TryGetValue(key, out int i)) { option = _options[i]; return true; }
        option = null!;
        return false;
    }

    public bool Contains(string key) => _index.ContainsKey(key);

    public int Count => _options.Count;
    public SchedulerOption this[int index] => _options[index];
    public IEnumerator<SchedulerOption> GetEnumerator() => _options.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// Validates user overrides strictly: every key must be declared here and every value legal.
    /// Throws <see cref="ArgumentException"/> naming the key and what is accepted.
    /// </summary>
    public void ValidateOverrides(string schedulerName, IEnumerable<KeyValuePair<string, object?>> overrides)
    {
        foreach (var (key, value) in overrides)
        {
            if (!TryGet(key, out var option))
            {
                throw new ArgumentException(
                    $"{schedulerName} has no option '{key}'. Its options are: {string.Join(", ", _options.Select(o => o.Key))}.", key);
            }
            var node = SchedulerConfig.Empty.With(key, value).GetNode(key);
            option.Normalize(node, "override");
        }
    }

    /// <summary>
    /// Resolves a configuration: declared keys take the config value (validated) or the class default; other keys are
    /// kept in <see cref="SchedulerOptions.Effective"/> untouched but have no effect.
    /// </summary>
    public SchedulerOptions Resolve(SchedulerConfig config)
    {
        var values = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var effective = new List<KeyValuePair<string, object?>>();
        foreach (var option in _options)
        {
            JsonNode? value;
            if (config.Contains(option.Key))
            {
                var raw = config.GetNode(option.Key);
                // A JSON null for a key that cannot be None means "use the default" (some exported configs write nulls).
                value = raw is null && !option.Nullable ? option.Default?.DeepClone() : option.Normalize(raw, "config");
            }
            else
            {
                value = option.Default?.DeepClone();
            }
            values[option.Key] = value;
            effective.Add(new(option.Key, value?.DeepClone()));
        }
        return new SchedulerOptions(values, config.With(effective));
    }
}
