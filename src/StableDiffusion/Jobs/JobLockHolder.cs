using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StableDiffusion.Jobs;

/// <summary>Who holds an output directory's lock: the content of the lock file.</summary>
public sealed record JobLockHolder
{
    public required int ProcessId { get; init; }

    /// <summary>When the holding process started (tells a live holder from a later process that got its id).</summary>
    public DateTime? ProcessStartUtc { get; init; }

    public required string Host { get; init; }
    public required string User { get; init; }

    /// <summary>The job file being run.</summary>
    public required string Job { get; init; }

    public required DateTime StartedUtc { get; init; }

    /// <summary>Last sign of life: the holder rewrites the lock regularly while it runs.</summary>
    public required DateTime HeartbeatUtc { get; init; }

    /// <summary>Random per run: tells this run's lock from any other.</summary>
    public required string Token { get; init; }

    public bool IsOnThisHost => string.Equals(Host, Environment.MachineName, StringComparison.OrdinalIgnoreCase);

    /// <summary>"process 4242 on host 'render01' (user ann), job 'nightly.psd1', started …".</summary>
    public string Describe(DateTime nowUtc) =>
        $"process {ProcessId} on host '{Host}' (user {User}), job '{Job}', started {StartedUtc.ToLocalTime():yyyy-MM-dd HH:mm:ss}, " +
        $"last active {Ago(nowUtc - HeartbeatUtc)} ago";

    internal static string Ago(TimeSpan t) =>
        t.TotalSeconds < 90 ? $"{Math.Max(0, t.TotalSeconds):0} s" : t.TotalMinutes < 90 ? $"{t.TotalMinutes:0} min" : $"{t.TotalHours:0.#} h";

    public string ToJson() => new JsonObject
    {
        ["pid"] = ProcessId,
        ["process_start"] = ProcessStartUtc?.ToString("o", CultureInfo.InvariantCulture),
        ["host"] = Host,
        ["user"] = User,
        ["job"] = Job,
        ["started"] = StartedUtc.ToString("o", CultureInfo.InvariantCulture),
        ["heartbeat"] = HeartbeatUtc.ToString("o", CultureInfo.InvariantCulture),
        ["token"] = Token,
    }.ToJsonString();

    /// <summary>Reads a lock file's content; null when it is not a complete lock record.</summary>
    public static JobLockHolder? TryParse(string json)
    {
        try
        {
            if (JsonNode.Parse(json) is not JsonObject o) return null;
            return new JobLockHolder
            {
                ProcessId = o["pid"]!.GetValue<int>(),
                ProcessStartUtc = o["process_start"] is JsonValue ps ? Time(ps.GetValue<string>()) : null,
                Host = o["host"]!.GetValue<string>(),
                User = o["user"]?.GetValue<string>() ?? "?",
                Job = o["job"]?.GetValue<string>() ?? "?",
                StartedUtc = Time(o["started"]!.GetValue<string>()),
                HeartbeatUtc = Time(o["heartbeat"]!.GetValue<string>()),
                Token = o["token"]!.GetValue<string>(),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NullReferenceException)
        {
            return null;
        }
    }

    private static DateTime Time(string s) => DateTime.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind).ToUniversalTime();
}
