using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace StableDiffusion.PowerShell.Support;

/// <summary>Tab completion for -SliceSize: Auto, Max and a few head counts.</summary>
public sealed class SliceSizeCompleter : IArgumentCompleter
{
    private static readonly (string Value, string Help)[] Values =
    [
        ("Auto", "Half the heads at a time (diffusers' default)"),
        ("Max", "One head at a time: the least memory"),
        ("1", "1 head per slice"),
        ("2", "2 heads per slice"),
        ("4", "4 heads per slice"),
    ];

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string typed = wordToComplete.Trim('\'', '"');
        foreach (var (value, help) in Values)
            if (value.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
                yield return new CompletionResult(value, value, CompletionResultType.ParameterValue, help);
    }
}
