using Microsoft.ML.OnnxRuntime;

namespace StableDiffusion.Models;

/// <summary>
/// Creates ONNX Runtime's process-wide environment with a logging callback, so that what the native
/// library only logs (e.g. which CUDA library failed to load) can be read back and put into our errors
/// instead of being printed to the console.
/// </summary>
public static class OrtLog
{
    private const int Capacity = 200;
    private static readonly object Gate = new();
    private static readonly LinkedList<string> Recent = new();
    private static readonly Lazy<OrtEnv> Environment = new(Create, isThreadSafe: true);

    // Held in a static field: the native side keeps calling this delegate for the life of the process.
    private static readonly DOrtLoggingFunction Callback = OnLog;

    /// <summary>The shared environment; every session of this library is created after this.</summary>
    public static OrtEnv Env => Environment.Value;

    /// <summary>Raised for every native warning or error (the cmdlets forward them as verbose output).</summary>
    public static event Action<OrtLoggingLevel, string>? MessageLogged;

    /// <summary>A sequence number that grows with every message, to read only what followed an action.</summary>
    public static long Position { get; private set; }

    /// <summary>The messages logged since <paramref name="position"/> (as far as the ring buffer still holds them).</summary>
    public static IReadOnlyList<string> Since(long position)
    {
        lock (Gate)
        {
            long skip = Math.Max(0, Recent.Count - (Position - position));
            return Recent.Skip((int)skip).ToArray();
        }
    }

    private static OrtEnv Create()
    {
        if (OrtEnv.IsCreated)
            return OrtEnv.Instance(); // another component of the process created it first; use it as it is
        var options = new EnvironmentCreationOptions
        {
            logId = "StableDiffusion",
            logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
            loggingFunction = Callback,
        };
        return OrtEnv.CreateInstanceWithOptions(ref options);
    }

    private static void OnLog(IntPtr param, OrtLoggingLevel severity, string category, string logId, string codeLocation, string message)
    {
        lock (Gate)
        {
            Recent.AddLast(message);
            if (Recent.Count > Capacity) Recent.RemoveFirst();
            Position++;
        }
        MessageLogged?.Invoke(severity, message);
    }
}
