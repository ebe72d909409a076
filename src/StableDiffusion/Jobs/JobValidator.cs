using System.Collections;
using System.Text.Json;
using System.Text.RegularExpressions;
using StableDiffusion.Imaging;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Jobs;

/// <summary>
/// Checks a job document and expands it into its render items. Every problem is collected — unknown or misspelled
/// keys (with the closest known key), wrong types and ranges, an unknown scheduler or option, an unreadable prompt
/// file or row, an output directory that cannot be written, names that collide — and reported together in one
/// <see cref="JobValidationException"/>, before any model is loaded. Only small files are read here (model_index.json,
/// the scheduler configuration, the prompt file); no ONNX session is created.
/// </summary>
public static partial class JobValidator
{
    private static readonly string[] Providers = ["Auto", "Cpu", "Cuda"];
    private static readonly string[] Precisions = ["Auto", "Float16", "Float32"];

    /// <summary>Validates and expands <paramref name="document"/>.</summary>
    /// <exception cref="JobValidationException">The job has problems; the exception lists all of them.</exception>
    public static RenderJob Validate(JobDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var problems = new JobProblems(document);
        var top = new JobTable(document.Root, "", JobKeys.TopLevel, problems, misplaced: TopLevelHint);

        // The model: read its small files only (index, component list, scheduler configuration).
        ModelFolder? model = null;
        SchedulerConfig? schedulerConfig = null;
        string? modelPath = top.String(JobKeys.Model, required: true, ": the folder of a diffusers ONNX export (the one holding model_index.json)");
        if (modelPath is not null)
        {
            try
            {
                model = ModelFolder.Open(Resolve(document, modelPath));
                schedulerConfig = ModelSchedulerConfig.Load(model.SchedulerConfigPath, checkClassName: false); // the job may name its own
            }
            catch (ModelLoadException e) { top.Add(top.Where(JobKeys.Model), e.Message); model = null; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException)
            {
                top.Add(top.Where(JobKeys.Model), $"The model's scheduler configuration cannot be read: {e.Message}");
                model = null;
            }
        }

        VaeFolder? vae = null;
        if (top.String(JobKeys.Vae) is { } vaePath)
        {
            try { vae = VaeFolder.Open(Resolve(document, vaePath)); }
            catch (ModelLoadException e) { top.Add(top.Where(JobKeys.Vae), e.Message); }
        }

        var provider = top.Choice(JobKeys.Provider, Providers) is { } p ? Enum.Parse<ExecutionProvider>(p) : ExecutionProvider.Auto;
        int deviceId = top.Int(JobKeys.DeviceId, 0, 64) ?? 0;
        var precision = top.Choice(JobKeys.Precision, Precisions) is { } pr ? Enum.Parse<ModelPrecision>(pr) : ModelPrecision.Auto;
        string? slicing = ReadAttentionSlicing(top);
        bool vaeSlicing = top.Bool(JobKeys.VaeSlicing) ?? false;
        var scheduler = ReadScheduler(top, schedulerConfig);
        int batchSize = top.Int(JobKeys.BatchSize, 1, GenerationLimits.MaxBatchSize) ?? 1;
        var loras = JobAdapterReader.ReadLoras(top, model);
        var loraFolders = JobAdapterReader.ReadLoraFolders(top);
        var embeddings = JobAdapterReader.ReadEmbeddings(top);
        var adapters = new RenderAdapters(loras, embeddings);

        var images = new SourceImageCache(); // each input file read once, whichever prompts name it
        var defaults = new PromptSettings();
        if (top.Has(JobKeys.Defaults))
        {
            if (top.Raw(JobKeys.Defaults) is IDictionary d)
                defaults = ReadSettings(new JobTable(d, top.Where(JobKeys.Defaults), JobKeys.DefaultsLevel, problems, DefaultsHint), schedulerConfig, images);
            else
                top.Add(top.Where(JobKeys.Defaults), $"Defaults must be a table of settings (@{{ Steps = 30; Seeds = '1-4' }}); it is {JobTable.Describe(top.Raw(JobKeys.Defaults))}.");
        }

        var entries = new List<PromptEntry>();
        if (top.Has(JobKeys.Prompts)) ReadPrompts(top, schedulerConfig, images, problems, entries);
        if (top.String(JobKeys.PromptFile) is { } promptFile)
            PromptFileReader.Read(Resolve(document, promptFile), top.Where(JobKeys.PromptFile), problems, schedulerConfig, images, entries);
        if (!top.Has(JobKeys.Prompts) && !top.Has(JobKeys.PromptFile))
            top.Add(JobKeys.Prompts, "The job has no prompts: give Prompts (a list of prompts or prompt tables), PromptFile (a .txt or .csv file), or both.");

        string? output = top.String(JobKeys.OutputDirectory, required: true, ": the folder the images go to (relative paths start at the job file's folder)");
        if (output is not null)
        {
            output = Resolve(document, output);
            if (WriteProblem(output) is { } why) top.Add(top.Where(JobKeys.OutputDirectory), why);
        }

        string templateText = top.String(JobKeys.NameTemplate) ?? FileNameTemplate.Default;
        FileNameTemplate? template = null;
        try
        {
            template = FileNameTemplate.Parse(templateText);
            if (ChangingToken().Match(templateText) is { Success: true } m)
            {
                top.Add(top.Where(JobKeys.NameTemplate),
                    $"NameTemplate uses {m.Value}, which changes from run to run; a job's names must stay the same so that a rerun finds the images already done. Use {{index}}, {{seed}}, {{prompt}}…");
                template = null;
            }
        }
        catch (ArgumentException e) { top.Add(top.Where(JobKeys.NameTemplate), JobProblems.Clean(e)); }

        var withoutSeeds = entries.Where(e => !defaults.Overlay(e.Settings).SeedsGiven).Select(e => e.Location).ToList();
        if (withoutSeeds.Count > 0)
        {
            problems.Add($"{JobKeys.Defaults}.{JobKeys.Seeds}",
                $"{Count(withoutSeeds.Count, "prompt")} ha{(withoutSeeds.Count == 1 ? "s" : "ve")} no seeds ({List(withoutSeeds)}): " +
                "give Seeds in Defaults or on each prompt, e.g. Seeds = '1-4' or Seeds = @(7, 42). Fixed seeds are what make a job resumable.");
        }

        // Image-to-image and inpainting settings must fit together (a mask needs an init image of its size…).
        foreach (var entry in entries)
        {
            var s = defaults.Overlay(entry.Settings);
            if (s.ImageFailed) continue;
            foreach (var problem in ImageTaskRules.Check(s.InitImage, s.Mask, s.Strength, s.MaskCropPadding, s.Steps ?? GenerationDefaults.Steps))
            {
                if (entry.InPromptFile) problems.AddElsewhere(entry.Location, problem.Message);
                else problems.Add(entry.Location, problem.Message);
            }
        }

        // Expansion needs a sound job (it would only repeat the problems above otherwise).
        List<RenderItem> items = [];
        if (problems.Count == 0)
        {
            // No problem means the model, its scheduler configuration, the template and the folder were all read.
            var jobScheduler = scheduler ?? new SchedulerChoice(schedulerConfig!.ClassName ?? "PNDMScheduler");
            items = Expand(entries, defaults, model!, vae, schedulerConfig!, jobScheduler, precision, template!, output!, adapters, problems);
        }

        if (problems.Count > 0)
        {
            var ordered = problems.List.Select((pr, i) => (pr, i)).OrderBy(x => x.pr.Line ?? int.MaxValue).ThenBy(x => x.i).Select(x => x.pr).ToList();
            throw new JobValidationException(document.Source, ordered);
        }

        return new RenderJob
        {
            Source = document.Source,
            ModelPath = model!.Path,
            ModelName = model.Name,
            VaePath = vae?.Path,
            Provider = provider,
            DeviceId = deviceId,
            Precision = precision,
            AttentionSlicing = slicing,
            VaeSlicing = vaeSlicing,
            Scheduler = scheduler ?? new SchedulerChoice(schedulerConfig!.ClassName ?? "PNDMScheduler"),
            OutputDirectory = output!,
            NameTemplate = templateText,
            BatchSize = batchSize,
            Items = items,
            Loras = loras,
            LoraFolders = loraFolders,
            Embeddings = embeddings,
        };
    }

