namespace StableDiffusion.Prompts;

/// <summary>
/// Parser for the prompt-editing grammar of A1111's <c>modules/prompt_parser.py</c> (a lark grammar):
/// <code>
/// start: (prompt | /[][():]/+)*
/// prompt: (emphasized | scheduled | alternate | plain | WHITESPACE)*
/// emphasized: "(" prompt ")" | "(" prompt ":" prompt ")" | "[" prompt "]"
/// scheduled: "[" [prompt ":"] prompt ":" [WHITESPACE] NUMBER [WHITESPACE] "]"
/// alternate: "[" prompt ("|" [prompt])+ "]"
/// plain: /([^\\\[\]():|]|\\.)+/        NUMBER: lark's SIGNED_NUMBER
/// </code>
/// Inside a <c>prompt</c> every bracket must belong to one of the rules, so a bracketed group has at most one reading
/// (brackets match uniquely); only at the top level may a bracket character also stand for itself. This parser tries
/// the rule first and falls back to the literal character. That is what A1111 does wherever its answer is fixed (the
/// fixtures pin it: <c>((a][:b:c [d:3]</c>, <c>a[b:[c:d:2]:1]e</c>). For some malformed prompts (e.g. <c>[[a::3]:x]</c>)
/// lark's Earley parser meets a tie between readings that it breaks by set iteration order, i.e. by Python's per-process
/// string-hash seed, so A1111 itself answers differently from run to run; the structured reading chosen here is one of
/// its answers (checked against lark 1.1.5 under many hash seeds on thousands of generated prompts). A prompt with no
/// parse at all (a '|' outside an alternation, a trailing backslash) yields null, and A1111 then uses it unchanged.
/// </summary>
internal sealed class A1111ScheduleParser
{
    /// <summary>
    /// Deepest bracket nesting read as structure; a group nested deeper is read as literal characters at the top level
    /// (the text is the same either way, and schedules inside it are still found). Far beyond any real prompt; the limit
    /// keeps a hostile prompt from exhausting the stack.
    /// </summary>
    internal const int MaxNesting = 1000;

    private readonly string _text;
    private readonly bool[] _closable; // per '(' / '[': whether a well-nested partner exists at all
    private readonly Dictionary<int, (Node Node, int End)> _groups = []; // groups already read, by start
    private readonly HashSet<int> _failed = []; // groups that cannot be read at any depth
    private int _depth;
    private int _limitHits;

    private A1111ScheduleParser(string text)
    {
        _text = text;
        _closable = FindClosableGroups(text);
    }

    /// <summary>The parse tree of <paramref name="text"/>, or null where the grammar rejects it.</summary>
    public static Node.Sequence? Parse(string text)
    {
        var parser = new A1111ScheduleParser(text);
        var items = new List<Node>();
        int pos = 0;
        while (pos < text.Length)
        {
            items.AddRange(parser.ParsePrompt(ref pos));
            if (pos >= text.Length) break;
            char c = text[pos];
            if (c is not ('[' or ']' or '(' or ')' or ':')) return null; // '|' or a backslash nothing can match
            items.Add(new Node.Literal(c.ToString()));
            pos++;
        }
        return new Node.Sequence(items);
    }

    /// <summary><c>prompt</c>: as many items as match from <paramref name="pos"/> (possibly none).</summary>
    private List<Node> ParsePrompt(ref int pos)
    {
        var items = new List<Node>();
        while (pos < _text.Length)
        {
            int start = pos;
            Node? item = _text[pos] switch
            {
                '(' or '[' => ParseGroup(ref pos),
                ']' or ')' or ':' or '|' => null,
                _ => ParsePlain(ref pos),
            };
            if (item is null)
            {
                pos = start;
                break;
            }
            items.Add(item);
        }
        return items;
    }

    /// <summary><c>plain</c>: characters other than <c>\[]():|</c>, or a backslash and any character but a newline.</summary>
    private Node? ParsePlain(ref int pos)
    {
        int start = pos;
        while (pos < _text.Length)
        {
            char c = _text[pos];
            if (c == '\\')
            {
                if (pos + 1 >= _text.Length || _text[pos + 1] == '\n') break;
                pos += 1 + PythonRegexChars.At(_text, pos + 1).Length;
            }
            else if (c is '[' or ']' or '(' or ')' or ':' or '|') break;
            else pos++;
        }
        return pos > start ? new Node.Literal(_text[start..pos]) : null;
    }

    /// <summary>
    /// A bracketed group at <paramref name="pos"/>. Its reading depends only on where it starts, so each is read once:
    /// a top-level bracket that turns out literal would otherwise make everything inside it be read again.
    /// </summary>
    private Node? ParseGroup(ref int pos)
    {
        int start = pos;
        if (!_closable[start] || _failed.Contains(start)) return null;
        if (_groups.TryGetValue(start, out var known))
        {
            pos = known.End;
            return known.Node;
        }
        if (_depth >= MaxNesting)
        {
            _limitHits++;
            return null;
        }

        int limitHits = _limitHits;
        _depth++;
        Node? node;
        try
        {
            node = _text[start] == '(' ? ParseRound(ref pos) : ParseSquare(ref pos);
        }
        finally
        {
            _depth--;
        }

        if (node is not null) _groups[start] = (node, pos);
        else if (limitHits == _limitHits) _failed.Add(start); // a failure the nesting limit did not cause is final
        return node;
    }

