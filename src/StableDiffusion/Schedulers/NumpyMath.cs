namespace StableDiffusion.Schedulers;

/// <summary>
/// Elementwise numpy math functions whose results diffusers casts or compares in float32.
/// </summary>
public static class NumpyMath
{
    /// <summary><c>np.log</c> on a float32 array element.</summary>
    public static float LogFloat32(float x) => MathF.Log(x);
}
