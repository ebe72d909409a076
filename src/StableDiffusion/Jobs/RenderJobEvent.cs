using System.Globalization;
using System.Text.Json.Nodes;

namespace StableDiffusion.Jobs;

/// <summary>What happened during a job run, for the JSON-lines log and for people (<see cref="Message"/>).</summary>
public sealed record RenderJobEvent
{
    /// <summary>start, takeover, cleanup, load, render, retry, fail, warning, end.</summary>
    public required string Kind { get; init; }

    public DateTime TimeUtc { get; init; } = DateTime.UtcNow;

    /// <summary>One line for a transcript: "render 3/12 0003-12.png seed 12 (1.2 s)".</summary>
    public required string Message { get; init; }

    public RenderItem? Item { get; init; }
    public int? Attempt { get; init; }
    public TimeSpan? Elapsed { get; init; }
    public string? Error { get; init; }

    /// <summary>Further fields for the log (counts, the replaced lock's holder…).</summary>
    public IReadOnlyDictionary<string, object?>? Data { get; init; }

    /// <summary>The event as one JSON object (one line of the log).</summary>
    public string ToJson()
    {
        var o = new JsonObject
        {
            ["time"] = TimeUtc.ToString("o", CultureInfo.InvariantCulture),
            ["event"] = Kind,
        };
        if (Item is not null)
        {
            o["index"] = Item.Index;
            o["file"] = Item.FileName;
            o["id"] = Item.Identity;
            o["seed"] = Item.Seed;
            o["prompt"] = Item.Prompt;
            o["source"] = Item.Source;
        }
        if (Attempt is not null) o["attempt"] = Attempt;
        if (Elapsed is not null) o["seconds"] = Math.Round(Elapsed.Value.TotalSeconds, 3);
        if (Error is not null) o["error"] = Error;
        foreach (var (key, value) in Data ?? new Dictionary<string, object?>())
            o[key] = value is JsonNode n ? n.DeepClone() : System.Text.Json.JsonSerializer.SerializeToNode(value);
        o["message"] = Message;
        return o.ToJsonString(LogJson);
    }

    // Prompts stay readable in the log: no \u escapes for quotes, apostrophes or non-ASCII text (the file is UTF-8).
    private static readonly System.Text.Json.JsonSerializerOptions LogJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The transcript line: local time, then the message.</summary>
    public override string ToString() => $"{TimeUtc.ToLocalTime():yyyy-MM-dd HH:mm:ss} {Message}";
}
