namespace StableDiffusion.Pipeline;

/// <summary>
/// The one declaration of each generation setting's default (diffusers' pipeline defaults): the cmdlets, render jobs,
/// PNG metadata and Get-SdImageInfo read these rather than repeating the numbers.
/// </summary>
public static class GenerationDefaults
{
    /// <summary><c>num_inference_steps</c>.</summary>
    public const int Steps = 50;

    /// <summary><c>guidance_scale</c> (SD 1.x/2.x).</summary>
    public const float GuidanceScale = 7.5f;

    /// <summary><c>eta</c> (DDIM; 0 = deterministic).</summary>
    public const float Eta = 0f;

    /// <summary><c>guidance_rescale</c> (0 = off).</summary>
    public const float GuidanceRescale = 0f;

    /// <summary><c>num_images_per_prompt</c>.</summary>
    public const int ImagesPerPrompt = 1;

    /// <summary>Images sent through the UNet together.</summary>
    public const int BatchSize = 1;

    /// <summary><c>guidance_scale</c> of the SDXL pipelines.</summary>
    public const float SdxlGuidanceScale = 5.0f;

    /// <summary>The <c>guidance_scale</c> default of a model family's diffusers pipelines.</summary>
    public static float GuidanceScaleOf(Models.ModelFamily family) =>
        family == Models.ModelFamily.StableDiffusionXL ? SdxlGuidanceScale : GuidanceScale;

    /// <summary><c>StableDiffusionXLImg2ImgPipeline</c>'s default <c>strength</c> (the refiner's light touch).</summary>
    public const double SdxlImg2ImgStrength = 0.3;

    /// <summary>
    /// The strength default of a family's image-to-image pipeline (SDXL 0.3, SD 1.x/2.x 0.8); inpainting's is
    /// <see cref="InpaintStrength"/> for both.
    /// </summary>
    public static double Img2ImgStrengthOf(Models.ModelFamily family) =>
        family == Models.ModelFamily.StableDiffusionXL ? SdxlImg2ImgStrength : Img2ImgStrength;

    /// <summary>SDXL refiner <c>aesthetic_score</c>.</summary>
    public const double AestheticScore = 6.0;

    /// <summary>SDXL refiner <c>negative_aesthetic_score</c>.</summary>
    public const double NegativeAestheticScore = 2.5;

    /// <summary><c>StableDiffusionImg2ImgPipeline</c>'s default <c>strength</c>.</summary>
    public const double Img2ImgStrength = 0.8;

    /// <summary><c>StableDiffusionInpaintPipeline</c>'s default <c>strength</c>.</summary>
    public const double InpaintStrength = 1.0;
}
