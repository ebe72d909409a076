using StableDiffusion.Pipeline;
using StableDiffusion.Prompts;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>
/// The per-iteration assembly of A1111 conditionings on hand-made encodings (hidden size 1, so each token is one number):
/// entry choice per step, last-vector repetition within a batch, "" padding between the halves, one instance per distinct one.
/// </summary>
public sealed class ConditioningScheduleTests
{
    private static ScheduledConditioning Fixed(params float[] tokens) => new([new PromptScheduleEntry(20, "x")], [tokens]);

    [Fact]
    public void EachIterationTakesTheEntryInEffectAndReusesTheAssembledInstance()
    {
        var edited = new ScheduledConditioning([new PromptScheduleEntry(10, "a cat"), new PromptScheduleEntry(20, "a dog")], [[1f, 1f], [2f, 2f]]);
        var schedule = new ConditioningSchedule([edited], [Fixed(9f, 9f)], emptyPrompt: null, hiddenSize: 1);
        Assert.Equal([9f, 9f, 1f, 1f], schedule.At(0).HiddenStates);
        Assert.Same(schedule.At(0), schedule.At(10)); // step 10 ≤ end 10: still "a cat"
        Assert.Equal([9f, 9f, 2f, 2f], schedule.At(11).HiddenStates);
        Assert.Same(schedule.At(11), schedule.At(20));
        Assert.Equal(2, schedule.DistinctCount);
        Assert.Same(schedule, schedule.At(5).Schedule);
    }

    [Fact]
    public void ShorterImagesOfABatchRepeatTheirLastVector()
    {
        var schedule = new ConditioningSchedule([Fixed(1f, 2f), Fixed(3f, 4f, 5f, 6f)], uncond: null, emptyPrompt: null, hiddenSize: 1);
        var at = schedule.At(0);
        Assert.Equal(4, at.SequenceLength);
        Assert.Equal([1f, 2f, 2f, 2f, 3f, 4f, 5f, 6f], at.HiddenStates);
        Assert.False(at.Guided);
    }

    [Fact]
    public void UnevenHalvesStayUnevenWithoutPadding()
    {
        var at = new ConditioningSchedule([Fixed(1f, 2f, 3f, 4f)], [Fixed(7f, 8f)], emptyPrompt: null, hiddenSize: 1).At(0);
        Assert.True(at.HasUnevenHalves);
        Assert.Equal(2, at.UncondSequenceLength);
        Assert.Equal(4, at.SequenceLength);
        Assert.Equal([7f, 8f], at.Uncond.ToArray());
        Assert.Equal([1f, 2f, 3f, 4f], at.Cond.ToArray());
    }

    [Fact]
    public void PaddingAppendsWholeEmptyPromptEncodingsToTheShorterHalf()
    {
        // "" is 2 tokens here (A1111: 77); the negative is 2 short of the prompt's 6, the prompt 2 short in the second case.
        float[] empty = [0.5f, 0.25f];
        var padUncond = new ConditioningSchedule([Fixed(1f, 2f, 3f, 4f, 5f, 6f)], [Fixed(7f, 8f, 9f, 10f)], empty, hiddenSize: 1).At(0);
        Assert.False(padUncond.HasUnevenHalves);
        Assert.Equal([7f, 8f, 9f, 10f, 0.5f, 0.25f], padUncond.Uncond.ToArray());
        var padCond = new ConditioningSchedule([Fixed(1f, 2f)], [Fixed(7f, 8f, 9f, 10f)], empty, hiddenSize: 1).At(0);
        Assert.Equal([1f, 2f, 0.5f, 0.25f], padCond.Cond.ToArray());
        Assert.Equal(4, padCond.SequenceLength);
    }
}
