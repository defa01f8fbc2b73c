using System.Security.Claims;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FraudWorkbench.Api;

/// <summary>Notification channels (webhooks in Alertmanager's or Slack's format, e-mail), test sends, deliveries and dead letters.</summary>
public static class AlertChannelsApi
{
    /// <summary>How a receiver checks a webhook, in the API description.</summary>
    public const string SignatureDocs = """
        Every webhook request is signed. `X-FraudWorkbench-Timestamp` is the attempt's unix time in seconds;
        `X-FraudWorkbench-Signature` is `sha256=` followed by the lower-case hex HMAC-SHA256 of `"{timestamp}.{body}"` (the raw request body, UTF-8),
        keyed with the channel's secret (the 64 hex characters shown when the channel was created or its secret rotated, used as UTF-8 bytes).
        A receiver recomputes it, compares in constant time, and refuses timestamps more than a few minutes old. The secret is shown only once.
        """;

    public static IEndpointRouteBuilder MapAlertChannelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/alerts").WithTags("Alerts");
        api.MapGet("/channels", List).WithName("ListAlertChannels").WithSummary("Notification channels (their secrets are never returned).");
        api.MapPost("/channels", Create).WithName("CreateAlertChannel").RequireAuthorization(Policies.Write)
            .WithSummary("Creates a notification channel; a webhook's signing secret is in the answer, this once.")
            .WithDescription($"""
                `kind`: `alertmanager` (Alertmanager's webhook payload, version 4), `slack` (a Slack incoming webhook) or `email` (needs an SMTP server in
                the configuration). Webhooks take a `url`: http or https, no user name or password, and a host that resolves to public addresses only
                (not loopback, link-local, private, CGNAT or multicast) unless the operator sets FraudWorkbench:Alerts:AllowPrivateNetworks; the check is
                repeated on the address dialled at each delivery, and redirects are not followed. E-mail takes `recipients`. `global` channels receive
                every rule's alerts, others those of the rules that name them. `groupWait`, `groupInterval`, `repeatInterval` (durations such as 30s, 5m,
                4h; Alertmanager's defaults), `sendResolved` and `groupBy` work as in Alertmanager: `groupBy` lists the alert labels (alertname, model,
                severity or a rule's own; at most 10) whose values make a group sent as one notification, `["alertname"]` when left out (one rule firing
                on many models is one notification listing them), `["..."]` for every label (no grouping), `[]` for one group. Failed deliveries are retried with exponential backoff on network
                errors, timeouts, 408, 429 and 5xx (honouring Retry-After), and become dead letters on any other answer or after the last attempt. Audited.

                {SignatureDocs}
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapGet("/channels/{id}", Get).WithName("GetAlertChannel").ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPut("/channels/{id}", Update).WithName("UpdateAlertChannel").RequireAuthorization(Policies.Write)
            .WithSummary("Changes a channel (not its kind); its secret stays. Audited.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapDelete("/channels/{id}", Delete).WithName("DeleteAlertChannel").RequireAuthorization(Policies.Write)
            .WithSummary("Deletes a channel; its queued deliveries become dead letters, its history stays. Audited.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/channels/{id}/secret", RotateSecret).WithName("RotateAlertChannelSecret").RequireAuthorization(Policies.Write)
            .WithSummary("A new signing secret for a webhook channel, returned this once; the old one stops working at once. Audited.")
            .WithDescription(SignatureDocs)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/channels/{id}/test", SendTest).WithName("TestAlertChannel").RequireAuthorization(Policies.Write)
            .WithSummary("Queues a test notification to the channel at once (no grouping); follow it in the deliveries.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/deliveries", Deliveries).WithName("ListAlertDeliveries")
            .WithSummary("Notifications sent or to send, newest first; `status` pending, delivered or dead (the dead letters); `take` 1–1000 (default 100).")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapPost("/deliveries/{id}/resend", Resend).WithName("ResendAlertDelivery").RequireAuthorization(Policies.Write)
            .WithSummary("Queues a dead letter again as a new delivery with a fresh set of attempts. Audited.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    /// <summary>A new signing secret, shown once.</summary>
    public sealed record SecretResponse(Guid ChannelId, string Secret);

    public static async Task<Ok<IReadOnlyList<NotificationChannel>>> List(NotificationChannelStore store, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        TypedResults.Ok<IReadOnlyList<NotificationChannel>>([.. (await store.ListAsync(cancellationToken)).Select(c => ForReader(c, user))]);

    public static async Task<Results<Ok<NotificationChannel>, ProblemHttpResult>> Get(Guid id, NotificationChannelStore store, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) is { } channel ? TypedResults.Ok(ForReader(channel, user)) : ChannelNotFound(id);

    private static NotificationChannel ForReader(NotificationChannel channel, ClaimsPrincipal user) => WorkbenchClaims.CanWrite(user) ? channel : channel.Redacted();

    public static async Task<Results<Created<CreatedChannel>, ProblemHttpResult>> Create(
        ChannelSpec? request, NotificationChannelStore store, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (request is null) return MissingBody();
        try
        {
            var created = await store.CreateAsync(request, WorkbenchClaims.Actor(user), cancellationToken);
            return TypedResults.Created($"/api/v1/alerts/channels/{created.Channel.Id}", created);
        }
        catch (AlertException ex)
        {
            return AlertsApi.Problem(ex);
        }
    }

    public static async Task<Results<Ok<NotificationChannel>, ProblemHttpResult>> Update(
        Guid id, ChannelSpec? request, NotificationChannelStore store, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (request is null) return MissingBody();
        try
        {
            return TypedResults.Ok(await store.UpdateAsync(id, request, WorkbenchClaims.Actor(user), cancellationToken));
        }
        catch (AlertException ex)
        {
            return AlertsApi.Problem(ex);
        }
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(Guid id, NotificationChannelStore store, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            await store.DeleteAsync(id, WorkbenchClaims.Actor(user), cancellationToken);
            return TypedResults.NoContent();
        }
        catch (AlertException ex)
        {
            return AlertsApi.Problem(ex);
        }
    }

    public static async Task<Results<Ok<SecretResponse>, ProblemHttpResult>> RotateSecret(
        Guid id, NotificationChannelStore store, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(new SecretResponse(id, await store.RotateSecretAsync(id, WorkbenchClaims.Actor(user), cancellationToken)));
        }
        catch (AlertException ex)
        {
            return AlertsApi.Problem(ex);
        }
    }

    public static async Task<Results<Accepted<NotificationDelivery>, ProblemHttpResult>> SendTest(
        Guid id, NotificationChannelStore store, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            var delivery = await store.SendTestAsync(id, WorkbenchClaims.Actor(user), cancellationToken);
            return TypedResults.Accepted($"/api/v1/alerts/deliveries?status=pending", await store.GetDeliveryAsync(delivery, cancellationToken));
        }
        catch (AlertException ex)
        {
            return AlertsApi.Problem(ex);
        }
    }

    public static async Task<Results<Ok<IReadOnlyList<NotificationDelivery>>, ProblemHttpResult>> Deliveries(
        string? status, int? take, NotificationChannelStore store, CancellationToken cancellationToken)
    {
        if (status is not null && status is not (DeliveryStatus.Pending or DeliveryStatus.Delivered or DeliveryStatus.Dead))
            return JobsApi.Problem(400, "Invalid status", "status is pending, delivered or dead (leave it out for all).", "status");
        if (take is < 1 or > 1000) return JobsApi.Problem(400, "Invalid take", "take is from 1 to 1000.", "take");
        return TypedResults.Ok(await store.DeliveriesAsync(status, take ?? 100, cancellationToken));
    }

    public static async Task<Results<Accepted<NotificationDelivery>, ProblemHttpResult>> Resend(
        Guid id, NotificationChannelStore store, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            var delivery = await store.ResendAsync(id, WorkbenchClaims.Actor(user), cancellationToken);
            return TypedResults.Accepted($"/api/v1/alerts/deliveries?status=pending", await store.GetDeliveryAsync(delivery, cancellationToken));
        }
        catch (AlertException ex)
        {
            return AlertsApi.Problem(ex);
        }
    }

    private static ProblemHttpResult ChannelNotFound(Guid id) => JobsApi.Problem(404, "Channel not found", $"No notification channel has the id {id}.", "id");

    private static ProblemHttpResult MissingBody() =>
        JobsApi.Problem(400, "Missing body", "Send the channel as JSON: {\"name\": ..., \"kind\": \"alertmanager\", \"url\": ...}.", "body");
}
