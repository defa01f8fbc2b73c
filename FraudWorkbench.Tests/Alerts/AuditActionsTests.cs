using System.Text.RegularExpressions;
using FraudWorkbench.Core.Alerts;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>The audited actions the rule editor offers are the ones the code writes.</summary>
public sealed partial class AuditActionsTests
{
    /// <summary>Every action given as a string literal to <c>AuditLog.WriteAsync</c> in the app's sources (the statement up to its semicolon).</summary>
    private static SortedSet<string> WrittenActions()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(directory!.FullName, "FraudWorkbench.sln"))) directory = directory.Parent;
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var project in new[] { "FraudWorkbench.Core", "FraudWorkbench" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(directory.FullName, project), "*.cs", SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) continue;
                foreach (Match call in WriteCall().Matches(File.ReadAllText(file)))
                    foreach (Match literal in ActionLiteral().Matches(call.Value)) found.Add(literal.Groups[1].Value);
            }
        }

        return found;
    }

    [Fact]
    public void Known_HoldsEveryActionTheCodeWrites()
    {
        var written = WrittenActions();

        // The scan finds the calls at all (a rename of the writer would make this test vacuous).
        Assert.True(written.Count >= 40, $"only {written.Count} actions found");
        Assert.Contains(AuditActions.RetrainingFail, written);
        Assert.Empty(written.Except(AuditActions.Known));
    }

    [Fact]
    public void Known_DistinctAndEachWellFormed()
    {
        Assert.Equal(AuditActions.Known.Count, AuditActions.Known.Distinct().Count());
        Assert.All(AuditActions.Known, a => Assert.Matches("^[a-z][a-z0-9_.-]{1,63}$", a));
        Assert.All(AuditActions.Known, a => Assert.True(AuditActions.IsValid(a)));
    }

    [GeneratedRegex(@"AuditLog\.WriteAsync\([^;]*;", RegexOptions.CultureInvariant)]
    private static partial Regex WriteCall();

    // An action is a lower-case dotted literal: "retraining.fail", not "retraining-workflow" (object types have no dot). Actions
    // passed through a helper (the rule store's enable and disable, the user store's updates) are listed by hand.
    [GeneratedRegex("\"([a-z][a-z0-9_-]*(?:\\.[a-z0-9_-]+)+)\"", RegexOptions.CultureInvariant)]
    private static partial Regex ActionLiteral();
}
