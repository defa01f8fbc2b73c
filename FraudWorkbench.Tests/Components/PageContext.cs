using System.Security.Claims;
using Bunit;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Security;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MudBlazor;
using MudBlazor.Services;

namespace FraudWorkbench.Tests.Components;

/// <summary>
/// A bUnit context wired like the app: MudBlazor, the real stores on the class's database, the
/// real authorization policies (so a page's own server-side checks are what is tested) and a signed-in user.
/// </summary>
public sealed class PageContext : IAsyncDisposable
{
    public const string UserEmail = "someone@example.com";

    public PageContext(DatabaseFixture db, string role)
    {
        // Pages load from PostgreSQL and CI shares two cores with other test classes: bUnit's 1 s default is too tight.
        BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);
        Hub = db.NewHub();
        Bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        var services = Bunit.Services;
        services.AddMudServices();
        services.AddSingleton(Hub);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(db.Jobs(Hub));
        services.AddSingleton(new FraudWorkbench.Core.Jobs.JobSubjects([new DatasetJobSubjects(new DatasetStore(db.DataSource, TimeProvider.System)), new FraudWorkbench.Core.Features.FeatureJobSubjects(db.DataSource)]));
        services.AddSingleton(db.Users());
        services.AddSingleton(db.ApiKeys());
        services.AddSingleton(new AuditLog(db.DataSource));
        services.AddSingleton(new ArtifactStore(Path.Combine(DataDirectory, "artifacts")));
        services.AddSingleton(Options.Create(new DataOptions()));
        services.AddSingleton(new DatasetStore(db.DataSource, TimeProvider.System));
        services.AddSingleton<DatasetIngestor>();
        services.AddSingleton<DatasetPreview>();
        services.AddSingleton<SampleDatasets>();
        services.AddSingleton(new FraudWorkbench.Core.Features.FeatureSetStore(db.DataSource, TimeProvider.System));
        services.AddSingleton<FraudWorkbench.Core.Features.FeatureSetService>();
        services.AddLogging();
        services.AddAuthorizationCore(SecurityExtensions.ConfigurePolicies);
        services.AddTransient<IAuthorizationService, DefaultAuthorizationService>(); // over bUnit's placeholder
        services.AddSingleton<AuthenticationStateProvider>(new FixedUser(role, UserEmail));
        services.AddScoped<CurrentUser>();
        Bunit.Render<MudPopoverProvider>();
    }

    public BunitContext Bunit { get; } = new();

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("fwb-bunit-").FullName;

    public EventHub Hub { get; }

    public T Get<T>() where T : notnull => Bunit.Services.GetRequiredService<T>();

    public IRenderedComponent<T> Render<T>() where T : IComponent => Bunit.Render<T>();

    public async ValueTask DisposeAsync()
    {
        await Bunit.DisposeAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }

}
