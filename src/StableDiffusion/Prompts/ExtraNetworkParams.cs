namespace StableDiffusion.Prompts;

/// <summary>
/// The arguments of one extra-network tag <c>&lt;name:a:b:...&gt;</c> (A1111 v1.10.1's <c>ExtraNetworkParams</c>):
/// <see cref="Items"/> is the text after the first ':' split at ':'; an item with exactly one '=' is named
/// (<c>te=0.5</c>), every other item positional, in order.
/// </summary>
public sealed class ExtraNetworkParams
{
    public ExtraNetworkParams(IReadOnlyList<string> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        Items = items;
        var positional = new List<string>();
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string item in items)
        {
            // Python's item.split('=', 2): named only when it gives exactly two parts; a later duplicate key wins.
            string[] parts = item.Split('=', 3);
            if (parts.Length == 2) named[parts[0]] = parts[1];
            else positional.Add(item);
        }
        Positional = positional;
        Named = named;
    }

    public IReadOnlyList<string> Items { get; }

    public IReadOnlyList<string> Positional { get; }

    public IReadOnlyDictionary<string, string> Named { get; }
}
