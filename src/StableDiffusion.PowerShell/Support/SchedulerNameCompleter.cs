using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using StableDiffusion.Schedulers;

namespace StableDiffusion.PowerShell.Support;

/// <summary>Tab completion for scheduler names: class names, short names and UI aliases (quoted when they hold spaces).</summary>
public sealed class SchedulerNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string typed = wordToComplete.Trim('\'', '"');
        foreach (var registration in SchedulerRegistry.Registrations)
        {
            foreach (var name in new[] { registration.ShortName, registration.ClassName }.Concat(registration.Aliases.Select(a => a.Name)).Distinct())
            {
                if (!name.StartsWith(typed, StringComparison.OrdinalIgnoreCase)) continue;
                string text = name.IndexOfAny([' ', '+', '(', ')', '\'', '#', ',', ';']) >= 0 ? $"'{name.Replace("'", "''")}'" : name;
                yield return new CompletionResult(text, name, CompletionResultType.ParameterValue, $"{registration.ClassName}: {registration.Summary}");
            }
        }
    }
}