    private static List<RenderItem> Expand(List<PromptEntry> entries, PromptSettings defaults, ModelFolder model, VaeFolder? vae,
        SchedulerConfig schedulerConfig, SchedulerChoice jobScheduler, ModelPrecision precision, FileNameTemplate template, string output, RenderAdapters adapters, JobProblems problems)
    {
        var items = new List<RenderItem>();
        var schedulers = new Dictionary<SchedulerChoice, (string Name, IReadOnlyDictionary<string, object?> Options)>(ReferenceEqualityComparer.Instance);
        (string, IReadOnlyDictionary<string, object?>) DescribeScheduler(SchedulerChoice choice)
        {
            if (!schedulers.TryGetValue(choice, out var d))
            {
                var s = SchedulerRegistry.Create(choice.Name, schedulerConfig, choice.Options);
                schedulers[choice] = d = (s.Name, StableDiffusionPipeline.SchedulerOverrides(s, schedulerConfig));
            }
            return d;
        }

        var stepsChecked = new HashSet<(SchedulerChoice, int)>();
        foreach (var entry in entries)
        {
            var s = defaults.Overlay(entry.Settings);
            if (s.Seeds is null) continue;
            int perPrompt = s.ImagesPerPrompt ?? GenerationDefaults.ImagesPerPrompt;
            // With an init image and no size, the pipeline takes the image's (as Invoke-SdGeneration leaves it to it).
            var (width, height) = ImageTaskRules.DefaultSize(s.InitImage, s.Mask, model.DefaultImageSize, model.VaeScaleFactor);
            var settings = new GenerationSettings
            {
                Steps = s.Steps ?? GenerationDefaults.Steps,
                GuidanceScale = (float)(s.GuidanceScale ?? GenerationDefaults.GuidanceScaleOf(model.Family)),
                GuidanceRescale = (float)(s.GuidanceRescale ?? GenerationDefaults.GuidanceRescale),
                Eta = (float)(s.Eta ?? GenerationDefaults.Eta),
                Width = s.Width ?? (s.InitImage is null ? width : null),
                Height = s.Height ?? (s.InitImage is null ? height : null),
                Scheduler = s.Scheduler,
                InitImage = s.InitImage,
                Mask = s.Mask,
                Strength = s.Strength,
                MaskCropPadding = s.MaskCropPadding,
                Conditioning = s.Conditioning,
                PromptSyntax = s.PromptSyntax ?? PromptSyntax.Plain,
                A1111 = s.A1111,
            }.WithFamilyStrength(model.Family);
            // The ranges Invoke-SdGeneration checks (guidance, η, the step count this scheduler supports…), checked alike here.
            try
            {
                settings.Validate();
                var choice = s.Scheduler ?? jobScheduler;
                if (stepsChecked.Add((choice, settings.Steps))) // once per scheduler and step count, not per prompt of a long file
                    SchedulerRegistry.Create(choice.Name, schedulerConfig, choice.Options).SetTimesteps(settings.Steps);
                if (settings.PromptSyntax == PromptSyntax.A1111) // the pipeline's own prompt check, before any model work
                    A1111PromptEncodingStage.Check(new ImageRequest(entry.Prompt, s.NegativePrompt, 0), settings.Steps, settings.A1111.Emphasis);
            }
            catch (Exception e) when (e is ArgumentException or Prompts.PromptSyntaxException)
            {
                if (entry.InPromptFile) problems.AddElsewhere(entry.Location, JobProblems.Clean(e));
                else problems.Add(entry.Location, JobProblems.Clean(e));
                continue;
            }
            (string schedulerName, var schedulerOptions) = DescribeScheduler(s.Scheduler ?? jobScheduler);
            string? pinned = precision switch { ModelPrecision.Float16 => "float16", ModelPrecision.Float32 => "float32", _ => null };
            try
            {
                foreach (var request in ImageRequests.ForPrompt(entry.Prompt, s.NegativePrompt, s.Prompt2, s.NegativePrompt2, s.Seeds, perPrompt, items.Count))
                {
                    var expected = ImageRequests.Parameters(request, settings, settings.Width ?? width, settings.Height ?? height,
                        schedulerName, schedulerOptions, model.Name, vae?.Name, pinned) with { Loras = adapters.LorasText };
                    items.Add(new RenderItem
                    {
                        Index = request.Index,
                        Source = entry.Location,
                        Request = request,
                        Settings = settings,
                        Expected = expected,
                        Identity = RenderIdentity.Compute(expected, adapters),
                        Path = template.Resolve(output, expected, DateTime.MinValue),
                    });
                }
            }
            catch (ArgumentException e) // a seed sequence past the largest seed, too many images, a text no PNG can hold
            {
                if (entry.InPromptFile) problems.AddElsewhere(entry.Location, JobProblems.Clean(e));
                else problems.Add(entry.Location, JobProblems.Clean(e));
            }
        }
        ReportRepeats(items, i => i.Identity, StringComparer.Ordinal, problems, (a, b) =>
            $"{Describe(b)} asks for the same image as {Describe(a)} (same prompt, seed and settings); remove one, or check for overlapping seed ranges.");
        ReportRepeats(items, i => i.FileName, StringComparer.OrdinalIgnoreCase, problems, (a, b) =>
            $"NameTemplate '{template.Template}' names both {Describe(a)} and {Describe(b)} '{a.FileName}'; add {{seed}} or {{index}} to the template.");
        return items;

        static string Describe(RenderItem i) => $"{i.Source} seed {i.Seed}";
    }

