using System.Collections.Concurrent;
using System.Threading.Channels;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Features;

/// <summary>Too many scored transactions wait for their entity histories to be stored: the request is refused (503).</summary>
public sealed class EntityStateBackloggedException() : Exception("The entity histories are not being stored fast enough; retry shortly.");

/// <summary>
/// The online half of the one featurization path: entity histories kept in PostgreSQL per feature set
/// version, one row per entity holding the histories of all its features (<see cref="EntityRow"/>). Each
/// instance keeps a copy of the rows it has seen; scoring one entity takes turns on an instance, computes the
/// transaction's features from the copy and adds the transaction to it.
/// <para>
/// Rows are written on the condition that nobody wrote them in between (each carries a revision), so concurrent
/// scorings on several instances never lose an event and never hold a database lock while they compute. By
/// default (<see cref="EntityStateOptions.WriteBehind"/>) a writer stores the copy behind the responses, in
/// batches, and a row another instance changed is read again and this instance's unwritten transactions added
/// to it: a scoring then costs no database round trip, and another instance's transactions reach this one's
/// features once this one has written that entity after them. Otherwise each scoring waits for its write and,
/// when the row had changed, reads it and computes its features again.
/// </para>
/// </summary>
public sealed class EntityStateStore : BackgroundService
{
    private const int MaxAttempts = 20;
    private const int MaxKnown = 200_000;
    private const int MaxWriteBatch = 512;
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(5);
    private readonly NpgsqlDataSource dataSource;
    private readonly TimeProvider time;
    private readonly EntityStateOptions options;
    private readonly ILogger logger;
    private readonly ConcurrentDictionary<(Guid, string), Entry> known = new();

    // Versions whose every stored history this instance has in `known` (as of a snapshot): a key it does not
    // know is then taken to be new, written as an insert without reading first. A guess like any cached copy:
    // if another instance created it since, the insert finds the row, which is then read and written again.
    private readonly ConcurrentDictionary<Guid, bool> complete = new();
    private readonly Channel<Guid> warmups = Channel.CreateUnbounded<Guid>();
    private readonly ConcurrentDictionary<Guid, bool> warmupAsked = new();
    private long lookups;
    private int forgotten;

    // Entries with transactions not yet stored, each queued once until it has none (write-behind).
    private readonly Channel<Pending> dirty = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private long unwritten;
    // The same per feature set version, for a caller that must know its own recordings stored while others keep scoring.
    private readonly ConcurrentDictionary<Guid, long> unwrittenOf = new();
    private volatile bool writerStarted;
    private TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Reads and writes of concurrent scorings share statements and transactions (group commit): the cost
    // of a round trip, a transaction and a statement is paid once per batch, not once per transaction.
    private readonly GroupCommit<Lookup, (Guid, string), Dictionary<string, (byte[]?, long)>> reads;
    private readonly GroupCommit<Change, (Guid, string), Dictionary<string, long>> writes;

    // Guard the entries too: whoever changes an entry (a scoring, the writer) holds its entity's stripe.
    private readonly SemaphoreSlim[] stripes = [.. Enumerable.Range(0, 1024).Select(_ => new SemaphoreSlim(1, 1))];

    public EntityStateStore(NpgsqlDataSource dataSource, TimeProvider time, IOptions<EntityStateOptions>? options = null, ILogger<EntityStateStore>? logger = null)
    {
        this.dataSource = dataSource;
        this.time = time;
        this.options = options?.Value ?? new EntityStateOptions();
        this.logger = logger ?? NullLogger<EntityStateStore>.Instance;
        reads = new(ReadAsync);
        // One entity's row appears at most once per write statement, so its result tells which change won.
        writes = new(WriteAsync, c => c.Entities.Select(e => (c.VersionId, e)));
    }

    /// <summary>
    /// One entity's row as this instance knows it. <see cref="Stored"/> and <see cref="Revision"/>: as last read from
    /// or written to PostgreSQL (null and 0: no row). <see cref="State"/>: that row with <see cref="Unwritten"/> in it.
    /// </summary>
    private sealed class Entry(byte[]? stored, long revision)
    {
        public byte[]? Stored { get; set; } = stored;

        public long Revision { get; set; } = revision;

        public byte[]? State { get; set; } = stored;

        public List<Observation> Unwritten { get; } = [];

        /// <summary>In the writer's queue (or being written).</summary>
        public bool Queued { get; set; }

        /// <summary>
        /// A write that failed without telling whether it committed (the connection broke): the row it carried and the
        /// transactions in it. If the row is found holding exactly that, those transactions are stored, not added again.
        /// Touched by the writer only.
        /// </summary>
        public (byte[] State, int Count)? InDoubt { get; set; }
    }

