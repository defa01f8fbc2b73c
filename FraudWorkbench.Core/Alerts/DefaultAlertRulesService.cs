using System.Threading.Channels;
using Dapper;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Registry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Alerts;

/// <summary>
/// Adds the default rules when a model is promoted to production for the first time (with
/// <see cref="AlertsOptions.DefaultRulesOnPromotion"/>). A later promotion or a rollback adds nothing, so defaults someone
/// deleted stay deleted. Every instance hears the promotion; the unique rule names let only one of them add each rule.
/// </summary>
public sealed class DefaultAlertRulesService(
    NpgsqlDataSource dataSource, AlertRuleStore rules, EventHub events, IOptions<AlertsOptions> options, ILogger<DefaultAlertRulesService> logger) : BackgroundService
{
    private readonly Channel<ModelStageChanged> promotions = Channel.CreateUnbounded<ModelStageChanged>(new UnboundedChannelOptions { SingleReader = true });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = events.Subscribe<ModelStageChanged>(e =>
        {
            if (e.Stage == ModelStage.Production) promotions.Writer.TryWrite(e);
        });
        await foreach (var promotion in promotions.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await HandleAsync(promotion, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Could not add the default alert rules for model {Model}", promotion.ModelName);
            }
        }
    }

    /// <summary>Adds the defaults when <paramref name="promotion"/> is the model's first move to production (and the option is on); returns the rules added.</summary>
    public async Task<IReadOnlyList<AlertRule>> HandleAsync(ModelStageChanged promotion, CancellationToken cancellationToken)
    {
        if (!options.Value.DefaultRulesOnPromotion || promotion.Stage != ModelStage.Production) return [];
        const string sql = "SELECT count(*) FROM model_stage_history WHERE registered_model_id = @id AND to_stage = 'production'";
        long promotionsSoFar;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            promotionsSoFar = await connection.ExecuteScalarAsync<long>(new CommandDefinition(sql, new { id = promotion.RegisteredModelId }, cancellationToken: cancellationToken));
        }

        if (promotionsSoFar != 1) return [];
        var added = await rules.AddDefaultsAsync(promotion.ModelName, AlertRuleStore.SystemActor, cancellationToken);
        if (added.Count > 0) logger.LogInformation("Added {Count} default alert rules for model {Model}, first promoted to production", added.Count, promotion.ModelName);
        return added;
    }
}