    /// <summary>
    /// Marks the brackets that could start a group: a well-nested partner follows with no stray closer or lone
    /// backslash in between (neither can stand inside a group). A necessary condition only; the parse decides.
    /// </summary>
    private static bool[] FindClosableGroups(string text)
    {
        var closable = new bool[text.Length];
        var open = new Stack<int>();
        for (int i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '\\':
                    if (i + 1 < text.Length && text[i + 1] != '\n') i++; // an escape (a surrogate pair's second half is no bracket)
                    else open.Clear();
                    break;
                case '(' or '[':
                    open.Push(i);
                    break;
                case ')' or ']':
                    if (open.Count > 0 && text[open.Peek()] == (text[i] == ')' ? '(' : '['))
                        closable[open.Pop()] = true;
                    else open.Clear();
                    break;
            }
        }
        return closable;
    }

    /// <summary><c>"(" prompt ")"</c> or <c>"(" prompt ":" prompt ")"</c>; kept verbatim in the output.</summary>
    private Node? ParseRound(ref int pos)
    {
        int p = pos + 1;
        var items = new List<Node> { new Node.Literal("(") };
        items.AddRange(ParsePrompt(ref p));
        if (p < _text.Length && _text[p] == ':')
        {
            items.Add(new Node.Literal(":"));
            p++;
            items.AddRange(ParsePrompt(ref p));
        }
        if (p >= _text.Length || _text[p] != ')') return null;
        items.Add(new Node.Literal(")"));
        pos = p + 1;
        return new Node.Sequence(items);
    }

    /// <summary><c>"[" prompt "]"</c>, <c>scheduled</c> or <c>alternate</c>, told apart by what follows the first prompt.</summary>
    private Node? ParseSquare(ref int pos)
    {
        int p = pos + 1;
        var first = new Node.Sequence(ParsePrompt(ref p));
        if (p >= _text.Length) return null;
        switch (_text[p])
        {
            case ']':
                pos = p + 1;
                return new Node.Sequence([new Node.Literal("["), first, new Node.Literal("]")]);
            case '|':
            {
                var options = new List<Node.Sequence> { first };
                while (p < _text.Length && _text[p] == '|')
                {
                    p++;
                    options.Add(new Node.Sequence(ParsePrompt(ref p)));
                }
                if (p >= _text.Length || _text[p] != ']') return null;
                pos = p + 1;
                return new Node.Alternate(options);
            }
            case ':':
            {
                p++;
                // "[" prompt ":" [WS] NUMBER [WS] "]": the prompt is what comes in after the step.
                int q = p;
                if (TryParseWhen(ref q, out string? when))
                {
                    pos = q;
                    return new Node.Scheduled(null, first, when!);
                }
                // "[" prompt ":" prompt ":" [WS] NUMBER [WS] "]"
                var after = new Node.Sequence(ParsePrompt(ref p));
                if (p >= _text.Length || _text[p] != ':') return null;
                p++;
                if (!TryParseWhen(ref p, out when)) return null;
                pos = p;
                return new Node.Scheduled(first, after, when!);
            }
            default:
                return null;
        }
    }

    /// <summary><c>[WHITESPACE] NUMBER [WHITESPACE] "]"</c>; on success <paramref name="pos"/> is after the "]".</summary>
    private bool TryParseWhen(ref int pos, out string? number)
    {
        number = null;
        int p = SkipWhitespace(pos);
        int length = MatchSignedNumber(_text, p);
        if (length == 0) return false;
        number = _text.Substring(p, length);
        p = SkipWhitespace(p + length);
        if (p >= _text.Length || _text[p] != ']') return false;
        pos = p + 1;
        return true;
    }

    private int SkipWhitespace(int p)
    {
        while (p < _text.Length)
        {
            var (cp, len) = PythonRegexChars.At(_text, p);
            if (!PythonRegexChars.IsSpace(cp)) break;
            p += len;
        }
        return p;
    }

    /// <summary>
    /// Length of lark's SIGNED_NUMBER at <paramref name="p"/> (0 if none): <c>["+"|"-"] (FLOAT | INT)</c> with
    /// FLOAT = INT exponent | DECIMAL [exponent], DECIMAL = INT "." [INT] | "." INT. ASCII digits only.
    /// </summary>
    internal static int MatchSignedNumber(string s, int p)
    {
        int i = p;
        if (i < s.Length && s[i] is '+' or '-') i++;
        int intStart = i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        bool hasInt = i > intStart;
        int mantissaEnd = i;
        if (i < s.Length && s[i] == '.')
        {
            int fracStart = i + 1, j = fracStart;
            while (j < s.Length && char.IsAsciiDigit(s[j])) j++;
            if (hasInt || j > fracStart) mantissaEnd = j;
        }
        if (mantissaEnd == intStart) return 0; // no digits
        int end = mantissaEnd;
        // An exponent: (e|E) [+|-] digits.
        int e = mantissaEnd;
        if (e < s.Length && s[e] is 'e' or 'E')
        {
            e++;
            if (e < s.Length && s[e] is '+' or '-') e++;
            int expStart = e;
            while (e < s.Length && char.IsAsciiDigit(s[e])) e++;
            if (e > expStart) end = e;
        }
        return end - p;
    }

    /// <summary>Parse-tree nodes: literal text, sequences, and the two nodes that vary with the step.</summary>
    internal abstract record Node
    {
        /// <summary>Text that appears as written (plain text, whitespace, emphasis brackets, top-level bracket characters).</summary>
        public sealed record Literal(string Text) : Node;

        public sealed record Sequence(IReadOnlyList<Node> Items) : Node;

        /// <summary><c>[before:after:when]</c>; <see cref="Before"/> is null for <c>[after:when]</c>.</summary>
        public sealed record Scheduled(Sequence? Before, Sequence After, string When) : Node;

        public sealed record Alternate(IReadOnlyList<Sequence> Options) : Node;
    }
}
