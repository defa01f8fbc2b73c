using System.CommandLine;

namespace FraudWorkbench.Bench;

/// <summary>The <c>fairness</c> command's options (kept here so the entry point gains one line).</summary>
public static class FairnessCommand
{
    public static Command Create(TextWriter output)
    {
        var rows = new Option<int>("--rows") { Description = "Holdout rows generated (sex, age, fraud label, score with a planted disparity)", DefaultValueFactory = _ => 1_000_000 };
        var resamples = new Option<int>("--resamples") { Description = "Bootstrap resamples of the timed run (within each group)", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "Random seed of the generated rows", DefaultValueFactory = _ => 18 };
        var command = new Command("fairness", "Group metrics and disparities with bootstrap intervals for sex, age bands and their intersection, against pandas groupby on an export of the same rows")
        {
            rows, resamples, seed,
        };
        command.SetAction((parse, ct) => FairnessBenchmark.RunAsync(new FairnessBenchmark.Options(parse.GetValue(rows), parse.GetValue(resamples), parse.GetValue(seed)), output, ct));
        return command;
    }
}
