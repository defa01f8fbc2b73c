namespace FraudWorkbench.Core.Monitoring;

/// <summary>A column's drift test: <paramref name="Method"/> null for Evidently's automatic choice, <paramref name="Threshold"/> null for the method's default.</summary>
public sealed record ColumnDriftSettings(string? Method = null, double? Threshold = null);

/// <summary>
/// How a registered model's drift is judged: per column the test and threshold, and the share of drifted inputs
/// that makes dataset drift. Stored with the model (<c>registered_models.monitoring</c>); every change audited.
/// </summary>
public sealed record MonitoringConfig(double DriftShare = DriftMethod.DefaultDriftShare, IReadOnlyDictionary<string, ColumnDriftSettings>? Columns = null)
{
    public static MonitoringConfig Default { get; } = new();

    public ColumnDriftSettings For(string column) => Columns?.GetValueOrDefault(column) ?? new ColumnDriftSettings();

    /// <summary>Problems naming the field: an unknown column or method, a threshold the method cannot reach.</summary>
    /// <param name="columns">The model's monitored columns, true for numeric ones.</param>
    public IReadOnlyList<(string Field, string Message)> Validate(IReadOnlyDictionary<string, bool> columns)
    {
        var issues = new List<(string, string)>();
        if (!(DriftShare > 0 && DriftShare <= 1)) issues.Add(("driftShare", "The dataset drift share is a fraction above 0 and at most 1 (Evidently's default is 0.5)."));
        foreach (var (column, settings) in Columns ?? new Dictionary<string, ColumnDriftSettings>())
        {
            var field = $"columns.{column}";
            if (!columns.TryGetValue(column, out var numeric))
            {
                issues.Add((field, $"'{column}' is not a monitored column of this model; known: {string.Join(", ", columns.Keys)}."));
                continue;
            }

            if (settings is null)
            {
                issues.Add((field, "Give the column's method and threshold (either may be null)."));
                continue;
            }

            if (settings.Method is { } method && !DriftMethod.All.Contains(method))
            {
                issues.Add(($"{field}.method", $"Unknown test '{method}'; use one of {string.Join(", ", DriftMethod.All)}, or leave it empty for the automatic choice."));
            }
            else if (settings.Method is DriftMethod.KolmogorovSmirnov or DriftMethod.Wasserstein && !numeric)
            {
                issues.Add(($"{field}.method", $"'{settings.Method}' compares numbers; '{column}' is not numeric (use chisquare, z, jensenshannon, psi or hellinger)."));
            }

            if (settings.Threshold is { } t)
            {
                // A p-value threshold of 1 would call every column drifted; Jensen-Shannon and Hellinger never pass 1.
                var pValue = settings.Method is null || DriftMethod.IsPValue(settings.Method);
                var unbounded = settings.Method is DriftMethod.Wasserstein or DriftMethod.Psi;
                if (!(t > 0 && (pValue ? t < 1 : unbounded ? t <= 100 : t <= 1)))
                {
                    issues.Add(($"{field}.threshold", pValue
                        ? $"A p-value threshold is above 0 and below 1 (the default is {DriftMethod.DefaultThreshold(DriftMethod.KolmogorovSmirnov)})."
                        : unbounded ? "A Wasserstein or PSI threshold is above 0 (at most 100); the default is 0.1." : "A Jensen-Shannon or Hellinger threshold is above 0 and at most 1; the default is 0.1."));
                }
            }
        }

        return issues;
    }
}
