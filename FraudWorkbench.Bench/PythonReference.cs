using System.Diagnostics;
using System.Globalization;

namespace FraudWorkbench.Bench;

/// <summary>Runs a reference measurement in Debian's python3 (where python3-pandas installs) and reads the seconds it prints.</summary>
public static class PythonReference
{
    /// <returns>The number the script printed last, or null when python3 or the library is missing (the reason goes to standard error).</returns>
    /// <param name="echo">Receives the lines printed before the last one (the reference's own quality figures, say).</param>
    public static async Task<double?> SecondsAsync(string script, CancellationToken cancellationToken, TextWriter? echo = null)
    {
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        try
        {
            var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            using var process = Process.Start(info)!;
            await process.StandardInput.WriteAsync(script);
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            if (process.ExitCode != 0) await Console.Error.WriteLineAsync(await errors);
            var lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (echo is not null) foreach (var line in lines.SkipLast(1)) await echo.WriteLineAsync(line);
            return process.ExitCode == 0 && lines.Length > 0 && double.TryParse(lines[^1], CultureInfo.InvariantCulture, out var seconds) ? seconds : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>A path as a Python string literal.</summary>
    public static string Literal(string path) => System.Text.Json.JsonSerializer.Serialize(path);
}
