using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;

/// <summary>
/// Peak memory of one generation with and without attention slicing: every configuration runs in its own child
/// process (this program started again), which reports its peak resident set (VmHWM from /proc/self/status) at the
/// end, so each peak is measured from a clean process. On CUDA the parent also samples the child's device memory with
/// nvidia-smi. The parent compares each sliced image with the unsliced one of the same batch.
/// </summary>
internal static class MemoryBench
{
    private static readonly string[] Slicings = ["Off", "Auto", "Max"];

    public static void Run(string model, ExecutionProvider provider, int size, int steps, int[] batches)
    {
        var rows = new List<(int Batch, string Slicing, ChildReport? Report, string? Error, double? MaxDiff)>();
        var work = Directory.CreateTempSubdirectory("sd-memory-bench-").FullName;
        try
        {
            foreach (int batch in batches)
            {
                float[]? reference = null;
                foreach (var slicing in Slicings)
                {
                    var imageFile = Path.Combine(work, $"b{batch}-{slicing}.f32");
                    var (report, error) = RunChild(model, provider, size, steps, batch, slicing, imageFile);
                    double? diff = null;
                    if (report is not null)
                    {
                        var pixels = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(imageFile)).ToArray();
                        if (slicing == "Off") reference = pixels;
                        if (reference is not null) diff = MaxAbs(reference, pixels);
                    }
                    rows.Add((batch, slicing, report, error, diff));
                    Console.Error.WriteLine($"batch {batch}, slicing {slicing}: {(report is null ? error : $"peak {report.PeakRssBytes / 1048576.0:F0} MiB")}");
                }
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        Console.WriteLine($"Peak memory of one generation, {Path.GetFileName(model.TrimEnd('/'))} at {size}x{size}, {steps} step(s), " +
            $"guidance 7.5 (UNet batch = 2 × images), {provider}; {Environment.ProcessorCount} logical CPUs; one process per row.");
        Console.WriteLine();
        bool device = rows.Any(r => r.Report?.PeakDeviceBytes is not null);
        Console.WriteLine("| images | attention slicing | peak RSS (MiB) | vs unsliced |" + (device ? " peak device (MiB) |" : "") +
            " UNet ms/call | time vs unsliced | max abs diff vs unsliced image |");
        Console.WriteLine("|---:|---|---:|---:|" + (device ? "---:|" : "") + "---:|---:|---:|");
        foreach (var row in rows)
        {
            if (row.Report is not { } r)
            {
                Console.WriteLine($"| {row.Batch} | {row.Slicing} | failed: {row.Error} |");
                continue;
            }
            var baseline = rows.FirstOrDefault(x => x.Batch == row.Batch && x.Slicing == "Off").Report;
            string Relative(double value, double? reference) =>
                reference is { } b && b > 0 ? $"{(value / b - 1) * 100:+0;-0;0} %" : "–";
            Console.WriteLine($"| {row.Batch} | {row.Slicing} | {r.PeakRssBytes / 1048576.0:F0} | {Relative(r.PeakRssBytes, baseline?.PeakRssBytes)} |" +
                (device ? $" {(r.PeakDeviceBytes is { } d ? (d / 1048576.0).ToString("F0", CultureInfo.InvariantCulture) : "–")} |" : "") +
                $" {r.UNetMsPerCall:F0} | {Relative(r.UNetMsPerCall, baseline?.UNetMsPerCall)} | {(row.MaxDiff is { } m ? m.ToString("G3", CultureInfo.InvariantCulture) : "–")} |");
        }
        Console.WriteLine();
        Console.WriteLine("Slicing: " + string.Join("; ", rows.Where(r => r.Report?.Slicing is not null).Select(r => r.Report!.Slicing).Distinct()));
    }

    /// <summary>The child: one generation, then its peak memory as one JSON line on stdout.</summary>
    public static void Child(string model, ExecutionProvider provider, int size, int steps, int batch, string slicing, string imageFile)
    {
        using var pipeline = StableDiffusionPipeline.Load(model, new PipelineOptions { ExecutionProvider = provider });
        string? described = null;
        if (slicing != "Off") described = pipeline.EnableAttentionSlicing(AttentionSliceSize.Parse(slicing)).Describe();
        long afterLoad = ReadStatus("VmRSS");
        var settings = new GenerationSettings { Steps = steps, Width = size, Height = size };
        var requests = Enumerable.Range(0, batch).Select(i => new ImageRequest("a photo of a cat", null, i, i)).ToArray();
        var wall = Stopwatch.StartNew();
        var results = pipeline.Generate(requests, settings);
        wall.Stop();
        var pixels = results.SelectMany(r => r.Pixels).ToArray();
        File.WriteAllBytes(imageFile, MemoryMarshal.AsBytes(pixels.AsSpan()).ToArray());
        var timings = results[0].Timings;
        var report = new ChildReport(ReadStatus("VmHWM"), afterLoad, null, timings.UNet.TotalMilliseconds / timings.Iterations,
            wall.Elapsed.TotalMilliseconds, described);
        Console.WriteLine("REPORT " + JsonSerializer.Serialize(report));
    }

    private static (ChildReport? Report, string? Error) RunChild(string model, ExecutionProvider provider, int size, int steps, int batch,
        string slicing, string imageFile)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Started as 'dotnet bench.dll': the child needs the assembly path too.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") start.ArgumentList.Add(typeof(MemoryBench).Assembly.Location);
        foreach (var a in new[] { "--memory-child", slicing, "--model", model, "--provider", provider.ToString(), "--size", size.ToString(CultureInfo.InvariantCulture),
            "--steps", steps.ToString(CultureInfo.InvariantCulture), "--batch", batch.ToString(CultureInfo.InvariantCulture), "--out", imageFile })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        long? devicePeak = null;
        while (!process.WaitForExit(100))
            if (provider != ExecutionProvider.Cpu && DeviceMemory(process.Id) is { } used)
                devicePeak = Math.Max(devicePeak ?? 0, used);
        var line = stdout.Result.Split('\n').FirstOrDefault(l => l.StartsWith("REPORT ", StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
        {
            var reason = process.ExitCode == 137 ? "killed (out of memory?)" : $"exit code {process.ExitCode}";
            var last = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
            return (null, $"{reason} {last}".Trim());
        }
        var report = JsonSerializer.Deserialize<ChildReport>(line["REPORT ".Length..])!;
        return (report with { PeakDeviceBytes = devicePeak }, null);
    }

    /// <summary>The device memory nvidia-smi reports for a process, sampled (null when unavailable).</summary>
    private static long? DeviceMemory(int pid)
    {
        try
        {
            var start = new ProcessStartInfo("nvidia-smi", "--query-compute-apps=pid,used_memory --format=csv,noheader,nounits")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var smi = Process.Start(start)!;
            var text = smi.StandardOutput.ReadToEnd();
            smi.WaitForExit();
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = line.Split(',', StringSplitOptions.TrimEntries);
                if (parts.Length == 2 && int.TryParse(parts[0], out var p) && p == pid && long.TryParse(parts[1], out var mib))
                    return mib * 1048576;
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
        return null;
    }

    internal static long ReadStatus(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
                return long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        throw new PlatformNotSupportedException($"/proc/self/status has no {key}; the memory benchmark needs Linux.");
    }

    private static double MaxAbs(float[] a, float[] b)
    {
        if (a.Length != b.Length) return double.PositiveInfinity;
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs((double)a[i] - b[i]));
        return worst;
    }

    internal sealed record ChildReport(long PeakRssBytes, long RssAfterLoadBytes, long? PeakDeviceBytes, double UNetMsPerCall,
        double GenerationMs, string? Slicing);
}
