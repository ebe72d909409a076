namespace StableDiffusion.Models;

/// <summary>Where the networks run.</summary>
public enum ExecutionProvider
{
    /// <summary>CUDA when its libraries load, else the CPU (with a warning).</summary>
    Auto,
    /// <summary>ONNX Runtime's CPU provider: works everywhere.</summary>
    Cpu,
    /// <summary>NVIDIA GPU through ONNX Runtime's CUDA provider (CUDA 13, cuDNN 9).</summary>
    Cuda,
    /// <summary>NVIDIA TensorRT 10 (nodes it cannot take run on CUDA): only when asked, and only where its libraries load.</summary>
    TensorRT,
}
