using System.Text;

namespace StableDiffusion.Jobs;

/// <summary>
/// RFC 4180 CSV: comma-separated fields, double quotes around fields that hold commas, quotes or line breaks, a doubled
/// quote for a quote. Each record keeps the line it starts on, so problems can name it. Blank lines are skipped.
/// </summary>
internal static class CsvRecords
{
    /// <exception cref="FormatException">A quoted field is not closed (the message names its line).</exception>
    public static List<(int Line, string[] Fields)> Parse(string text)
    {
        var records = new List<(int, string[])>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, recordLine = 1;
        bool quoted = false, fieldStarted = false, any = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                    else quoted = false;
                }
                else
                {
                    if (c == '\n') line++;
                    field.Append(c);
                }
                continue;
            }
            switch (c)
            {
                case '"' when !fieldStarted:
                    quoted = true;
                    fieldStarted = any = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldStarted = false;
                    any = true;
                    break;
                case '\r':
                    break;
                case '\n':
                    EndRecord();
                    line++;
                    recordLine = line;
                    break;
                default:
                    field.Append(c);
                    fieldStarted = any = true;
                    break;
            }
        }
        if (quoted) throw new FormatException($"line {recordLine}: a quoted field is not closed (a '\"' is missing).");
        EndRecord();
        return records;

        void EndRecord()
        {
            if (any || field.Length > 0)
            {
                fields.Add(field.ToString());
                records.Add((recordLine, fields.ToArray()));
            }
            fields.Clear();
            field.Clear();
            fieldStarted = any = false;
        }
    }
}
