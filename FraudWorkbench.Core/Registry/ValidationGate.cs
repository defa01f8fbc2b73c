using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Core.Registry;

/// <summary>Applies a registered model's gate to a candidate's metrics and, when there is one, the production version's on the same holdout.</summary>
public static class ValidationGate
{
    public static IReadOnlyList<GateCheck> Evaluate(GateSettings gate, ClassificationReport candidate, ClassificationReport? champion)
    {
        var checks = new List<GateCheck>();
        foreach (var baseline in gate.Baselines)
        {
            var value = GateMetric.Of(candidate, baseline.Metric);
            var passed = baseline.Operator switch
            {
                ">=" => value >= baseline.Threshold,
                ">" => value > baseline.Threshold,
                "<=" => value <= baseline.Threshold,
                "<" => value < baseline.Threshold,
                _ => false,
            };
            checks.Add(new GateCheck("baseline", baseline.Metric, $"{baseline.Operator} {baseline.Threshold:0.####}", value, baseline.Threshold, passed && double.IsFinite(value)));
        }

        if (champion is null) return checks;
        foreach (var metric in gate.CompareMetrics)
        {
            var value = GateMetric.Of(candidate, metric);
            var reference = GateMetric.Of(champion, metric);
            // The worst the challenger may be: the stricter of the absolute and the relative margin.
            bool passed;
            string rule;
            if (GateMetric.HigherIsBetter(metric))
            {
                var floor = Math.Max(reference - gate.MaxAbsoluteDrop, reference * (1 - gate.MaxRelativeDrop));
                passed = value >= floor;
                rule = $">= {floor:0.####} (production {reference:0.####}; at most {gate.MaxAbsoluteDrop:0.####} and {gate.MaxRelativeDrop:0.##%} worse)";
            }
            else
            {
                var ceiling = Math.Min(reference + gate.MaxAbsoluteDrop, reference * (1 + gate.MaxRelativeDrop));
                passed = value <= ceiling;
                rule = $"<= {ceiling:0.####} (production {reference:0.####}; at most {gate.MaxAbsoluteDrop:0.####} and {gate.MaxRelativeDrop:0.##%} worse)";
            }

            checks.Add(new GateCheck("champion", metric, rule, value, reference, passed && double.IsFinite(value)));
        }

        return checks;
    }
}