    /// <summary>A scored transaction as its entities' histories take it in, kept to add it again to a row read anew.</summary>
    private sealed record Observation(Featurizer Featurizer, string?[] Row, long Ticks);

    private sealed record Pending(Guid VersionId, string Entity, Entry Entry);

    private sealed record Lookup(Guid VersionId, List<string> Entities);

    /// <param name="States">The rows to write, each expected at the revision in <paramref name="Before"/> (0: not there yet).</param>
    private sealed record Change(Guid VersionId, List<string> Entities, Dictionary<string, byte[]> States, Dictionary<string, (byte[]? State, long Revision)> Before);

    /// <summary>Versions a recording call found without a snapshot, for <see cref="EntityStateWarmup"/> to load.</summary>
    public ChannelReader<Guid> WarmupRequests => warmups.Reader;

    /// <summary>Entity rows this instance has had to look up in PostgreSQL (not counting the warm-up snapshot).</summary>
    internal long Lookups => Interlocked.Read(ref lookups);

    /// <summary>Scored transactions in this instance's copy that are not yet stored, counted once per entity.</summary>
    public long Unwritten => Interlocked.Read(ref unwritten);

    /// <summary>Completes once nothing scored on this instance waits to be stored (at once without write-behind).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        // Looked at again after each wake-up: the signal taken may belong to a moment of zero that has passed.
        while (true)
        {
            var signal = Volatile.Read(ref drained);
            if (Unwritten == 0) return;
            await signal.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Completes once nothing recorded on this instance into <paramref name="versionId"/>'s histories waits to be stored.
    /// Unlike <see cref="FlushAsync(CancellationToken)"/> it does not wait for the other versions' traffic, which under
    /// steady load may never leave the instance with nothing unwritten at all.
    /// </summary>
    public async Task FlushAsync(Guid versionId, CancellationToken cancellationToken = default)
    {
        // The writer stores behind a 5 ms linger: polling at its pace costs nothing and needs no signal per version.
        while (unwrittenOf.TryGetValue(versionId, out var left) && left > 0) await Task.Delay(FlushPoll, time, cancellationToken);
    }

    private static readonly TimeSpan FlushPoll = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Drops this instance's copy of <paramref name="versionId"/>'s histories (entries still waiting for the writer stay),
    /// so the next recordings read the stored rows: for a caller that knows another instance recorded into them meanwhile,
    /// whose transactions the copy would otherwise reach only after this instance's next write of each entity.
    /// </summary>
    public void Forget(Guid versionId)
    {
        Interlocked.Increment(ref forgotten);
        complete.TryRemove(versionId, out _);
        warmupAsked.TryRemove(versionId, out _);
        foreach (var (key, entry) in known)
            if (key.Item1 == versionId && !entry.Queued) known.TryRemove(KeyValuePair.Create(key, entry));
    }

    /// <summary>
    /// Loads every stored entity row of <paramref name="versionId"/> into this instance's copy, when there are at most
    /// <paramref name="limit"/>, so that recording calls need no read for entities it knows and none for new ones.
    /// Returns the number loaded, or null when the version has more (its histories are then read as needed).
    /// </summary>
    public async Task<int?> WarmAsync(Guid versionId, int limit = MaxKnown / 2, CancellationToken cancellationToken = default)
    {
        const string sql = """
            SELECT entity, state, revision FROM entity_state
            WHERE feature_set_version_id = @versionId LIMIT @take
            """;
        var generation = Volatile.Read(ref forgotten);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<(string Entity, byte[] State, long Revision)>(
            new CommandDefinition(sql, new { versionId, take = limit + 1 }, cancellationToken: cancellationToken))).AsList();
        // Room for it beside what this instance already holds, or no snapshot: overflowing clears the copy. A snapshot
        // taken before the copy was last dropped (a backfill replaced the histories) is not the version's whole story.
        if (rows.Count > limit || known.Count + rows.Count > MaxKnown || generation != Volatile.Read(ref forgotten)) return null;
        foreach (var row in rows)
        {
            // Revisions only grow: a copy this instance wrote after the snapshot was taken is the newer one.
            // A copy with transactions waiting for the writer is this instance's latest word on the entity.
            known.AddOrUpdate((versionId, row.Entity), new Entry(row.State, row.Revision), (_, mine) => mine.Queued || mine.Revision >= row.Revision ? mine : new Entry(row.State, row.Revision));
        }

        complete[versionId] = true;
        return rows.Count;
    }

