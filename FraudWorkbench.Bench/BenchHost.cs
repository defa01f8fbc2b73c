using System.Text.Json;
using FraudWorkbench.Core;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Scoring;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace FraudWorkbench.Bench;

/// <summary>The app as the benches start it: its own data directory and PostgreSQL, loopback, warnings only; disposing stops it and deletes the directory.</summary>
public sealed class BenchHost : IAsyncDisposable
{
    private readonly string dataDirectory;

    private BenchHost(WebApplication app, string dataDirectory, string address) => (App, this.dataDirectory, Address) = (app, dataDirectory, address);

    public WebApplication App { get; }

    public string Address { get; }

    public IServiceProvider Services => App.Services;

    public string DataDirectory => dataDirectory;

    public static async Task<BenchHost> StartAsync(string name, CancellationToken cancellationToken)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"fwb-bench-{name}-" + Guid.NewGuid().ToString("N")[..8]);
        // The application name is the bench's own (it is the entry assembly's when run as the bench, not under a test host): the static assets' manifest is named after it.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Production", ApplicationName = typeof(BenchHost).Assembly.GetName().Name });
        builder.Configuration.AddSharedSettings();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FraudWorkbench:DataDirectory"] = dataDirectory,
            ["Urls"] = "http://127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Services.AddFraudWorkbench();
        builder.AddWorkbenchWeb();
        var app = builder.Build();
        app.UseWorkbench();
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new BenchHost(app, dataDirectory, address);
    }

    /// <summary>Month B sample rows as the production model's contract parses them, with the JSON sent; rows it refuses are left out.</summary>
    public async Task<(List<string?[]> Rows, List<JsonElement> Inputs)> MonthBAsync(string model, CancellationToken cancellationToken)
    {
        var contract = (await Services.GetRequiredService<ModelServer>().ResolveAsync(model, null, cancellationToken)).Contract;
        var path = Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-b.csv");
        var schema = SchemaInference.Infer(path, ',');
        List<string?[]> raw;
        await using (var file = File.OpenRead(path)) raw = DatasetRows.Read(file, schema);
        var rows = new List<string?[]>();
        var inputs = new List<JsonElement>();
        foreach (var row in raw)
        {
            var transaction = new Dictionary<string, object?>();
            for (var i = 0; i < schema.Columns.Count; i++)
            {
                var c = schema.Columns[i];
                if (c.Role == ColumnRole.Label) continue;
                transaction[c.Name] = row[i] is not { } v ? null : c.Type switch
                {
                    ColumnType.Integer or ColumnType.Decimal => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture),
                    ColumnType.Boolean => ValueParsing.TryBoolean(v, out var b) && b,
                    _ => v,
                };
            }

            var element = JsonSerializer.SerializeToElement(transaction);
            if (contract.Parse(element, "", []) is not { } parsed) continue;
            rows.Add(parsed);
            inputs.Add(element);
        }

        return (rows, inputs);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync(); // stops the private PostgreSQL before its directory goes
        try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
