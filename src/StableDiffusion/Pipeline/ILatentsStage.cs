namespace StableDiffusion.Pipeline;

/// <summary>
/// Stage 2, diffusers' <c>prepare_latents</c> (and for inpainting <c>prepare_mask_latents</c>): what differs between
/// text-to-image, image-to-image and inpainting. The denoise loop is the same for all.
/// </summary>
public interface ILatentsStage
{
    PreparedLatents Prepare(LatentsRequest request, CancellationToken cancellation);
}