    private static void ReportRepeats(List<RenderItem> items, Func<RenderItem, string> key, StringComparer comparer, JobProblems problems,
        Func<RenderItem, RenderItem, string> message)
    {
        var seen = new Dictionary<string, RenderItem>(comparer);
        var repeats = new List<(RenderItem First, RenderItem Again)>();
        foreach (var item in items)
        {
            if (seen.TryGetValue(key(item), out var first)) repeats.Add((first, item));
            else seen[key(item)] = item;
        }
        foreach (var (first, again) in repeats.Take(3))
            problems.Add(again.Source, message(first, again));
        if (repeats.Count > 3)
            problems.Add(repeats[3].Again.Source, $"… and {repeats.Count - 3} more like the above.");
    }

    private static void ReadPrompts(JobTable top, SchedulerConfig? config, SourceImageCache images, JobProblems problems, List<PromptEntry> entries)
    {
        string where = top.Where(JobKeys.Prompts);
        object? raw = top.Raw(JobKeys.Prompts);
        IList list = raw switch
        {
            IList l => l,
            string or IDictionary => new object?[] { raw },
            _ => Array.Empty<object?>(),
        };
        if (raw is not (IList or string or IDictionary))
            top.Add(where, $"Prompts must be a list of prompts (@('a red fox', @{{ Prompt = 'a lighthouse'; Seeds = 3 }})); it is {JobTable.Describe(raw)}.");
        else if (list.Count == 0)
            top.Add(where, "Prompts is empty; give at least one prompt (or remove it and use PromptFile).");
        for (int i = 0; i < list.Count; i++)
        {
            string location = raw is IList ? $"{where}[{i}]" : where;
            switch (list[i])
            {
                case string s:
                    entries.Add(new PromptEntry(location, s, new PromptSettings()));
                    break;
                case IDictionary d:
                    var table = new JobTable(d, location, JobKeys.PromptLevel, problems, PromptHint);
                    string? prompt = table.String(JobKeys.Prompt, required: true, ": the text to render");
                    var settings = ReadSettings(table, config, images);
                    if (prompt is not null) entries.Add(new PromptEntry(location, prompt, settings));
                    break;
                default:
                    top.Add(location, $"A prompt must be text or a table with Prompt and its own settings; it is {JobTable.Describe(list[i])}.");
                    break;
            }
        }
    }

