using FraudWorkbench.Api;
using FraudWorkbench.Components;
using FraudWorkbench.Operations;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Db;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.HttpLogging;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using MudBlazor.Services;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Scalar.AspNetCore;

namespace FraudWorkbench;

public static class WorkbenchWebExtensions
{
    /// <summary>
    /// Puts the repository's root <c>appsettings.json</c> (copied next to the binary as
    /// <c>appsettings.shared.json</c>) beneath every other source, so the web project's own settings,
    /// environment variables and the command line all override it.
    /// </summary>
    public static IConfigurationBuilder AddSharedSettings(this IConfigurationBuilder configuration)
    {
        configuration.Sources.Insert(0, new JsonConfigurationSource
        {
            Path = "appsettings.shared.json",
            Optional = true,
            FileProvider = new PhysicalFileProvider(AppContext.BaseDirectory),
        });
        return configuration;
    }

    /// <summary>
    /// Off unless set: a line per request buries everything else on a console (the one-time password
    /// among it); operators who ship logs to a collector turn it on.
    /// </summary>
    public const string RequestLoggingSetting = "FraudWorkbench:RequestLogging";

    public static WebApplicationBuilder AddWorkbenchWeb(this WebApplicationBuilder builder)
    {
        var services = builder.Services;

        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddMudServices();
        services.AddWorkbenchSecurity();

        services.AddDataProtection().SetApplicationName("FraudWorkbench");
        services.AddOptions<KeyManagementOptions>()
            .Configure<DataProtectionKeyRepository>((o, repository) => o.XmlRepository = repository);
        builder.AddWorkbenchHardening();

        services.AddProblemDetails();
        services.AddWorkbenchRequestTimeouts(builder.Configuration);
        services.AddApiInputRules();
        services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "FraudWorkbench API";
                document.Info.Description = "Send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'. Scoring and feedback are rate-limited per key (429 with Retry-After). The app listens on http://localhost:5080 when started with `dotnet run`; examples use the columns of the shipped sample data (data-samples/).";
                return Task.CompletedTask;
            });
            o.AddScoringExamples();
            o.AddMonitoringExamples();
        });
        services.AddRateLimiter(o =>
        {
            o.AddPolicy(ScoringApi.RateLimitPolicy, context =>
            {
                // One budget per API key (or signed-in user); a key may carry its own limit.
                var user = context.User;
                var partition = user.FindFirst(WorkbenchClaims.ApiKeyId)?.Value ?? "user:" + user.Identity?.Name;
                var limit = int.TryParse(user.FindFirst(WorkbenchClaims.RateLimit)?.Value, out var own) ? own
                    : context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<FraudWorkbench.Core.Scoring.ScoringOptions>>().Value.RateLimitPerMinute;
                return System.Threading.RateLimiting.RateLimitPartition.GetSlidingWindowLimiter($"{partition}:{limit}", _ => new System.Threading.RateLimiting.SlidingWindowRateLimiterOptions
                {
                    PermitLimit = limit,
                    Window = TimeSpan.FromMinutes(1),
                    SegmentsPerWindow = 12,
                    QueueLimit = 0,
                });
            });
            o.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(System.Threading.RateLimiting.MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(5);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                context.HttpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context.HttpContext,
                    ProblemDetails = { Status = 429, Title = "Rate limit reached", Detail = $"This key's request budget for the minute is spent; retry in {seconds} s." },
                });
            };
        });
        services.AddHostedService<FirstStartBanner>();
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: ["ready"]).AddCheck<FraudWorkbench.Core.Scoring.ModelsHealthCheck>("models", tags: ["ready"]);

        // Method, path, status and duration only: headers (Authorization, X-Api-Key, cookies) and query strings never reach the log.
        services.AddHttpLogging(o =>
        {
            o.LoggingFields = HttpLoggingFields.RequestMethod | HttpLoggingFields.RequestPath | HttpLoggingFields.ResponseStatusCode | HttpLoggingFields.Duration;
            o.CombineLogs = true;
        });

        var telemetry = services.AddOpenTelemetry()
            .WithTracing(t => t.AddAspNetCoreInstrumentation().AddNpgsql())
            .WithMetrics(m => m.AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime", "Npgsql"));
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    public static WebApplication UseWorkbench(this WebApplication app)
    {
        app.UseMiddleware<ScoringRequestCounting>(); // outermost: counts the status every later handler settled on
        app.UseMiddleware<SecurityHeadersMiddleware>();
        if (!app.Environment.IsDevelopment())
        {
            // The API answers a fault with ProblemDetails, never with the HTML error page.
            app.UseWhen(c => c.Request.Path.StartsWithSegments("/api"), api => api.UseExceptionHandler());
            app.UseWhen(c => !c.Request.Path.StartsWithSegments("/api"), pages => pages.UseExceptionHandler("/error", createScopeForErrors: true));
            app.UseHsts();
        }

        // Inside the exception handler, so a database outage is a 503 and not the handler's 500; ahead of authentication, whose checks read the database.
        app.UseMiddleware<DatabaseFaultMiddleware>();
        app.UseRequestTimeouts();

        app.UseStatusCodePages();
        app.UseApiInputRules();
        if (app.Configuration.GetValue<bool>(RequestLoggingSetting))
        {
            app.UseHttpLogging();
        }

        app.UseAuthentication();
        app.UseMiddleware<AnonymousRateLimit.Middleware>();
        app.UseMiddleware<PasswordChangeRequiredMiddleware>();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.UseAntiforgery();

        app.MapStaticAssets().AllowAnonymous();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = HealthResponses.WriteAsync }).AllowAnonymous();
        app.MapOpenApi();
        app.MapScalarApiReference(ApiDocsPage.Path, ApiDocsPage.Configure);
        app.MapAccountEndpoints();
        var api = app.MapGroup("");
        api.WithRequestTimeout(RequestTimeouts.Api);
        api.MapAccountsApi();
        api.MapJobsApi();
        api.MapDatasetsApi();
        api.MapFeatureSetsApi();
        api.MapTrainingApi();
        api.MapRegistryApi();
        api.MapFairnessApi();
        api.MapFairnessGateApi();
        api.MapFairnessProductionApi();
        api.MapMonitoringApi();
        api.MapAlertsApi();
        api.MapAlertChannelsApi();
        api.MapRetrainingApi();
        var scoring = app.MapGroup("");
        scoring.WithRequestTimeout(RequestTimeouts.Scoring);
        scoring.WithRetryAfterHeader();
        scoring.MapScoringApi();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
