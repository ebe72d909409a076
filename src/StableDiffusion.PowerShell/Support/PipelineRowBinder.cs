using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Reflection;
using StableDiffusion.Jobs;
using StableDiffusion.Pipeline;

namespace StableDiffusion.PowerShell.Support;

/// <summary>
/// Binds a piped row (a PSCustomObject such as an Import-Csv record, or a hashtable) to a command's by-property-name
/// parameters itself, because PowerShell's binder fails silently: a value that does not convert leaves the parameter at
/// its default ('abc' steps → 50), a number is rounded ('1.5' → 2), an empty cell becomes 0, and a row without a Prompt
/// binds by value as its own text ('@{Promt=…}'). Here every column is converted by the shared rules of
/// <see cref="InputValues"/> (blank = not given, invariant text, whole numbers whole) and a column that does not convert
/// is a problem naming the row, the column and the value. Parameters given on the command line win, as in PowerShell.
/// </summary>
internal sealed class PipelineRowBinder
{
    private sealed record Column(PropertyInfo Property, string[] Names, Type Type, ArgumentTransformationAttribute[] Transformations);

    private readonly Column[] _columns;
    private readonly object?[] _notGiven;
    private readonly HashSet<string> _givenOnCommandLine;

    /// <summary>Reads the command's by-property-name parameters and their values now (after command-line binding): the values a row's blank cell leaves.</summary>
    public PipelineRowBinder(PSCmdlet command, ISet<string> givenOnCommandLine)
    {
        _givenOnCommandLine = new HashSet<string>(givenOnCommandLine, StringComparer.OrdinalIgnoreCase);
        _columns = ColumnsOf(command.GetType());
        _notGiven = _columns.Select(c => c.Property.GetValue(command)).ToArray();
    }

    private static readonly Dictionary<Type, Column[]> Cache = new();

