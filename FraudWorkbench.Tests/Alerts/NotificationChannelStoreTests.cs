using Dapper;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>Channels: validation naming fields, names, the secret shown once and stored encrypted, audit, delete, test sends, resend.</summary>
[Trait("Category", "Database")]
public sealed class NotificationChannelStoreTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private readonly DeliveryHarness harness = new(database, new AlertsOptions { Smtp = new SmtpOptions { Host = "smtp.example.com" } });

    public Task InitializeAsync() => harness.ResetAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    private static ChannelSpec Webhook(string name = "ops", string url = "https://93.184.216.34/hook") => new(name, ChannelKind.Alertmanager, url);

    [Fact]
    public async Task Create_Webhook_SecretReturnedOnceStoredEncryptedNeverAudited()
    {
        var created = await harness.Store.CreateAsync(Webhook(), "alice");

        Assert.Matches("^[0-9a-f]{64}$", created.Secret);
        Assert.True(created.Channel.HasSecret);
        Assert.Equal(new ChannelSpec("ops", ChannelKind.Alertmanager, "https://93.184.216.34/hook", [], false, true, true, "30s", "5m", "4h"), created.Channel.Spec with { Recipients = [], GroupBy = null });
        Assert.Empty(created.Channel.Spec.Recipients!);
        Assert.Equal(["alertname"], created.Channel.Spec.GroupBy);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var stored = await connection.ExecuteScalarAsync<string>("SELECT secret FROM notification_channels WHERE id = @id", new { id = created.Channel.Id });
        Assert.NotNull(stored);
        Assert.DoesNotContain(created.Secret!, stored, StringComparison.Ordinal);
        Assert.Equal(created.Secret, harness.Store.Unprotect(stored));
        var audit = (await connection.QueryAsync<(string Action, string Actor, string Summary)>(
            "SELECT action, actor, summary::text FROM audit_log WHERE object_id = @id", new { id = created.Channel.Id.ToString() })).ToList();
        var entry = Assert.Single(audit);
        Assert.Equal(("alerts.channel-create", "alice"), (entry.Action, entry.Actor));
        Assert.DoesNotContain(created.Secret!, entry.Summary, StringComparison.Ordinal);
        // Every signed-in user reads the audit log: it says where the webhook points, not its path (a Slack URL's key).
        Assert.DoesNotContain("/hook", entry.Summary, StringComparison.Ordinal);
        Assert.Contains("https://93.184.216.34/…", entry.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain(harness.Logs, l => l.Contains(created.Secret!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RotateSecret_NewSecretReplacesOld_AuditedWithoutIt()
    {
        var created = await harness.Store.CreateAsync(Webhook(), "alice");

        var rotated = await harness.Store.RotateSecretAsync(created.Channel.Id, "bob");

        Assert.NotEqual(created.Secret, rotated);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var stored = await connection.ExecuteScalarAsync<string>("SELECT secret FROM notification_channels WHERE id = @id", new { id = created.Channel.Id });
        Assert.Equal(rotated, harness.Store.Unprotect(stored));
        var summaries = (await connection.QueryAsync<string>("SELECT summary::text FROM audit_log WHERE action = 'alerts.channel-rotate-secret'")).ToList();
        Assert.Single(summaries);
        Assert.DoesNotContain(rotated, summaries[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_BadFields_400NamingEachField()
    {
        var bad = new ChannelSpec(" ", ChannelKind.Email, "https://93.184.216.34/hook", ["ops@example.com", "not an address", "a@b.example"], GroupWait: "2h", GroupInterval: "soon", RepeatInterval: "10s");

        var ex = await Assert.ThrowsAsync<AlertException>(() => harness.Store.CreateAsync(bad, "alice"));

        Assert.Equal(400, ex.Status);
        Assert.Equal(["name", "url", "recipients[1]", "groupWait", "groupInterval", "repeatInterval"], ex.Issues.Select(i => i.Field));
        var webhook = await Assert.ThrowsAsync<AlertException>(() => harness.Store.CreateAsync(new ChannelSpec("x", ChannelKind.Slack, "http://169.254.169.254/latest"), "alice"));
        Assert.Equal(("url", true), (webhook.Issues.Single().Field, webhook.Issues.Single().Message.Contains("link-local", StringComparison.Ordinal)));
        var kind = await Assert.ThrowsAsync<AlertException>(() => harness.Store.CreateAsync(new ChannelSpec("x", "pager", null), "alice"));
        Assert.Equal("kind", kind.Issues.Single().Field);
        var noRecipients = await Assert.ThrowsAsync<AlertException>(() => harness.Store.CreateAsync(new ChannelSpec("x", ChannelKind.Email), "alice"));
        Assert.Equal("recipients", noRecipients.Issues.Single().Field);
        Assert.Empty(await harness.Store.ListAsync());
    }

    [Theory]
    [InlineData(new[] { "alert-name" }, "'alert-name' is not a label name")]
    [InlineData(new[] { "1model" }, "'1model' is not a label name")]
    [InlineData(new[] { "model\n" }, "is not a label name")]
    [InlineData(new[] { "...", "model" }, "stands alone")]
    [InlineData(new[] { "model", "model" }, "names 'model' twice")]
    [InlineData(new[] { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k" }, "at most 10 labels")]
    public async Task Create_BadGroupBy_400NamingGroupBy(string[] groupBy, string message)
    {
        var ex = await Assert.ThrowsAsync<AlertException>(() => harness.Store.CreateAsync(Webhook() with { GroupBy = groupBy }, "alice"));

        Assert.Equal(400, ex.Status);
        var issue = Assert.Single(ex.Issues);
        Assert.Equal("groupBy", issue.Field);
        Assert.Contains(message, issue.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_GroupBy_DefaultAlertnameStoredAsGivenAndChangedByAnUpdate()
    {
        var byDefault = await harness.Store.CreateAsync(Webhook("default"), "alice");
        var everyLabel = await harness.Store.CreateAsync(Webhook("every") with { GroupBy = ["..."] }, "alice");
        var oneGroup = await harness.Store.CreateAsync(Webhook("one") with { GroupBy = [] }, "alice");
        var byTeam = await harness.Store.CreateAsync(Webhook("team") with { GroupBy = ["alertname", "team", "_x9"] }, "alice");

        var updated = await harness.Store.UpdateAsync(byDefault.Channel.Id, byDefault.Channel.Spec with { GroupBy = ["model"] }, "bob");

        Assert.Equal(["alertname"], byDefault.Channel.Spec.GroupBy);
        Assert.Equal(["..."], everyLabel.Channel.Spec.GroupBy);
        Assert.Equal([], oneGroup.Channel.Spec.GroupBy);
        Assert.Equal(["alertname", "team", "_x9"], (await harness.Store.GetAsync(byTeam.Channel.Id))!.Spec.GroupBy);
        Assert.Equal(["model"], updated.Spec.GroupBy);
        Assert.Equal(["model"], (await harness.Store.GetAsync(byDefault.Channel.Id))!.Spec.GroupBy);
    }

    [Fact]
    public async Task Create_EmailWithoutSmtpHost_400NamingKind()
    {
        await using var noSmtp = new DeliveryHarness(database);

        var ex = await Assert.ThrowsAsync<AlertException>(() => noSmtp.Store.CreateAsync(new ChannelSpec("mail", ChannelKind.Email, Recipients: ["ops@example.com"]), "alice"));

        Assert.Equal(400, ex.Status);
        Assert.Equal("kind", ex.Issues.Single().Field);
        Assert.Contains("FraudWorkbench:Alerts:Smtp:Host", ex.Issues.Single().Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_NameInUseAnyCase_409_FreeAgainAfterDelete()
    {
        var first = await harness.Store.CreateAsync(Webhook("Ops"), "alice");

        var taken = await Assert.ThrowsAsync<AlertException>(() => harness.Store.CreateAsync(Webhook("ops"), "alice"));
        await harness.Store.DeleteAsync(first.Channel.Id, "alice");
        var again = await harness.Store.CreateAsync(Webhook("ops"), "alice");

        Assert.Equal(409, taken.Status);
        Assert.Null(await harness.Store.GetAsync(first.Channel.Id));
        Assert.Equal([again.Channel.Id], (await harness.Store.ListAsync()).Select(c => c.Id));
    }

    [Fact]
    public async Task Update_ChangesSpecKeepsSecret_KindCannotChange()
    {
        var created = await harness.Store.CreateAsync(Webhook(), "alice");

        var updated = await harness.Store.UpdateAsync(created.Channel.Id, Webhook("ops-2", "https://93.184.216.35/other") with { Global = true, GroupWait = "0s", SendResolved = false }, "bob");
        var kind = await Assert.ThrowsAsync<AlertException>(() => harness.Store.UpdateAsync(created.Channel.Id, new ChannelSpec("ops-2", ChannelKind.Slack, "https://93.184.216.35/other"), "bob"));
        var missing = await Assert.ThrowsAsync<AlertException>(() => harness.Store.UpdateAsync(Guid.NewGuid(), Webhook("x"), "bob"));

        Assert.Equal(("ops-2", "https://93.184.216.35/other", true, "0s", false, "bob"),
            (updated.Name, updated.Spec.Url, updated.Spec.Global, updated.Spec.GroupWait, updated.Spec.SendResolved, updated.UpdatedBy));
        Assert.True(updated.HasSecret);
        Assert.Equal((400, "kind"), (kind.Status, kind.Issues.Single().Field));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task SendTest_QueuesPendingTestDeliveryAtOnce_DeleteMakesItDead()
    {
        var created = await harness.Store.CreateAsync(Webhook(), "alice");
        var queued = new List<Guid>();
        using var _ = harness.Hub.Subscribe<NotificationQueued>(e => queued.Add(e.DeliveryId));

        var id = await harness.Store.SendTestAsync(created.Channel.Id, "alice");
        var pending = await harness.Store.GetDeliveryAsync(id);
        await harness.Store.DeleteAsync(created.Channel.Id, "alice");
        var dead = await harness.Store.GetDeliveryAsync(id);

        Assert.Equal([id], queued);
        Assert.Equal((DeliveryStatus.Pending, true, "firing", 0), (pending!.Status, pending.Test, pending.AlertStatus, pending.Attempts));
        Assert.Equal((DeliveryStatus.Dead, "The channel was deleted."), (dead!.Status, dead.LastError));
        var resend = await Assert.ThrowsAsync<AlertException>(() => harness.Store.ResendAsync(id, "alice"));
        Assert.Equal(409, resend.Status);
    }

    [Fact]
    public async Task Resend_OnlyDeadLetters_NewPendingRowWithSamePayload()
    {
        var created = await harness.Store.CreateAsync(Webhook(), "alice");
        var id = await harness.Store.SendTestAsync(created.Channel.Id, "alice");

        var notDead = await Assert.ThrowsAsync<AlertException>(() => harness.Store.ResendAsync(id, "alice"));
        await using (var connection = await database.DataSource.OpenConnectionAsync())
            await connection.ExecuteAsync("UPDATE notification_deliveries SET status = 'dead', attempts = 8, dead_at = now() WHERE id = @id", new { id });
        var again = await harness.Store.ResendAsync(id, "alice");
        var unknown = await Assert.ThrowsAsync<AlertException>(() => harness.Store.ResendAsync(Guid.NewGuid(), "alice"));

        Assert.Equal(409, notDead.Status);
        Assert.Equal(404, unknown.Status);
        var rows = await harness.DeliveryRowsAsync();
        Assert.Equal([(id, "dead", 8), (again, "pending", 0)], rows.Select(r => (r.Id, r.Status, r.Attempts)));
        Assert.Equal(rows[0].Payload, rows[1].Payload);
        Assert.Equal([again, id], (await harness.Store.DeliveriesAsync(null, 10)).Select(d => d.Id));
        Assert.Equal([id], (await harness.Store.DeliveriesAsync(DeliveryStatus.Dead, 10)).Select(d => d.Id));
    }
}
