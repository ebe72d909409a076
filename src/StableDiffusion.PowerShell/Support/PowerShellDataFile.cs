using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation.Language;
using StableDiffusion.Jobs;

namespace StableDiffusion.PowerShell.Support;

/// <summary>
/// Reads a .psd1 job file as data, the way Import-PowerShellDataFile does — it is parsed, never run: only constants,
/// strings, arrays, hashtables and $true/$false/$null are allowed — into the plain tree the job validator reads,
/// remembering the line of every key. Every problem is reported with its key path and line.
/// </summary>
internal static class PowerShellDataFile
{
    /// <exception cref="JobValidationException">The file cannot be read, does not parse, or holds more than data.</exception>
    public static JobDocument Read(string path)
    {
        string name = System.IO.Path.GetFileName(path);
        ScriptBlockAst ast;
        ParseError[] errors;
        try
        {
            string text = File.ReadAllText(path);
            ast = Parser.ParseInput(text, path, out _, out errors);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JobValidationException(path, [new JobProblem(name, $"The job file cannot be read: {e.Message}")]);
        }
        if (errors.Length > 0)
            throw new JobValidationException(path, errors.Select(e => new JobProblem(name, e.Message, e.Extent.StartLineNumber)).ToList());

        var problems = new List<JobProblem>();
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        HashtableAst? root = null;
        if (ast.ParamBlock is null && ast.BeginBlock is null && ast.ProcessBlock is null && ast.DynamicParamBlock is null
            && ast.EndBlock is { Statements.Count: 1 } end && Expression(end.Statements[0]) is HashtableAst table)
            root = table;
        if (root is null)
            throw new JobValidationException(path, [new JobProblem(name, "A .psd1 job file holds exactly one hashtable: @{ Model = '…'; Prompts = @('…'); OutputDirectory = '…' }.")]);

        var tree = (IDictionary)Convert(root, "", lines, problems)!;
        if (problems.Count > 0) throw new JobValidationException(path, problems);
        return new JobDocument(tree, path, System.IO.Path.GetDirectoryName(path)!, lines);
    }

    /// <summary>The expression of a statement that is just a value (no command, no pipeline), else null.</summary>
    private static ExpressionAst? Expression(StatementAst statement) =>
        statement is PipelineAst { PipelineElements.Count: 1 } pipeline && pipeline.PipelineElements[0] is CommandExpressionAst { Redirections.Count: 0 } command
            ? command.Expression
            : null;

    private static object? Convert(Ast node, string path, Dictionary<string, int> lines, List<JobProblem> problems)
    {
        switch (node)
        {
            case StatementAst statement:
                if (Expression(statement) is { } expression) return Convert(expression, path, lines, problems);
                return Refuse(node, path, problems);
            case HashtableAst table:
            {
                var result = new OrderedDictionary(StringComparer.OrdinalIgnoreCase);
                foreach (var (keyAst, valueAst) in table.KeyValuePairs)
                {
                    string? key = keyAst switch
                    {
                        StringConstantExpressionAst s => s.Value,
                        ConstantExpressionAst c => System.Convert.ToString(c.Value, System.Globalization.CultureInfo.InvariantCulture),
                        _ => null,
                    };
                    if (key is null)
                    {
                        problems.Add(new JobProblem(path.Length == 0 ? "(top level)" : path, $"The key '{keyAst.Extent.Text}' is not a plain name; write keys as words (Steps = 20).", keyAst.Extent.StartLineNumber));
                        continue;
                    }
                    string keyPath = path.Length == 0 ? key : $"{path}.{key}";
                    lines.TryAdd(JobDocument.NormalizePath(keyPath), keyAst.Extent.StartLineNumber);
                    object? value = Convert(valueAst, keyPath, lines, problems);
                    if (result.Contains(key)) problems.Add(new JobProblem(keyPath, $"'{key}' is given twice; give it once.", keyAst.Extent.StartLineNumber));
                    else result.Add(key, value);
                }
                return result;
            }
            case ArrayExpressionAst array:
            {
                // @( a, b ) and @( a <newline> b ) both give a flat list, as PowerShell does.
                var list = new List<object?>();
                foreach (var statement in array.SubExpression.Statements)
                {
                    if (Expression(statement) is ArrayLiteralAst literal)
                        foreach (var element in literal.Elements) AddElement(list, element, path, lines, problems);
                    else
                        AddElement(list, statement, path, lines, problems);
                }
                return list;
            }
            case ArrayLiteralAst literal:
            {
                var list = new List<object?>();
                foreach (var element in literal.Elements) AddElement(list, element, path, lines, problems);
                return list;
            }
            case ParenExpressionAst paren:
                return Convert(paren.Pipeline, path, lines, problems);
            case StringConstantExpressionAst s:
                return s.Value;
            case ExpandableStringExpressionAst expandable:
                if (expandable.NestedExpressions.Count == 0) return expandable.Value;
                problems.Add(new JobProblem(path, $"{expandable.Extent.Text} expands variables, which a job file cannot do; use single quotes for text with a '$'.", expandable.Extent.StartLineNumber));
                return null;
            case ConstantExpressionAst constant:
                return constant.Value;
            default:
                try
                {
                    // $true, $false, $null, -5 and the like: what Import-PowerShellDataFile allows.
                    return node is ExpressionAst e ? e.SafeGetValue() : Refuse(node, path, problems);
                }
                catch (InvalidOperationException)
                {
                    return Refuse(node, path, problems);
                }
        }
    }

    private static void AddElement(List<object?> list, Ast element, string path, Dictionary<string, int> lines, List<JobProblem> problems)
    {
        string itemPath = $"{path}[{list.Count}]";
        lines.TryAdd(JobDocument.NormalizePath(itemPath), element.Extent.StartLineNumber);
        list.Add(Convert(element, itemPath, lines, problems));
    }

    private static object? Refuse(Ast node, string path, List<JobProblem> problems)
    {
        string text = node.Extent.Text.Length > 60 ? node.Extent.Text[..57] + "..." : node.Extent.Text;
        problems.Add(new JobProblem(path.Length == 0 ? "(top level)" : path,
            $"'{text}' is not data: a job file may hold only text, numbers, arrays, hashtables and $true/$false/$null (it is read, never run).",
            node.Extent.StartLineNumber));
        return null;
    }
}
