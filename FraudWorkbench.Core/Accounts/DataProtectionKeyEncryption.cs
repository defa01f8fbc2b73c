using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace FraudWorkbench.Core.Accounts;

public sealed class DataProtectionKeyOptions
{
    public const string Section = "FraudWorkbench:DataProtection";

    /// <summary>A PKCS#12 (.pfx) file with a private key that encrypts the stored keys (environment FRAUDWB_DP_CERT).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The file's password (environment FRAUDWB_DP_CERT_PASSWORD).</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// Read at registration, not through IOptions: Data Protection takes the certificate while services are
    /// registered. Environment variables win over the settings files, as for the other FRAUDWB_ settings.
    /// </summary>
    public static DataProtectionKeyOptions From(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<DataProtectionKeyOptions>() ?? new();
        options.CertificatePath = configuration["FRAUDWB_DP_CERT"] is { Length: > 0 } path ? path : options.CertificatePath;
        options.CertificatePassword = configuration["FRAUDWB_DP_CERT_PASSWORD"] is { Length: > 0 } password ? password : options.CertificatePassword;
        return options;
    }
}

/// <summary>
/// The certificate that encrypts the Data Protection keys <see cref="DataProtectionKeyRepository"/> stores (they
/// sign the sign-in cookies and antiforgery tokens), so a copy of the database is not enough to forge a sign-in.
/// </summary>
public static class DataProtectionKeyEncryption
{
    /// <summary>The configured certificate, or null when none is set; a set but unusable one stops the start with what is wrong.</summary>
    public static X509Certificate2? LoadCertificate(DataProtectionKeyOptions settings)
    {
        if (string.IsNullOrWhiteSpace(settings.CertificatePath)) return null;
        var setting = $"{DataProtectionKeyOptions.Section}:CertificatePath (FRAUDWB_DP_CERT)";
        if (!File.Exists(settings.CertificatePath))
        {
            throw new InvalidOperationException($"{setting}: no file at '{settings.CertificatePath}'.");
        }

        X509Certificate2 loaded;
        try
        {
            loaded = X509CertificateLoader.LoadPkcs12FromFile(settings.CertificatePath, settings.CertificatePassword);
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException($"{setting}: '{settings.CertificatePath}' is not a PKCS#12 file that this password (FRAUDWB_DP_CERT_PASSWORD) opens: {ex.Message}", ex);
        }

        return loaded.HasPrivateKey ? loaded
            : throw new InvalidOperationException($"{setting}: '{settings.CertificatePath}' has no private key, so the keys it encrypts could not be read back.");
    }

    public static void WarnUnencrypted(ILogger logger) => logger.LogWarning(
        "Data Protection keys (they sign sign-in cookies and antiforgery tokens) are stored unencrypted in the database table data_protection_keys: " +
        "whoever can read the database can forge a sign-in. To encrypt them, set {Section}:CertificatePath (environment FRAUDWB_DP_CERT) to a PKCS#12 file " +
        "with a private key, and CertificatePassword (FRAUDWB_DP_CERT_PASSWORD).",
        DataProtectionKeyOptions.Section);
}