    /// <summary>Reads the optional settings of a prompt, of Defaults, or of a prompt file row.</summary>
    internal static PromptSettings ReadSettings(JobTable t, SchedulerConfig? config, SourceImageCache images)
    {
        bool imageFailed = false;
        var initImage = ReadImage(t, JobKeys.InitImage, "init image", images, ref imageFailed);
        var mask = ReadImage(t, JobKeys.Mask, "mask", images, ref imageFailed);
        List<long>? seeds = null;
        bool seedsGiven = t.Has(JobKeys.Seeds) && !(t.IsText && t.Raw(JobKeys.Seeds) is string { Length: 0 });
        if (seedsGiven)
            seeds = SeedList.Parse(t.Raw(JobKeys.Seeds), message => t.Add(t.Where(JobKeys.Seeds), message));
        return new PromptSettings
        {
            SeedsGiven = seedsGiven,
            NegativePrompt = OptionalText(t, JobKeys.NegativePrompt),
            Seeds = seeds,
            ImagesPerPrompt = t.Int(JobKeys.ImagesPerPrompt, 1, GenerationLimits.MaxImagesPerPrompt),
            Steps = t.Int(JobKeys.Steps, 1, 10_000),
            GuidanceScale = t.Number(JobKeys.GuidanceScale, _ => null),
            GuidanceRescale = t.Number(JobKeys.GuidanceRescale, v => v is < 0 or > 1 ? $"GuidanceRescale must be between 0 and 1; it is {v}." : null),
            Eta = t.Number(JobKeys.Eta, v => v < 0 ? $"Eta must be 0 or more; it is {v}." : null),
            Width = Size(t, JobKeys.Width),
            Height = Size(t, JobKeys.Height),
            Scheduler = ReadScheduler(t, config),
            InitImage = initImage,
            Mask = mask,
            ImageFailed = imageFailed,
            Strength = t.Number(JobKeys.Strength, v => v is < 0 or > 1 ? $"Strength must be between 0 and 1 (0 keeps the init image, 1 replaces it); it is {v}." : null),
            MaskCropPadding = t.Int(JobKeys.MaskCropPadding, 0, 16_384),
            Prompt2 = OptionalText(t, JobKeys.Prompt2),
            NegativePrompt2 = OptionalText(t, JobKeys.NegativePrompt2),
            Conditioning = new SdxlConditioning
            {
                ClipSkip = t.Int(JobKeys.ClipSkip, 0, 64),
                OriginalSize = Pair(t, JobKeys.OriginalSize, HeightWidth.Parse),
                CropTopLeft = Pair(t, JobKeys.CropTopLeft, TopLeft.Parse),
                TargetSize = Pair(t, JobKeys.TargetSize, HeightWidth.Parse),
                NegativeOriginalSize = Pair(t, JobKeys.NegativeOriginalSize, HeightWidth.Parse),
                NegativeCropTopLeft = Pair(t, JobKeys.NegativeCropTopLeft, TopLeft.Parse),
                NegativeTargetSize = Pair(t, JobKeys.NegativeTargetSize, HeightWidth.Parse),
                AestheticScore = t.Number(JobKeys.AestheticScore, _ => null),
                NegativeAestheticScore = t.Number(JobKeys.NegativeAestheticScore, _ => null),
            },
            PromptSyntax = t.Choice(JobKeys.PromptSyntax, Enum.GetNames<PromptSyntax>()) is { } syntax ? Enum.Parse<PromptSyntax>(syntax) : null,
            Emphasis = t.Choice(JobKeys.Emphasis, Enum.GetNames<Prompts.EmphasisMode>()) is { } emphasis ? Enum.Parse<Prompts.EmphasisMode>(emphasis) : null,
            PadCondUncond = t.Bool(JobKeys.PadCondUncond),
        };
    }

