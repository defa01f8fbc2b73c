using FraudWorkbench;
using FraudWorkbench.Cli;
using FraudWorkbench.Core;
using FraudWorkbench.Core.Db;

if (OperatorCommands.IsCommand(args))
{
    return await OperatorCommands.RunAsync(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddSharedSettings();
builder.Services.AddFraudWorkbench();
builder.AddWorkbenchWeb();

try
{
    // Building already reaches the database (shared Data Protection keys), so it belongs inside the try.
    var app = builder.Build();
    app.UseWorkbench();
    await app.RunAsync();
    return 0;
}
catch (PostgresNotAvailableException ex)
{
    await Console.Error.WriteLineAsync(ex.Message);
    return 2;
}

public partial class Program;
