using System.Globalization;
using System.Text;
using Node = StableDiffusion.Prompts.A1111ScheduleParser.Node;

namespace StableDiffusion.Prompts;

/// <summary>
/// A1111's prompt editing and alternation (<c>get_learned_conditioning_prompt_schedules</c>, v1.10.1):
/// <c>[from:to:when]</c>, <c>[to:when]</c>, <c>[from::when]</c>, <c>[a|b|…]</c>, nested. Since A1111 1.6 a
/// <c>when</c> written with a "." is a fraction of the steps and one without is a step number; the old rule
/// (<c>use_old_scheduling</c>: below 1 is a fraction) is available too.
/// </summary>
public static class A1111PromptSchedules
{
    /// <summary>
    /// The schedule of <paramref name="prompt"/>: one entry per distinct prompt text, in step order, the last ending at
    /// the step count. A prompt the grammar rejects is one entry holding the prompt unchanged, as in A1111.
    /// </summary>
    /// <param name="prompt">The prompt (one AND sub-prompt, or a whole prompt).</param>
    /// <param name="steps">The sampler steps (A1111's <c>base_steps</c>).</param>
    /// <param name="hiresSteps">
    /// The steps of a hires-fix second pass, or null: then integer steps count from <paramref name="steps"/> and
    /// fractions from 1.0 (a step number past the first pass, a fraction above 1), and the schedule spans the hires steps.
    /// </param>
    /// <param name="useOldScheduling">A1111's option "Use old prompt editing timelines".</param>
    /// <exception cref="PromptSyntaxException">A step such as <c>1e999</c> is infinite (A1111 raises OverflowError).</exception>
    public static IReadOnlyList<PromptScheduleEntry> Get(string prompt, int steps, int? hiresSteps = null, bool useOldScheduling = false)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (hiresSteps is < 0) throw new ArgumentOutOfRangeException(nameof(hiresSteps), hiresSteps, "The hires steps cannot be negative.");

        bool hires = hiresSteps is not null && !useOldScheduling;
        int totalSteps = hires ? hiresSteps!.Value : steps;
        int intOffset = hires ? steps : 0;
        double fractionOffset = hires ? 1.0 : 0.0;

        Node.Sequence? tree = A1111ScheduleParser.Parse(prompt);
        if (tree is null) return [new PromptScheduleEntry(totalSteps, prompt)];

        // collect_steps: each [..:when] contributes its step (if ≥ 1), each alternation every step 1..steps.
        var ends = new SortedSet<int> { totalSteps };
        var whenSteps = new Dictionary<Node.Scheduled, int>(ReferenceEqualityComparer.Instance);
        bool alternates = false;
        Visit(tree, node =>
        {
            if (node is Node.Scheduled s)
            {
                int when = WhenStep(prompt, s.When, totalSteps, intOffset, fractionOffset, useOldScheduling);
                whenSteps[s] = when;
                if (when >= 1) ends.Add(when);
            }
            else if (node is Node.Alternate) alternates = true;
        });
        if (alternates)
            for (int step = 1; step <= totalSteps; step++) ends.Add(step);

        var schedule = new List<PromptScheduleEntry>(ends.Count);
        foreach (int end in ends)
        {
            var text = new StringBuilder();
            Render(tree, end, whenSteps, text);
            schedule.Add(new PromptScheduleEntry(end, text.ToString()));
        }
        return schedule;
    }

    /// <summary>
    /// Index of the entry in effect at sampler step <paramref name="step"/> (A1111's <c>reconstruct_cond_batch</c>:
    /// the first entry with <c>step ≤ EndAtStep</c>, else the first entry).
    /// </summary>
    public static int ActiveIndex(IReadOnlyList<PromptScheduleEntry> schedule, int step)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        for (int i = 0; i < schedule.Count; i++)
            if (step <= schedule[i].EndAtStep) return i;
        return 0;
    }

    /// <summary>The step a <c>when</c> number stands for, already clamped to the step count as A1111 stores it.</summary>
    private static int WhenStep(string prompt, string number, int steps, int intOffset, double fractionOffset, bool useOldScheduling)
    {
        double v = double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (useOldScheduling) v = v < 1 ? v * steps : v;
        else if (number.Contains('.')) v = (v - fractionOffset) * steps;
        else v -= intOffset;

        // Python: min(steps, int(v)); int() of an infinity raises, of a NaN too.
        if (!double.IsFinite(v))
            throw new PromptSyntaxException(prompt, number,
                $"The prompt-editing step '{number}' is not a finite number. Write the step as a step number such as 10 or a fraction of the steps such as 0.5.");
        double truncated = Math.Truncate(v);
        return truncated >= steps ? steps : (int)Math.Max(truncated, int.MinValue);
    }

    private static void Visit(Node node, Action<Node> visit)
    {
        visit(node);
        switch (node)
        {
            case Node.Sequence seq:
                foreach (Node item in seq.Items) Visit(item, visit);
                break;
            case Node.Scheduled s:
                if (s.Before is not null) Visit(s.Before, visit);
                Visit(s.After, visit);
                break;
            case Node.Alternate a:
                foreach (Node option in a.Options) Visit(option, visit);
                break;
        }
    }

    /// <summary>A1111's AtStep transformer: the text of the tree at <paramref name="step"/>.</summary>
    private static void Render(Node node, int step, Dictionary<Node.Scheduled, int> whenSteps, StringBuilder text)
    {
        switch (node)
        {
            case Node.Literal literal:
                text.Append(literal.Text);
                break;
            case Node.Sequence seq:
                foreach (Node item in seq.Items) Render(item, step, whenSteps, text);
                break;
            case Node.Scheduled s:
                Node.Sequence? chosen = step <= whenSteps[s] ? s.Before : s.After;
                if (chosen is not null) Render(chosen, step, whenSteps, text);
                break;
            case Node.Alternate a:
                // Python's (step - 1) % n is never negative.
                int n = a.Options.Count;
                Render(a.Options[(((step - 1) % n) + n) % n], step, whenSteps, text);
                break;
        }
    }
}
