namespace StableDiffusion.Imaging;

/// <summary>The Pillow resampling filters this port reproduces (values as PIL's <c>Image.Resampling</c>).</summary>
public enum PilFilter
{
    /// <summary><c>Image.LANCZOS</c>: windowed sinc, a = 3 (diffusers' <c>resample="lanczos"</c>).</summary>
    Lanczos = 1,

    /// <summary><c>Image.BICUBIC</c>: cubic convolution, a = −0.5; PIL's default for <c>resize</c> without a filter.</summary>
    Bicubic = 3,
}
