using System.Text;
using System.Text.Json;
using StableDiffusion.Jobs;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Jobs;

/// <summary>A temporary folder for job files, prompt files and outputs, and job validation from JSON text.</summary>
public sealed class JobScratch : IDisposable
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("sd-jobs-tests-").FullName;

    /// <summary>The fixture model's path as a JSON string literal.</summary>
    public static string Model => JsonSerializer.Serialize(Fixtures.TinySd);

    public string PathIn(params string[] parts) => Path.Combine([Folder, .. parts]);

    public string Write(string name, string text)
    {
        string path = PathIn(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public JobDocument Document(string json) => JobDocument.ParseJson(Encoding.UTF8.GetBytes(json), PathIn("job.json"), Folder);

    public RenderJob Validate(string json) => JobValidator.Validate(Document(json));

    /// <summary>The problems of a job that must be rejected.</summary>
    public IReadOnlyList<JobProblem> Problems(string json) => Assert.Throws<JobValidationException>(() => Validate(json)).Problems;

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); }
        catch (IOException) { }
    }
}