    /// <summary>Computes one transaction's features from the stored histories; with <paramref name="record"/> the transaction is added to them.</summary>
    public async Task<float[]> ComputeAsync(Guid versionId, Featurizer featurizer, string?[] row, bool record, CancellationToken cancellationToken = default)
    {
        var output = new float[featurizer.Set.SlotCount];
        var ticks = featurizer.EventTicks(row);
        var keys = new List<(int Feature, string Entity)>();
        if (ticks is not null)
        {
            for (var i = 0; i < featurizer.Set.Features.Count; i++)
                if (featurizer.EntityOf(i, row) is { } entity) keys.Add((i, entity));
        }

        if (keys.Count == 0)
        {
            featurizer.Compute(row, ticks, (_, _) => null, output);
            return output;
        }

        if (!record) return await ComputeOnceAsync(versionId, featurizer, row, ticks, keys, record, output, cancellationToken);
        if (options.WriteBehind && Unwritten >= options.MaxUnwritten) throw new EntityStateBackloggedException();
        if (!complete.ContainsKey(versionId) && warmupAsked.TryAdd(versionId, true)) warmups.Writer.TryWrite(versionId);

        // Recording calls for one entity take turns on this instance, each starting from the copy the one before
        // wrote; racing, all but one would fail their conditional write and go round again. (Other instances'
        // writes are still caught by the revisions.) Striped, in one order, so two entities never deadlock.
        var held = new List<SemaphoreSlim>();
        try
        {
            foreach (var stripe in keys.Select(k => StripeOf(versionId, k.Entity)).Distinct().Order())
            {
                await stripes[stripe].WaitAsync(cancellationToken);
                held.Add(stripes[stripe]);
            }

            return options.WriteBehind
                ? await RecordAsync(versionId, featurizer, row, ticks!.Value, keys, output, cancellationToken)
                : await ComputeOnceAsync(versionId, featurizer, row, ticks, keys, record, output, cancellationToken);
        }
        finally
        {
            foreach (var stripe in held) stripe.Release();
        }
    }

    private async Task<float[]> ComputeOnceAsync(Guid versionId, Featurizer featurizer, string?[] row, long? ticks, List<(int Feature, string Entity)> keys, bool record, float[] output, CancellationToken cancellationToken)
    {
        // Each entity's row as it was before this transaction (stored form, null for a new entity) and its revision (0: new).
        var before = new Dictionary<string, (byte[]? State, long Revision)>();
        // The rows split into their features' histories, and this transaction's keys parsed; recording mutates
        // them, so a retry parses again the rows it touched.
        var parts = new Dictionary<string, Dictionary<int, ReadOnlyMemory<byte>>>();
        var histories = new Dictionary<(int, string), EntityHistory?>();
        List<string> pending = [.. keys.Select(k => k.Entity).Distinct()];
        IReadOnlyList<string> stale = pending;
        for (var attempt = 1; ; attempt++)
        {
            // Once a write has gone in, the call finishes: stopping halfway would leave the transaction in
            // some of its histories, and a retry by the caller would count it twice there.
            if (attempt == 1) cancellationToken.ThrowIfCancellationRequested();
            // The first attempt trusts what this instance last wrote or read; a write that then finds a newer
            // revision (another instance, a backfill) reads again, so a stale copy costs a retry, never an event.
            var unknown = new List<string>();
            foreach (var entity in pending)
            {
                // Only a recording call may trust the copy: its write proves the copy current or sends it back.
                // A read-only call (a dry run, an explanation) has no such check and always reads.
                if (record && attempt == 1 && known.TryGetValue((versionId, entity), out var cached)) before[entity] = (cached.Stored, cached.Revision);
                // Transactions still waiting for the writer are newer than anything stored.
                else if (!record && known.TryGetValue((versionId, entity), out var mine) && mine.Queued) before[entity] = (mine.State, mine.Revision);
                else if (record && attempt == 1 && complete.ContainsKey(versionId)) before[entity] = (null, 0);
                else unknown.Add(entity);
            }

            if (unknown.Count > 0)
            {
                Interlocked.Add(ref lookups, unknown.Count);
                foreach (var (entity, value) in await reads.RunAsync(new Lookup(versionId, unknown)))
                {
                    before[entity] = value;
                    // Written behind, entries change only under their stripe, which a read-only call does not hold.
                    if (record || !options.WriteBehind) Remember(versionId, entity, value);
                }
            }

            // Features come only from the histories as they were before this transaction; each entity's
            // features depend on its own row alone, so entities already written keep theirs.
            foreach (var entity in stale) parts[entity] = EntityRow.Split(before[entity].State);
            foreach (var key in keys.Where(k => stale.Contains(k.Entity)))
                histories[key] = HistoryOf(parts[key.Entity], key.Feature);
            featurizer.Compute(row, ticks, (f, e) => histories.GetValueOrDefault((f, e)), output);
            if (!record) return output;

            var open = pending.ToHashSet();
            featurizer.Observe(row, ticks!.Value, (f, e) => open.Contains(e) ? histories[(f, e)] ??= new EntityHistory() : new EntityHistory());
            var states = pending.ToDictionary(e => e, e => WithHistories(parts[e], keys, histories, e));
            var written = await writes.RunAsync(new Change(versionId, pending, states, before));
            foreach (var (entity, revision) in written) Remember(versionId, entity, (states[entity], revision));
            stale = pending;
            pending = [.. pending.Where(e => !written.ContainsKey(e))];
            if (pending.Count == 0) return output;
            if (attempt == MaxAttempts) throw new TimeoutException($"The entity histories of {string.Join(", ", pending)} kept changing during {MaxAttempts} attempts.");
        }
    }

