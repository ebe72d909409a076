using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>The batching and retrying Invoke-SdGeneration and render jobs share.</summary>
public sealed class GenerationBatcherTests
{
    private static readonly GenerationSettings A = new() { Steps = 2 };
    private static readonly GenerationSettings B = new() { Steps = 3 };

    private sealed record Item(string Prompt, GenerationSettings Settings)
    {
        public ImageRequest Request => new(Prompt, null, 1);
    }

    private static GenerationResult Result(ImageRequest r, GenerationSettings s) => TestResults.Make(r, s);

    [Fact]
    public void BatchesConsecutiveItemsWithEqualSettingsUpToTheBatchSize()
    {
        Item[] items = [new("a", A), new("b", A), new("c", A), new("d", B), new("e", A with { })];
        var batches = GenerationBatcher<Item>.Batches(items, 2, i => i.Settings).Select(b => string.Concat(b.Select(i => i.Prompt))).ToList();
        Assert.Equal(["ab", "c", "d", "e"], batches);
    }

    [Fact]
    public void AFailedBatchIsRetriedImageByImageAndOnlyTheFailingImageFails()
    {
        var batcher = new GenerationBatcher<Item>(3, i => i.Settings);
        var log = new List<string>();
        int calls = 0;
        batcher.Render([new("a", A), new("b", A), new("c", A)], i => i.Request,
            (requests, settings) =>
            {
                calls++;
                if (requests.Count > 1 || requests[0].Prompt == "b") throw new InvalidOperationException("no");
                return requests.Select(r => Result(r, settings)).ToList();
            },
            deliver: (i, r, attempt) => { log.Add($"{i.Prompt} on attempt {attempt}"); r.Dispose(); },
            retrying: (i, _) => log.Add($"retry {i.Prompt}"),
            failed: (i, _, attempts) => log.Add($"{i.Prompt} failed after {attempts}"),
            isCancellation: e => e is OperationCanceledException, retryLoneImage: false);
        Assert.Equal(4, calls);
        Assert.Equal(["retry a", "a on attempt 2", "retry b", "b failed after 2", "retry c", "c on attempt 2"], log);
    }

    [Fact]
    public void ALoneImageIsRetriedOnlyWhenAsked()
    {
        foreach (bool retryLone in new[] { false, true })
        {
            var batcher = new GenerationBatcher<Item>(1, i => i.Settings);
            int calls = 0, attempts = 0;
            batcher.Render<GenerationResult>([new("a", A)], i => i.Request, (_, _) => { calls++; throw new InvalidOperationException("no"); },
                deliver: (_, _, _) => { }, retrying: (_, _) => { }, failed: (_, _, n) => attempts = n,
                isCancellation: e => e is OperationCanceledException, retryLoneImage: retryLone);
            Assert.Equal(retryLone ? (2, 2) : (1, 1), (calls, attempts));
        }
    }

    [Fact]
    public void CancellationIsNeverRetried()
    {
        var batcher = new GenerationBatcher<Item>(2, i => i.Settings);
        int calls = 0;
        Assert.Throws<OperationCanceledException>(() => batcher.Render<GenerationResult>([new("a", A), new("b", A)], i => i.Request,
            (_, _) => { calls++; throw new OperationCanceledException(); },
            deliver: (_, _, _) => { }, retrying: (_, _) => { }, failed: (_, _, _) => { },
            isCancellation: e => e is OperationCanceledException, retryLoneImage: true));
        Assert.Equal(1, calls);
    }
}