    /// <summary>A text setting where an empty CSV cell means "not given".</summary>
    private static string? OptionalText(JobTable t, string key) => t.IsText && t.Raw(key) is string { Length: 0 } ? null : t.String(key);

    /// <summary>An SDXL (height, width) or (top, left) pair: two numbers (@(1024, 1024), [1024, 1024]) or text '1024,1024'.</summary>
    private static T? Pair<T>(JobTable t, string key, Func<object, string, T> parse) where T : struct
    {
        if (!t.Has(key) || t.Raw(key) is not { } raw || (t.IsText && raw is string s && s.Trim().Length == 0)) return null;
        try
        {
            return parse(raw, key);
        }
        catch (FormatException e)
        {
            t.Add(t.Where(key), e.Message);
            return null;
        }
    }

    /// <summary>
    /// An init image or mask: the path resolved against the job file's folder and the file decoded now, so that a
    /// missing or unreadable file is a problem at its key (with its line) before any model loads.
    /// </summary>
    private static SourceImage? ReadImage(JobTable t, string key, string what, SourceImageCache images, ref bool failed)
    {
        if (!t.Has(key) || t.Raw(key) is null || (t.IsText && t.Raw(key) is string s && s.Trim().Length == 0)) return null;
        string? written = t.String(key);
        if (written is null)
        {
            failed = true;
            return null;
        }
        string path = Resolve(t.Problems.Document, written.Trim());
        try
        {
            return images.Load(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            t.Add(t.Where(key), $"The {what} '{path}' does not exist (a relative path starts at the job file's folder, '{t.Problems.Document.BaseDirectory}').");
        }
        catch (InvalidDataException e)
        {
            t.Add(t.Where(key), $"The {what} '{path}' cannot be used: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            t.Add(t.Where(key), $"The {what} '{path}' cannot be read: {e.Message}");
        }
        failed = true;
        return null;
    }

    private static int? Size(JobTable t, string key)
    {
        int? value = t.Int(key, 1, 16_384);
        if (value is null) return null;
        if (value % 8 != 0 || value < 8)
        {
            int lower = Math.Max(8, value.Value / 8 * 8);
            t.Add(t.Where(key), $"{key} must be a multiple of 8 (the VAE works on 8×8 pixel blocks); it is {value}. Try {lower} or {lower + 8}.");
            return null;
        }
        return value;
    }

    /// <summary>A scheduler by name, or a table with Name and diffusers options; checked against the model's configuration.</summary>
    private static SchedulerChoice? ReadScheduler(JobTable t, SchedulerConfig? config)
    {
        if (!t.Has(JobKeys.Scheduler) || t.Raw(JobKeys.Scheduler) is null || (t.IsText && t.Raw(JobKeys.Scheduler) is string { Length: 0 })) return null;
        string where = t.Where(JobKeys.Scheduler);
        SchedulerChoice choice;
        switch (t.Raw(JobKeys.Scheduler))
        {
            case string name:
                choice = new SchedulerChoice(name);
                break;
            case IDictionary table when !t.IsText:
                string? n = null;
                var options = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (DictionaryEntry e in table)
                {
                    string key = e.Key?.ToString() ?? "";
                    if (JobDocument.NormalizeKey(key) == "name") n = e.Value as string;
                    else options[key] = Plain(e.Value);
                }
                if (string.IsNullOrWhiteSpace(n))
                {
                    t.Add(where, "A scheduler table needs a Name, e.g. @{ Name = 'DPMSolverMultistep'; use_karras_sigmas = $true }.");
                    return null;
                }
                choice = new SchedulerChoice(n, options);
                break;
            default:
                t.Add(where, $"Scheduler must be a name ('DPM++ 2M Karras') or a table with Name and options; it is {JobTable.Describe(t.Raw(JobKeys.Scheduler))}.");
                return null;
        }
        try
        {
            SchedulerRegistry.Create(choice.Name, config, choice.Options);
            return choice;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            t.Add(where, JobProblems.Clean(e));
            return null;
        }
    }

    /// <summary>Option values as plain CLR values (lists as arrays, tables as dictionaries).</summary>
    private static object? Plain(object? value) => value switch
    {
        string s => s,
        IDictionary d => d.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => Plain(e.Value)),
        IList l => l.Cast<object?>().Select(Plain).ToArray(),
        _ => value,
    };

    private static string? ReadAttentionSlicing(JobTable t)
    {
        if (!t.Has(JobKeys.AttentionSlicing)) return null;
        object? raw = t.Raw(JobKeys.AttentionSlicing);
        switch (raw)
        {
            case null or false:
                return null;
            case true:
                return "auto";
            case string s when s.Equals("off", StringComparison.OrdinalIgnoreCase) || s.Equals("none", StringComparison.OrdinalIgnoreCase):
                return null;
            case string s when s.Equals("auto", StringComparison.OrdinalIgnoreCase) || s.Equals("max", StringComparison.OrdinalIgnoreCase):
                return s.ToLowerInvariant();
        }
        if (raw is not string && JobTable.AsInteger(raw, false) is long n && n is >= 1 and <= 1024) return n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        t.Add(t.Where(JobKeys.AttentionSlicing), $"AttentionSlicing must be Off, Auto, Max or a number of attention heads per slice; it is {JobTable.Describe(raw)}.");
        return null;
    }

    private static string? TopLevelHint(string key)
    {
        if (JobKeys.Canonical(key, JobKeys.DefaultsLevel) is { } d)
            return $"'{key}' belongs in Defaults (Defaults = @{{ {d} = … }}) or on a prompt, not at the top level of the job.";
        if (JobDocument.NormalizeKey(key) == "prompt")
            return "'Prompt' is not a top-level key: list the prompts under Prompts = @('…', '…').";
        return null;
    }

    private static string? DefaultsHint(string key)
    {
        if (JobDocument.NormalizeKey(key) == "prompt") return "Defaults holds settings, not a prompt: list prompts under Prompts.";
        if (JobKeys.Canonical(key, [JobKeys.Scheduler]) is not null) return "Scheduler is set at the top level of the job (or on one prompt), not in Defaults.";
        return JobKeys.Canonical(key, JobKeys.TopLevel) is { } top ? $"'{key}' belongs at the top level of the job, not in Defaults." : null;
    }

    private static string? PromptHint(string key) =>
        JobKeys.Canonical(key, JobKeys.TopLevel) is { } && JobKeys.Canonical(key, JobKeys.PromptLevel) is null
            ? $"'{key}' belongs at the top level of the job, not on a prompt." : null;

    /// <summary>A path of the job resolved against the job file's folder ('~' is the home folder, %VARIABLES% expand).</summary>
    internal static string Resolve(JobDocument document, string path)
    {
        path = Environment.ExpandEnvironmentVariables(path);
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
            path = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "");
        return Path.GetFullPath(Path.Combine(document.BaseDirectory, path));
    }

