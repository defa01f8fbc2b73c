using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Core.Alerts;

public static class AlertDeliveryServiceCollectionExtensions
{
    /// <summary>Channels, grouping and the delivery queue (delivery work).</summary>
    internal static IServiceCollection AddAlertDelivery(this IServiceCollection services, bool background)
    {
        services.AddSingleton<NotificationChannelStore>();
        return services;
    }
}
