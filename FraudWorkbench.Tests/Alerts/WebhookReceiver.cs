using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>A real HTTP webhook receiver on loopback (Kestrel): records every request and answers from a script (200 once the script is used up).</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<(int Status, IReadOnlyDictionary<string, string> Headers)> script = new();

    public sealed record Received(DateTime At, string Path, IReadOnlyDictionary<string, string> Headers, string Body);

    private WebhookReceiver(WebApplication app) => this.app = app;

    public ConcurrentQueue<Received> Requests { get; } = new();

    public Uri Url(string path = "/hook") => new(new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()), path);

    public int Port => Url().Port;

    /// <summary>The next request gets <paramref name="status"/> (and the headers given); later ones the next scripted answer.</summary>
    public WebhookReceiver Then(int status, params (string Name, string Value)[] headers)
    {
        script.Enqueue((status, headers.ToDictionary(h => h.Name, h => h.Value)));
        return this;
    }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            receiver.Requests.Enqueue(new Received(DateTime.UtcNow, context.Request.Path, context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body));
            var (status, headers) = receiver.script.TryDequeue(out var next) ? next : (200, new Dictionary<string, string>());
            context.Response.StatusCode = status;
            foreach (var (name, value) in headers) context.Response.Headers[name] = value;
            await context.Response.WriteAsync(status >= 400 ? $"scripted {status}" : "ok");
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
