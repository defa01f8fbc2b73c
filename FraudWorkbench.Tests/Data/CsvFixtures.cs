using System.Text;

namespace FraudWorkbench.Tests.Data;

/// <summary>Small files written to a temporary folder, as uploads would land in staging.</summary>
public sealed class CsvFixtures : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("fwb-csv-").FullName;

    public string Write(string text, bool bom = false) => WriteBytes((bom ? Encoding.UTF8.Preamble.ToArray() : []).Concat(Encoding.UTF8.GetBytes(text)).ToArray());

    public string WriteBytes(byte[] bytes)
    {
        var path = Path.Combine(folder, Guid.NewGuid().ToString("N") + ".csv");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
