namespace StableDiffusion.Conversion;

/// <summary>
/// A model folder could not be converted; <see cref="Error"/> says why (so the cmdlet can pick the error category),
/// <see cref="Target"/> names the file or folder at fault, and the message says what to do. The destination is left as
/// it was before the conversion started.
/// </summary>
public sealed class Float16ConversionException : Exception
{
    public Float16ConversionException(Float16ConversionError error, string target, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
        Target = target;
    }

    public Float16ConversionError Error { get; }

    /// <summary>The path the error is about.</summary>
    public string Target { get; }
}

/// <summary>Why a float16 conversion failed.</summary>
public enum Float16ConversionError
{
    /// <summary>The destination is the source folder or lies inside it.</summary>
    DestinationIsSource,
    /// <summary>The destination existed before the conversion and holds files (and overwriting was not asked for).</summary>
    DestinationExists,
    /// <summary>The destination is a file, not a folder.</summary>
    DestinationIsFile,
    /// <summary>A source file is corrupt (not a valid ONNX graph, a missing external weight file…).</summary>
    CorruptSource,
    /// <summary>The disk holding the destination is full.</summary>
    DiskFull,
    /// <summary>The destination (or its parent) cannot be written: permissions or a read-only file system.</summary>
    AccessDenied,
    /// <summary>Another input/output failure.</summary>
    WriteFailed,
}
