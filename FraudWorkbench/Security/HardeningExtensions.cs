using FraudWorkbench.Core.Accounts;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;

namespace FraudWorkbench.Security;

public static class HardeningExtensions
{
    /// <summary>The antiforgery cookie's transport and the Data Protection keys' encryption at rest.</summary>
    public static WebApplicationBuilder AddWorkbenchHardening(this WebApplicationBuilder builder)
    {
        var services = builder.Services;

        // The framework's default leaves the antiforgery cookie without Secure even over HTTPS; this sets it
        // whenever the request is HTTPS (behind a proxy: with ASPNETCORE_FORWARDEDHEADERS_ENABLED), and plain
        // HTTP on a laptop still works.
        services.AddAntiforgery(o => o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest);

        if (DataProtectionKeyEncryption.LoadCertificate(DataProtectionKeyOptions.From(builder.Configuration)) is { } certificate)
        {
            services.AddDataProtection().ProtectKeysWithCertificate(certificate);
        }
        else
        {
            // Said once, when the key ring is first set up at start, in place of the key manager's "No XML
            // encryptor configured" for every new key, which does not say what to do. Its errors still get through.
            services.AddOptions<KeyManagementOptions>().Configure<ILogger<DataProtectionKeyRepository>>((_, logger) => DataProtectionKeyEncryption.WarnUnencrypted(logger));
            builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager", LogLevel.Error);
        }

        return builder;
    }
}
