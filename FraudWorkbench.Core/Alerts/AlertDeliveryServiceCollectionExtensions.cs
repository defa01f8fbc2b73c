using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Core.Alerts;

public static class AlertDeliveryServiceCollectionExtensions
{
    /// <summary>Channels, grouping and the delivery queue (delivery work).</summary>
    internal static IServiceCollection AddAlertDelivery(this IServiceCollection services, bool background)
    {
        // Webhook secrets are encrypted with the app's keys; the web host shares them between instances through PostgreSQL.
        services.AddDataProtection();
        services.AddSingleton<WebhookUrlPolicy>();
        services.AddSingleton<NotificationChannelStore>();
        services.AddHttpClient(WebhookUrlPolicy.HttpClientName, client =>
            {
                // Each request gets the channel's RequestTimeout from the dispatcher.
                client.Timeout = Timeout.InfiniteTimeSpan;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("FraudWorkbench-Alerts/1");
            })
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                // A redirect could lead anywhere, past the URL policy; a proxy would be dialled instead of the checked address.
                AllowAutoRedirect = false,
                UseProxy = false,
                UseCookies = false,
                ConnectCallback = sp.GetRequiredService<WebhookUrlPolicy>().ConnectAsync,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                ConnectTimeout = TimeSpan.FromSeconds(10),
            })
            // The client's request logging would write webhook URLs, and a Slack URL is itself a credential.
            .RemoveAllLoggers();
        services.AddSingleton<AlertNotifier>();
        services.AddSingleton<NotificationDispatcher>();
        if (background)
        {
            services.AddHostedService(sp => sp.GetRequiredService<AlertNotifier>());
            services.AddHostedService(sp => sp.GetRequiredService<NotificationDispatcher>());
        }

        return services;
    }
}
