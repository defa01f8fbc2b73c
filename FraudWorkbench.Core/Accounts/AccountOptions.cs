namespace FraudWorkbench.Core.Accounts;

public sealed class AccountOptions
{
    public const string Section = "FraudWorkbench:Accounts";

    /// <summary>Wrong passwords for one account before each further attempt must wait (1 s, doubling up to a minute); a client address gets four times as many.</summary>
    public int MaxFailedSignIns { get; set; } = 5;

    /// <summary>How long failures are remembered after the last one (the name is from when accounts locked).</summary>
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    public int MinPasswordLength { get; set; } = 12;

    /// <summary>Requests per minute from one client address without a sign-in or a valid key (static files and health checks aside).</summary>
    public int AnonymousRequestsPerMinute { get; set; } = 300;

    /// <summary>First admin on an empty database (environment FRAUDWB_ADMIN_EMAIL / FRAUDWB_ADMIN_PASSWORD).</summary>
    public string? AdminEmail { get; set; }

    public string? AdminPassword { get; set; }

    /// <summary>Created with the admin scope when no API key exists yet (environment FRAUDWB_BOOTSTRAP_API_KEY).</summary>
    public string? BootstrapApiKey { get; set; }
}

/// <summary>Bad input for an account operation, naming the field.</summary>
public sealed class AccountValidationException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}