    /// <summary>Why images cannot be written to <paramref name="directory"/> (created later if missing), or null.</summary>
    internal static string? WriteProblem(string directory)
    {
        string? existing = directory;
        while (existing is not null && !Directory.Exists(existing))
        {
            if (File.Exists(existing))
                return existing == directory
                    ? $"'{directory}' is a file, not a folder."
                    : $"'{directory}' cannot be created: '{existing}' is a file.";
            existing = Path.GetDirectoryName(existing);
        }
        if (existing is null) return $"'{directory}' cannot be created: none of its parent folders exists.";
        string probe = Path.Combine(existing, $".sd-write-test-{Guid.NewGuid():N}.tmp");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return existing == directory
                ? $"'{directory}' is not writable: {e.Message}"
                : $"'{directory}' cannot be created: '{existing}' is not writable ({e.Message}).";
        }
    }

    private static string Count(int n, string what) => $"{n} {what}{(n == 1 ? "" : "s")}";

    private static string List(IEnumerable<string> items)
    {
        var all = items.ToList();
        return all.Count <= 3 ? string.Join(", ", all) : $"{string.Join(", ", all.Take(3))} and {all.Count - 3} more";
    }

    [GeneratedRegex(@"\{(date|time)(:[^{}]*)?\}", RegexOptions.IgnoreCase)]
    private static partial Regex ChangingToken();
}
