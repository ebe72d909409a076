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

    /// <summary>Last sign of life: the holder rewrites the lock regularly while it runs (MinValue: unreadable).</summary>
    public required DateTime HeartbeatUtc { get; init; }

    /// <summary>Random per run: tells this run's lock from any other.</summary>
    public required string Token { get; init; }

    public bool IsOnThisHost => string.Equals(Host, Environment.MachineName, StringComparison.OrdinalIgnoreCase);

    /// <summary>"process 4242 on host 'render01' (user ann), job 'nightly.psd1', started …".</summary>
    public string Describe(DateTime nowUtc) =>
        $"process {ProcessId} on host '{Host}' (user {User}), job '{Job}', started {(StartedUtc == DateTime.MinValue ? "?" : StartedUtc.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))}, " +
        (HeartbeatUtc == DateTime.MinValue ? "last active: unknown" : $"last active {Ago(nowUtc - HeartbeatUtc)} ago");

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
                ProcessStartUtc = o["process_start"] is JsonValue ps && Time(ps.GetValue<string>()) is var t && t != DateTime.MinValue ? t : null,
                Host = o["host"]!.GetValue<string>(),
                User = o["user"]?.GetValue<string>() ?? "?",
                Job = o["job"]?.GetValue<string>() ?? "?",
                // Lenient on times: the process and host are what matter to tell a dead holder (see JobLock).
                StartedUtc = Time(o["started"]?.GetValue<string>()),
                HeartbeatUtc = Time(o["heartbeat"]?.GetValue<string>()),
                Token = o["token"]!.GetValue<string>(),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NullReferenceException)
        {
            return null;
        }
    }

    /// <summary>A recorded time, or DateTime.MinValue when missing or unreadable.</summary>
    private static DateTime Time(string? s) =>
        DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t.ToUniversalTime() : DateTime.MinValue;
}
