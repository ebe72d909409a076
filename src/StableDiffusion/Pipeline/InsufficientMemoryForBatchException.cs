namespace StableDiffusion.Pipeline;

/// <summary>
/// A batch was refused before it ran: its estimated peak (<see cref="MemoryEstimate"/>) is more than its device has
/// available. The message gives both and the remedies that would help this batch.
/// </summary>
public sealed class InsufficientMemoryForBatchException : OutOfMemoryException
{
    public InsufficientMemoryForBatchException(string message, MemoryEstimate estimate, long available, string device) : base(message)
    {
        Estimate = estimate;
        Available = available;
        Device = device;
    }

    public MemoryEstimate Estimate { get; }

    /// <summary>Bytes the device had available.</summary>
    public long Available { get; }

    /// <summary>"the CPU" or "CUDA device 0".</summary>
    public string Device { get; }
}