    private static Column[] ColumnsOf(Type type)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue(type, out var known)) return known;
            var columns = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.GetCustomAttributes<ParameterAttribute>().Any(a => a.ValueFromPipelineByPropertyName))
                .Select(p => new Column(p,
                    [p.Name, .. p.GetCustomAttributes<AliasAttribute>().SelectMany(a => a.AliasNames)],
                    Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType,
                    p.GetCustomAttributes<ArgumentTransformationAttribute>().ToArray()))
                .ToArray();
            return Cache[type] = columns;
        }
    }

    /// <summary>Whether an input object is a row of named values (rather than a prompt or an object of this module).</summary>
    public static bool IsRow(object? input) =>
        (input is PSObject pso ? pso.BaseObject : input) is PSCustomObject or IDictionary;

    /// <summary>
    /// Sets the command's parameters from <paramref name="row"/>: each column's value, the command-line or default value
    /// where a cell is blank or missing. Returns the problems (none: the row is bound).
    /// </summary>
    /// <param name="rowNumber">The row's position among the piped rows, from 1 (what messages call it).</param>
    public List<RowProblem> Bind(PSCmdlet command, object row, int rowNumber)
    {
        var cells = CellsOf(row);
        var problems = new List<RowProblem>();
        for (int i = 0; i < _columns.Length; i++)
        {
            var column = _columns[i];
            if (_givenOnCommandLine.Contains(column.Property.Name)) continue;
            var cell = column.Names.Select(n => cells.FirstOrDefault(c => string.Equals(c.Name, n, StringComparison.OrdinalIgnoreCase)))
                .FirstOrDefault(c => c.Name is not null);
            object? raw = cell.Value is PSObject p ? p.BaseObject : cell.Value;
            if (cell.Name is null || raw is null || InputValues.IsBlank(raw))
            {
                if (column.Property.Name == "Prompt")
                {
                    problems.Add(cell.Name is null ? MissingPrompt(cells, rowNumber)
                        : new RowProblem($"Input row {rowNumber}: the '{cell.Name}' cell is empty; write the prompt or remove the row.", "RowPromptEmpty", ErrorCategory.InvalidData));
                    continue;
                }
                column.Property.SetValue(command, _notGiven[i]);
                continue;
            }
            var (ok, value) = Convert(column, raw, out string? why);
            if (ok)
                column.Property.SetValue(command, value);
            else
                problems.Add(new RowProblem(
                    $"Input row {rowNumber}, column '{cell.Name}': {InputValues.Describe(raw)} cannot be used for -{column.Property.Name}: {why}",
                    "RowValueInvalid", ErrorCategory.InvalidData));
        }
        return problems;
    }

    private static RowProblem MissingPrompt(List<(string Name, object? Value)> cells, int rowNumber)
    {
        string columns = cells.Count == 0 ? "none" : string.Join(", ", cells.Select(c => $"'{c.Name}'"));
        string? near = cells.Select(c => c.Name).FirstOrDefault(n => InputValues.ClosestName(n, ["Prompt"]) is not null);
        return new RowProblem(
            $"Input row {rowNumber} has no Prompt column (its columns: {columns}). " +
            (near is not null ? $"Did you mean 'Prompt' for '{near}'? Rename the column, " : "Add a Prompt column, ") +
            "or give -Prompt on the command line.", "RowPromptMissing", ErrorCategory.InvalidArgument);
    }

    private static List<(string Name, object? Value)> CellsOf(object row)
    {
        object? value = row is PSObject pso ? pso.BaseObject : row;
        if (value is IDictionary table)
            return table.Cast<DictionaryEntry>().Select(e => (e.Key?.ToString() ?? "", e.Value)).ToList();
        var wrapped = row as PSObject ?? PSObject.AsPSObject(row);
        return wrapped.Properties.Where(p => p.MemberType is PSMemberTypes.NoteProperty or PSMemberTypes.Property)
            .Select(p => (p.Name, (object?)p.Value)).ToList();
    }

    /// <summary>A cell's value as the parameter's type, or false with why not.</summary>
    private static (bool, object?) Convert(Column column, object raw, out string? why)
    {
        why = null;
        var type = column.Type;
        if (type == typeof(int) || type == typeof(long))
        {
            if (!InputValues.TryInteger(raw, out long n))
            {
                why = "write a whole number such as 20 (no decimals), or leave the cell empty for the default.";
                return (false, null);
            }
            if (type == typeof(int) && n is < int.MinValue or > int.MaxValue)
            {
                why = $"{n} is too large; the most is {int.MaxValue}.";
                return (false, null);
            }
            return (true, type == typeof(int) ? (object)(int)n : n);
        }
        if (type == typeof(double) || type == typeof(float))
        {
            // A number that is already one (NaN included) goes on as the command line would pass it: its range is the settings' check.
            if (raw is double or float)
                return (true, type == typeof(float) ? System.Convert.ToSingle(raw, CultureInfo.InvariantCulture) : System.Convert.ToDouble(raw, CultureInfo.InvariantCulture));
            if (!InputValues.TryNumber(raw, out double d))
            {
                why = "write a number such as 7.5 (with a dot), or leave the cell empty for the default.";
                return (false, null);
            }
            return (true, type == typeof(float) ? (object)(float)d : d);
        }
        if (type == typeof(long[]))
        {
            // Seeds follow the render jobs' rules: a number, a range ('100-109') or a list of them.
            string? problem = null;
            var seeds = SeedList.Parse(raw, m => problem ??= m);
            if (seeds is null)
            {
                why = problem;
                return (false, null);
            }
            return (true, seeds.ToArray());
        }
        if (type == typeof(string[]))
            return (true, raw is IEnumerable list and not string
                ? list.Cast<object?>().Select(v => System.Convert.ToString(v is PSObject p ? p.BaseObject : v, CultureInfo.InvariantCulture) ?? "").ToArray()
                : new[] { System.Convert.ToString(raw, CultureInfo.InvariantCulture) ?? "" });
        object? value = raw;
        try
        {
            foreach (var transformation in column.Transformations)
                value = transformation is RowTolerantTransformationAttribute strict ? strict.Convert(value) : value;
        }
        catch (ArgumentTransformationMetadataException e)
        {
            why = e.Message;
            return (false, null);
        }
        if (value is null) return (true, null);
        if (LanguagePrimitives.TryConvertTo(value, column.Property.PropertyType, CultureInfo.InvariantCulture, out object? converted))
            return (true, converted);
        why = type.IsEnum
            ? $"write one of {string.Join(", ", Enum.GetNames(type))}, or leave the cell empty for the default."
            : $"it does not convert to {type.Name}.";
        return (false, null);
    }
}