    /// <summary>One feature's history from a split row (null: none yet).</summary>
    private static EntityHistory? HistoryOf(Dictionary<int, ReadOnlyMemory<byte>> parts, int feature) =>
        parts.TryGetValue(feature, out var stored) ? EntityHistory.FromBytes(stored.Span) : null;

    /// <summary>The entity's row again with the histories of <paramref name="keys"/> in it; its other features' histories as they were.</summary>
    private static byte[] WithHistories(Dictionary<int, ReadOnlyMemory<byte>> parts, List<(int Feature, string Entity)> keys, Dictionary<(int, string), EntityHistory?> histories, string entity)
    {
        var merged = new Dictionary<int, ReadOnlyMemory<byte>>(parts);
        foreach (var key in keys)
            if (key.Entity == entity && histories[key] is { } history) merged[key.Feature] = history.ToBytes();
        return EntityRow.Join(merged);
    }

    private int StripeOf(Guid versionId, string entity) => (HashCode.Combine(versionId, entity) & int.MaxValue) % stripes.Length;

    /// <summary>
    /// Write-behind: the features from this instance's copy, and the transaction added to it for the writer to store.
    /// The caller holds the entities' stripes.
    /// </summary>
    private async Task<float[]> RecordAsync(Guid versionId, Featurizer featurizer, string?[] row, long ticks, List<(int Feature, string Entity)> keys, float[] output, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var entries = new Dictionary<string, Entry>();
        var unknown = new List<string>();
        foreach (var entity in keys.Select(k => k.Entity).Distinct())
        {
            if (known.TryGetValue((versionId, entity), out var entry)) entries[entity] = entry;
            else if (complete.ContainsKey(versionId)) entries[entity] = Adopt(versionId, entity, new Entry(null, 0));
            else unknown.Add(entity);
        }

        if (unknown.Count > 0)
        {
            Interlocked.Add(ref lookups, unknown.Count);
            foreach (var (entity, (state, revision)) in await reads.RunAsync(new Lookup(versionId, unknown)))
                entries[entity] = Adopt(versionId, entity, new Entry(state, revision));
        }

        // Features come only from the histories as they were before this transaction.
        var parts = entries.ToDictionary(e => e.Key, e => EntityRow.Split(e.Value.State));
        var histories = new Dictionary<(int, string), EntityHistory?>();
        foreach (var key in keys)
            histories[key] = HistoryOf(parts[key.Entity], key.Feature);
        featurizer.Compute(row, ticks, (f, e) => histories.GetValueOrDefault((f, e)), output);
        featurizer.Observe(row, ticks, (f, e) => histories[(f, e)] ??= new EntityHistory());

        var observation = new Observation(featurizer, row, ticks);
        foreach (var (entity, entry) in entries)
        {
            entry.State = WithHistories(parts[entity], keys, histories, entity);
            entry.Unwritten.Add(observation);
            Interlocked.Increment(ref unwritten);
            unwrittenOf.AddOrUpdate(versionId, 1, (_, n) => n + 1);
            if (entry.Queued) continue;
            entry.Queued = true;
            dirty.Writer.TryWrite(new Pending(versionId, entity, entry));
        }

        return output;
    }

    /// <summary>This instance's entry for the entity: <paramref name="entry"/>, unless a warm-up put one there first.</summary>
    private Entry Adopt(Guid versionId, string entity, Entry entry)
    {
        if (known.Count >= MaxKnown) Forget(warmAgain: false);
        return known.GetOrAdd((versionId, entity), entry);
    }

