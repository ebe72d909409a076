using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StableDiffusion.Imaging;

namespace StableDiffusion.Jobs;

/// <summary>
/// An image's identity: a SHA-256 of everything that decides its pixels — model, VAE, precision (when pinned),
/// scheduler class and options, prompt, negative prompt, seed, steps, guidance, guidance rescale, η and size, and for
/// image-to-image and inpainting the SHA-256 of the init image's and the mask's pixels, the strength and the mask crop
/// padding (keys present only then, so text-to-image identities are those of version 1), and the SDXL settings that are set
/// (prompt_2, negative_prompt_2, clip_skip, size conditioning, aesthetic scores), and the job's LoRAs (file SHA-256 and weights) and embeddings (file SHA-256 and token) when it has any — in a canonical JSON form.
/// Input images count by their pixels, not their file names: a changed file renders again, a renamed one does not. Not the file name nor the index: the same image keeps its identity when the job is
/// reordered, and any change to what it depends on gives a new one.
/// </summary>
public static class RenderIdentity
{
    /// <summary>Bumped when the canonical form changes, so old outputs are rendered again rather than trusted.</summary>
    public const int Version = 1;

    /// <summary>The identity: 32 lower-case hex digits (128 bits of SHA-256).</summary>
    public static string Compute(GenerationParameters p, RenderAdapters? adapters = null) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Canonical(p, adapters))), 0, 16).ToLowerInvariant();

    /// <summary>The canonical text that is hashed: fixed key order, sorted scheduler options, "" for no negative prompt.</summary>
    public static string Canonical(GenerationParameters p, RenderAdapters? adapters = null)
    {
        var o = new JsonObject
        {
            ["v"] = Version,
            ["model"] = p.Model,
            ["vae"] = p.Vae,
            ["precision"] = p.Precision,
            ["scheduler"] = p.Scheduler,
            ["scheduler_options"] = CanonicalOptions(p.SchedulerOptions),
            ["prompt"] = p.Prompt,
            ["negative_prompt"] = p.NegativePrompt ?? "",
            ["seed"] = p.Seed,
            ["steps"] = p.Steps,
            ["guidance_scale"] = p.GuidanceScale,
            ["guidance_rescale"] = p.GuidanceRescale,
            ["eta"] = p.Eta,
            ["width"] = p.Width,
            ["height"] = p.Height,
        };
        if (p.InitImage is { } init) o["init_image_sha256"] = init.Sha256;
        if (p.Mask is { } mask) o["mask_sha256"] = mask.Sha256;
        if (p.Strength is { } strength) o["strength"] = strength;
        if (p.MaskCropPadding is { } padding) o["mask_crop_padding"] = padding;
        p.AddSdxlJson(o); // SDXL keys only when set: SD 1.x/2.x identities stay those of version 1
        // LoRAs and embeddings by file content and weights, only when the job has them (identities without stay those of version 1).
        if (adapters is { Loras.Count: > 0 })
            o["loras"] = new JsonArray(adapters.Loras.Select(l => (JsonNode)new JsonObject
                { ["sha256"] = l.Sha256, ["weight"] = l.Entry.Weight, ["text_encoder_weight"] = l.Entry.TextEncoderWeight }).ToArray());
        if (adapters is { Embeddings.Count: > 0 })
            o["embeddings"] = new JsonArray(adapters.Embeddings.Select(e => (JsonNode)new JsonObject { ["sha256"] = e.Sha256, ["token"] = e.Token }).ToArray());
        return o.ToJsonString();
    }

    /// <summary>Scheduler options in ordinal key order with JSON values, so equal options compare equal as text.</summary>
    public static JsonObject CanonicalOptions(IReadOnlyDictionary<string, object?>? options)
    {
        var sorted = new JsonObject();
        foreach (var (key, value) in (options ?? new Dictionary<string, object?>()).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            sorted[key] = value is JsonNode n ? n.DeepClone() : JsonSerializer.SerializeToNode(value);
        return sorted;
    }
}
