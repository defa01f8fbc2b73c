namespace FraudWorkbench.Core.Accounts;

/// <summary>
/// Slows sign-in down after repeated failures instead of locking accounts: a lock lets anyone who knows an
/// email shut its owner out, and a locked account that answers differently tells which emails exist. Failures
/// count per account name (whether or not it exists, so the answer is the same) and per client address; past
/// a free allowance each further failure doubles the wait before the next attempt, up to <see cref="MaxDelay"/>.
/// An attempt is counted before its password is checked, so a burst of parallel guesses is slowed as a series would be.
/// Kept per instance: with several instances an attacker gets each one's allowance.
/// </summary>
public sealed class SignInThrottle(int freeAttemptsPerAccount, TimeSpan forgetAfter)
{
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(1);

    /// <summary>A client address gets this many times an account's allowance (people behind one NAT sign in from one address).</summary>
    public const int ClientAllowanceFactor = 4;

    private const int MaxEntries = 100_000;
    private readonly Dictionary<string, Entry> entries = [];

    private sealed class Entry
    {
        public int Failures;
        public DateTime Last;
    }

    /// <summary>
    /// Counts an attempt for <paramref name="account"/> from <paramref name="client"/> unless one of them must still wait;
    /// then returns how long (and counts nothing).
    /// </summary>
    public TimeSpan? TryBegin(string account, string? client, DateTime now)
    {
        lock (entries)
        {
            Forget(now);
            var wait = Max(WaitOf(AccountKey(account), freeAttemptsPerAccount, now), client is null ? TimeSpan.Zero : WaitOf(ClientKey(client), freeAttemptsPerAccount * ClientAllowanceFactor, now));
            if (wait > TimeSpan.Zero) return wait;
            Count(AccountKey(account), now);
            if (client is not null) Count(ClientKey(client), now);
            return null;
        }
    }

    /// <summary>
    /// The attempt succeeded: the account starts afresh, and the client address loses only this attempt's count
    /// (so colleagues behind one address are not slowed by each other's sign-ins, and one good account cannot wipe its failures).
    /// </summary>
    public void Succeeded(string account, string? client)
    {
        lock (entries)
        {
            entries.Remove(AccountKey(account));
            if (client is not null && entries.TryGetValue(ClientKey(client), out var e) && --e.Failures <= 0) entries.Remove(ClientKey(client));
        }
    }

    /// <summary>True when the attempt just counted used up the account's free allowance (worth an audit entry once).</summary>
    public bool JustExceeded(string account)
    {
        lock (entries) return entries.TryGetValue(AccountKey(account), out var e) && e.Failures == freeAttemptsPerAccount;
    }

    /// <summary>When the account may next try, or null if it need not wait.</summary>
    public DateTime? NextAttempt(string account, DateTime now)
    {
        lock (entries)
        {
            var wait = WaitOf(AccountKey(account), freeAttemptsPerAccount, now);
            return wait > TimeSpan.Zero ? now + wait : null;
        }
    }

    public void Clear(string account)
    {
        lock (entries) entries.Remove(AccountKey(account));
    }

    /// <summary>The wait after <paramref name="failures"/> failures with <paramref name="free"/> free: none before, then 1 s, 2 s, 4 s, … up to <see cref="MaxDelay"/>.</summary>
    public static TimeSpan Delay(int failures, int free) =>
        failures < free ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(MaxDelay.TotalSeconds, Math.Pow(2, Math.Min(30, failures - free))));

    private TimeSpan WaitOf(string key, int free, DateTime now) =>
        entries.TryGetValue(key, out var e) ? Max(TimeSpan.Zero, e.Last + Delay(e.Failures, free) - now) : TimeSpan.Zero;

    private void Count(string key, DateTime now)
    {
        if (!entries.TryGetValue(key, out var e)) entries[key] = e = new Entry();
        if (now - e.Last > forgetAfter) e.Failures = 0;
        e.Failures++;
        e.Last = now;
    }

    private void Forget(DateTime now)
    {
        if (entries.Count < MaxEntries) return;
        foreach (var key in entries.Where(e => now - e.Value.Last > forgetAfter).Select(e => e.Key).ToList()) entries.Remove(key);
        // Still full (a flood of fresh names): keep the most recent half rather than grow without bound.
        if (entries.Count >= MaxEntries)
        {
            foreach (var key in entries.OrderBy(e => e.Value.Last).Take(entries.Count / 2).Select(e => e.Key).ToList()) entries.Remove(key);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static string AccountKey(string account) => "account:" + account.Trim().ToLowerInvariant();

    private static string ClientKey(string client) => "client:" + client;
}