    private void Remember(Guid versionId, string entity, (byte[]? State, long Revision) value)
    {
        // A cache, not a source of truth: dropping it all costs reads, never correctness. Revisions only grow,
        // so a late read never replaces a newer copy.
        if (known.Count >= MaxKnown) Forget(warmAgain: false);
        known.AddOrUpdate((versionId, entity), new Entry(value.State, value.Revision), (_, mine) => mine.Queued || mine.Revision >= value.Revision ? mine : new Entry(value.State, value.Revision));
    }

    /// <param name="warmAgain">False when the copy overflowed: loading the same versions again would only overflow it again.</param>
    private void Forget(bool warmAgain)
    {
        Interlocked.Increment(ref forgotten);
        complete.Clear();
        if (warmAgain) warmupAsked.Clear();
        // Entries with transactions waiting for the writer stay: dropping them would drop the transactions.
        foreach (var (key, entry) in known)
            if (!entry.Queued) known.TryRemove(KeyValuePair.Create(key, entry));
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        writerStarted = true;
        return WriteUntilStoppedAsync(stoppingToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // A host stopping as it starts can cancel the writer before it ever ran: this call then stores what is queued.
        if (!writerStarted && Unwritten > 0) await WriteUntilStoppedAsync(new CancellationToken(canceled: true));
    }

    private async Task WriteUntilStoppedAsync(CancellationToken stoppingToken)
    {
        var reader = dirty.Reader;
        var failures = 0;
        // Entries PostgreSQL refused on their own (a row it will not take), waiting apart so they never hold up the
        // rest: each goes back into a batch when its time comes. Touched by this loop only.
        var parked = new List<(Pending Item, long Due, int Refusals)>();
        // Not stopped by stoppingToken: on shutdown (the web server has stopped taking requests by then) the
        // writer goes on until every entry is stored, unless the database keeps failing.
        while (true)
        {
            var now = time.GetTimestamp();
            // Stopping, nothing waits for its time: the host gives shutdown half a minute.
            var stopping = stoppingToken.IsCancellationRequested;
            var dueBy = stopping ? long.MaxValue : now;
            var refusals = parked.Where(p => p.Due <= dueBy).ToDictionary(p => p.Item, p => p.Refusals);
            parked.RemoveAll(p => p.Due <= dueBy);
            var batch = refusals.Keys.ToList();
            // One row per entity in a statement (an entry dropped from the copy and made again can be queued twice).
            var later = new List<Pending>();
            var keys = batch.Select(p => (p.VersionId, p.Entity)).ToHashSet();
            while (batch.Count < MaxWriteBatch && reader.TryRead(out var item)) (keys.Add((item.VersionId, item.Entity)) ? batch : later).Add(item);
            foreach (var item in later) dirty.Writer.TryWrite(item);
            if (batch.Count == 0)
            {
                // Stopping, every parked entry was due, so nothing is left.
                if (stopping) return;
                try
                {
                    using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    if (parked.Count > 0) wake.CancelAfter(time.GetElapsedTime(now, parked.Min(p => p.Due)).Duration());
                    await reader.WaitToReadAsync(wake.Token);
                    // A moment for the next entries to join the first: one statement per few ms instead of one per
                    // scoring or two, and a hot entity's transactions stored together.
                    await Task.Delay(Linger, wake.Token);
                }
                catch (OperationCanceledException)
                {
                    // Stopping, or a parked entry's time: the next round takes it from there.
                }

                continue;
            }

            try
            {
                if (await WriteBehindAsync(batch)) failures = 0;
                else await BackOffAsync(); // rows changed elsewhere could not be read: queued again, tried after a pause
            }
            catch (PostgresException ex) when (!ex.IsTransient)
            {
                // PostgreSQL refused the statement: most likely for one row's sake, so each entry is tried alone and
                // only those it refuses again are parked.
                foreach (var item in batch)
                {
                    var refused = ex;
                    if (batch.Count > 1)
                    {
                        try
                        {
                            await WriteBehindAsync([item]);
                            continue;
                        }
                        catch (PostgresException alone)
                        {
                            refused = alone;
                        }
                        catch (Exception other)
                        {
                            logger.LogWarning(other, "Storing an entity history failed; retrying");
                            dirty.Writer.TryWrite(item);
                            continue;
                        }
                    }

                    var count = refusals.GetValueOrDefault(item) + 1;
                    if (stoppingToken.IsCancellationRequested && count >= 5)
                    {
                        logger.LogError(refused, "Shutting down without storing an entity history PostgreSQL refused {Count} times: its transactions since it was last stored are lost", count);
                        await DropAsync(item);
                        continue;
                    }

                    logger.LogWarning(refused, "Storing an entity history failed ({State}, refused {Count} times); retrying it on its own", refused.SqlState, count);
                    parked.Add((item, time.GetTimestamp() + (long)(Math.Min(60, Math.Pow(2, count - 1)) * time.TimestampFrequency), count));
                }
            }
            catch (Exception ex)
            {
                // The database is out of reach: everything waits in the copy, counting towards MaxUnwritten, so a database
                // that stays down turns scoring into 503s, never into loss. Whatever the failure, the writer carries on.
                foreach (var item in batch) dirty.Writer.TryWrite(item);
                logger.LogWarning(ex, "Storing the entity histories of {Count} entities failed (attempt {Attempt}); retrying", batch.Count, failures + 1);
                await BackOffAsync();
            }

            if (stoppingToken.IsCancellationRequested && failures >= 5)
            {
                logger.LogError("Shutting down with {Count} scored transactions not stored in their entity histories", Unwritten);
                return;
            }
        }

        Task BackOffAsync()
        {
            failures++;
            return Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * failures * failures)), CancellationToken.None);
        }
    }

    /// <summary>Gives up on an entry's unwritten transactions (only when stopping, after PostgreSQL refused it repeatedly).</summary>
    private async Task DropAsync(Pending item)
    {
        var count = 0;
        await OnStripeAsync(item, entry =>
        {
            count = entry.Unwritten.Count;
            entry.Unwritten.Clear();
            entry.Queued = false;
        });
        known.TryRemove(KeyValuePair.Create((item.VersionId, item.Entity), item.Entry));
        Stored(item.VersionId, count);
    }

    /// <summary>Counts <paramref name="count"/> transactions as no longer waiting, and wakes <see cref="FlushAsync(CancellationToken)"/> when none is.</summary>
    private void Stored(Guid versionId, int count)
    {
        if (count != 0) unwrittenOf.AddOrUpdate(versionId, -count, (_, n) => n - count);
        if (Interlocked.Add(ref unwritten, -count) == 0) Interlocked.Exchange(ref drained, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>
    /// Stores the batch's entries on the condition that their rows are still at the revisions they were read at; a row
    /// that changed is read again, the entry's unwritten transactions are added to it, and the entry queued again.
    /// Throws only when the write itself failed, with every entry as it was.
    /// </summary>
    private async Task<bool> WriteBehindAsync(List<Pending> batch)
    {
        // What each write carries: the row with the entry's transactions so far, and how many they are. Later
        // transactions are added to the entry meanwhile and go with the next write.
        var sent = new List<(Pending Item, byte[] State, long Revision, int Count)>(batch.Count);
        foreach (var item in batch) await OnStripeAsync(item, entry => sent.Add((item, entry.State!, entry.Revision, entry.Unwritten.Count)));

        // A failure here leaves every entry as it was, for the caller to queue again.
        Dictionary<string, long>[] written;
        try
        {
            written = await WriteAsync([.. sent.Select(s => new Change(s.Item.VersionId, [s.Item.Entity],
                new Dictionary<string, byte[]> { [s.Item.Entity] = s.State }, new Dictionary<string, (byte[]?, long)> { [s.Item.Entity] = (null, s.Revision) }))]);
        }
        catch (Exception ex) when (ex is not PostgresException)
        {
            // PostgreSQL answering with an error rolled the statement back; anything else may have come after the commit.
            foreach (var (item, state, _, count) in sent) item.Entry.InDoubt = (state, count);
            throw;
        }

        var changed = new List<Pending>();
        for (var i = 0; i < sent.Count; i++)
        {
            var (item, state, _, count) = sent[i];
            if (!written[i].TryGetValue(item.Entity, out var revision))
            {
                changed.Add(item);
                continue;
            }

            await OnStripeAsync(item, entry =>
            {
                entry.Stored = state;
                entry.Revision = revision;
                entry.InDoubt = null;
                entry.Unwritten.RemoveRange(0, count);
                if (entry.Unwritten.Count > 0) dirty.Writer.TryWrite(item);
                else entry.Queued = false;
            });
            Stored(item.VersionId, count);
        }

        if (changed.Count == 0) return true;
        try
        {
            var rows = await ReadAsync([.. changed.Select(c => new Lookup(c.VersionId, [c.Entity]))]);
            for (var i = 0; i < changed.Count; i++)
            {
                var (stored, revision) = rows[i][changed[i].Entity];
                var committed = 0;
                await OnStripeAsync(changed[i], entry =>
                {
                    entry.Stored = stored;
                    entry.Revision = revision;
                    if (entry.InDoubt is { } doubt && stored is not null && stored.AsSpan().SequenceEqual(doubt.State))
                    {
                        // The write in doubt did commit: its transactions are in the row, the later ones already on top in State.
                        committed = doubt.Count;
                        entry.Unwritten.RemoveRange(0, committed);
                    }
                    else entry.State = Replay(stored, changed[i].Entity, entry.Unwritten);

                    entry.InDoubt = null;
                });
                Stored(changed[i].VersionId, committed);
            }

            return true;
        }
        catch (Exception ex)
        {
            // What was stored stays stored; the rest keeps its old revision, which fails the write again and is read then.
            logger.LogWarning(ex, "Reading {Count} entity histories changed elsewhere failed; retrying", changed.Count);
            return false;
        }
        finally
        {
            foreach (var item in changed) dirty.Writer.TryWrite(item);
        }
    }

    private async Task OnStripeAsync(Pending item, Action<Entry> change)
    {
        var stripe = stripes[StripeOf(item.VersionId, item.Entity)];
        await stripe.WaitAsync();
        try
        {
            change(item.Entry);
        }
        finally
        {
            stripe.Release();
        }
    }

    /// <summary>The row <paramref name="stored"/> with <paramref name="observations"/> added to the histories of <paramref name="entity"/>, in order.</summary>
    private static byte[] Replay(byte[]? stored, string entity, List<Observation> observations)
    {
        var parts = EntityRow.Split(stored);
        var histories = new Dictionary<int, EntityHistory>();
        foreach (var o in observations)
        {
            o.Featurizer.Observe(o.Row, o.Ticks, (f, e) =>
            {
                if (e != entity) return new EntityHistory(); // another entity's row: not this one's business
                if (!histories.TryGetValue(f, out var history)) histories[f] = history = HistoryOf(parts, f) ?? new EntityHistory();
                return history;
            });
        }

        foreach (var (feature, history) in histories) parts[feature] = history.ToBytes();
        return EntityRow.Join(parts);
    }

    private async Task<Dictionary<string, (byte[]?, long)>[]> ReadAsync(List<Lookup> lookups)
    {
        const string sql = """
            SELECT t.i, es.state, es.revision
            FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS t(v, e, i)
            JOIN entity_state es ON es.feature_set_version_id = t.v AND es.entity = t.e
            """;
        var keys = lookups.SelectMany((l, n) => l.Entities.Select(e => (Lookup: n, l.VersionId, Entity: e))).ToList();
        var found = lookups.Select(l => l.Entities.Distinct().ToDictionary(e => e, _ => ((byte[]?)null, 0L))).ToArray();
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.VersionId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.Entity).ToArray() });
        await using var reader = await command.ExecuteReaderAsync(CancellationToken.None);
        while (await reader.ReadAsync(CancellationToken.None))
        {
            var key = keys[(int)reader.GetInt64(0) - 1];
            found[key.Lookup][key.Entity] = (reader.GetFieldValue<byte[]>(1), reader.GetInt64(2));
        }

        return found;
    }

    /// <summary>
    /// Writes each entity row that still has the revision it was read at (or, for a new entity, still does
    /// not exist) and returns, per change, the entities written. Without synchronous commit: a crash can
    /// lose the last moment of history updates, never corrupt them — a fair price for velocity counts.
    /// </summary>
    private async Task<Dictionary<string, long>[]> WriteAsync(List<Change> changes)
    {
        const string sql = """
            WITH input AS (SELECT * FROM unnest($2::int[], $3::uuid[], $4::text[], $5::bytea[], $6::bigint[]) AS t(c, v, e, s, rev)),
            updated AS (
                UPDATE entity_state es SET state = i.s, revision = nextval('entity_state_revision'), updated_at = $1
                FROM input i
                WHERE es.feature_set_version_id = i.v AND es.entity = i.e AND i.rev > 0 AND es.revision = i.rev
                RETURNING i.c, es.entity, es.revision),
            inserted AS (
                INSERT INTO entity_state (feature_set_version_id, entity, state, updated_at)
                SELECT i.v, i.e, i.s, $1 FROM input i WHERE i.rev = 0
                ON CONFLICT DO NOTHING
                RETURNING feature_set_version_id, entity, revision)
            SELECT c, entity, revision FROM updated
            UNION ALL
            SELECT i.c, n.entity, n.revision FROM inserted n JOIN input i ON i.v = n.feature_set_version_id AND i.e = n.entity
            """;
        // Rows in key order; PostgreSQL's plan decides the order it locks them in, so a deadlock with a writer on
        // another instance stays possible and is handled below.
        var rows = changes.SelectMany((c, n) => c.Entities.Select(e => (Change: n, c.VersionId, Entity: e, State: c.States[e], c.Before[e].Revision)))
            .OrderBy(r => r.VersionId).ThenBy(r => r.Entity, StringComparer.Ordinal).ToList();
        var written = changes.Select(_ => new Dictionary<string, long>()).ToArray();
        // The statements of a batch run in one implicit transaction: no BEGIN or COMMIT to send, and a
        // failure rolls it back whole. set_config, not SET LOCAL, which warns outside BEGIN. A row locked for
        // long (a backfill replacing the version's state) makes the flush give up after a second rather than
        // hold every scoring on this instance behind it.
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT set_config('synchronous_commit', 'off', true), set_config('lock_timeout', '1s', true)"));
        var write = new NpgsqlBatchCommand(sql);
        write.Parameters.Add(new NpgsqlParameter { Value = time.GetUtcNow().UtcDateTime });
        write.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Change).ToArray() });
        write.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.VersionId).ToArray() });
        write.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Entity).ToArray() });
        write.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.State).ToArray() });
        write.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Revision).ToArray() });
        batch.BatchCommands.Add(write);
        try
        {
            await using var reader = await batch.ExecuteReaderAsync(CancellationToken.None);
            do
            {
                if (reader.FieldCount != 3) continue;
                while (await reader.ReadAsync(CancellationToken.None)) written[reader.GetInt32(0)][reader.GetString(1)] = reader.GetInt64(2);
            }
            while (await reader.NextResultAsync(CancellationToken.None));
            return written;
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.LockNotAvailable)
        {
            // Writers on two instances locked shared rows in turn and PostgreSQL chose this one, or a row stayed
            // locked: nothing was written, so every change reads its rows again and retries.
            return [.. changes.Select(_ => new Dictionary<string, long>())];
        }
    }

    /// <summary>
    /// Replaces the version's entity state with the histories a dataset's rows leave behind, so scoring
    /// starts from the customers' history instead of from nothing.
    /// </summary>
    public async Task<int> BackfillAsync(Guid versionId, FittedFeatureSet set, IReadOnlyList<string?[]> rows, CancellationToken cancellationToken = default)
    {
        var featurizer = new Featurizer(set);
        var histories = new Dictionary<(int, string), EntityHistory>();
        foreach (var (row, ticks) in rows.Select(r => (Row: r, Ticks: featurizer.EventTicks(r))).Where(x => x.Ticks is not null).OrderBy(x => x.Ticks))
        {
            featurizer.Observe(row, ticks!.Value, (f, e) =>
            {
                if (!histories.TryGetValue((f, e), out var h)) histories[(f, e)] = h = new EntityHistory();
                return h;
            });
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // One backfill of a version at a time. Scorings take no lock: a write against a row this replaced
        // finds a new revision (or a row where it expected none) and is redone from the backfilled history.
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(hashtextextended(@v, 0))",
            new { v = versionId.ToString() }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM entity_state WHERE feature_set_version_id = @versionId", new { versionId }, transaction, cancellationToken: cancellationToken));
        var entities = histories.GroupBy(h => h.Key.Item2, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => EntityRow.Join(g.Select(h => KeyValuePair.Create(h.Key.Item1, (ReadOnlyMemory<byte>)h.Value.ToBytes()))), StringComparer.Ordinal);
        await SaveAsync(connection, transaction, versionId, entities, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        Forget(warmAgain: true);
        return entities.Count;
    }

    private async Task SaveAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid versionId, Dictionary<string, byte[]> entities, CancellationToken cancellationToken)
    {
        const string upsert = """
            INSERT INTO entity_state (feature_set_version_id, entity, state, updated_at)
            SELECT @versionId, e, s, @now FROM unnest(@entities, @states) AS t(e, s)
            ON CONFLICT (feature_set_version_id, entity)
            DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, revision = nextval('entity_state_revision')
            """;
        foreach (var chunk in entities.Chunk(5_000))
        {
            await connection.ExecuteAsync(new CommandDefinition(upsert, new
            {
                versionId,
                now = time.GetUtcNow().UtcDateTime,
                entities = chunk.Select(e => e.Key).ToArray(),
                states = chunk.Select(e => e.Value).ToArray(),
            }, transaction, cancellationToken: cancellationToken));
        }
    }
}
