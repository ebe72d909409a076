using System.Text;

namespace StableDiffusion.Jobs;

/// <summary>
/// The JSON-lines log beside the outputs: one object per line, appended and flushed event by event, so a crash loses
/// at most the line being written. A line cut short by a crash is closed with a newline before the next run appends,
/// so every later line stays readable.
/// </summary>
public sealed class JobLog : IDisposable
{
    private readonly FileStream _stream;
    private readonly object _gate = new();

    public JobLog(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        if (_stream.Length > 0)
        {
            _stream.Seek(-1, SeekOrigin.End);
            bool endsWithNewline = _stream.ReadByte() == '\n';
            _stream.Seek(0, SeekOrigin.End);
            if (!endsWithNewline) _stream.WriteByte((byte)'\n');
        }
    }

    public string Path { get; }

    public void Write(RenderJobEvent e)
    {
        byte[] line = Encoding.UTF8.GetBytes(e.ToJson() + "\n");
        lock (_gate)
        {
            _stream.Write(line);
            _stream.Flush(flushToDisk: false);
        }
    }

    public void Dispose()
    {
        lock (_gate) _stream.Dispose();
    }
}
