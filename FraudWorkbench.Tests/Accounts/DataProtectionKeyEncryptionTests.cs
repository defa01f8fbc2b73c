using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Dapper;
using FraudWorkbench.Tests.Infrastructure;
using Npgsql;

namespace FraudWorkbench.Tests.Accounts;

[Trait("Category", "Database")]
public sealed class DataProtectionKeyEncryptionTests : IDisposable
{
    private const string Unencrypted = "stored unencrypted in the database table data_protection_keys";
    private const string FrameworkWarning = "No XML encryptor configured";

    private readonly string certificateDirectory = Directory.CreateTempSubdirectory("fwb-dpcert-").FullName;

    [Fact]
    public async Task Start_WithCertificate_StoredKeysAreEncryptedAndASignInWorksOnAFreshInstance()
    {
        var (path, password) = CreateCertificate();
        var settings = new Dictionary<string, string?> { ["FRAUDWB_DP_CERT"] = path, ["FRAUDWB_DP_CERT_PASSWORD"] = password };
        var database = await PostgresServer.CreateDatabaseAsync();
        string authCookie;
        await using (var first = new WorkbenchAppFactory(database, settings))
        {
            var cookies = new CookieContainer();
            using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies }) { BaseAddress = first.BaseAddress };
            Assert.Equal(HttpStatusCode.Redirect, (await WorkbenchAppFactory.SignInAsync(client, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).StatusCode);
            authCookie = cookies.GetCookieHeader(first.BaseAddress);
            Assert.DoesNotContain(first.Logs, l => l.Contains(Unencrypted) || l.Contains(FrameworkWarning));
        }

        var keys = await StoredKeysAsync(database);
        Assert.NotEmpty(keys);
        Assert.All(keys, xml =>
        {
            Assert.Contains("EncryptedData", xml);
            Assert.DoesNotContain("<masterKey", xml);
        });

        // A new instance reads the encrypted key back from the database and accepts the first one's cookie.
        await using var second = new WorkbenchAppFactory(database, settings);
        using var again = second.CreateHttpClient();
        again.DefaultRequestHeaders.Add("Cookie", authCookie);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task Start_WithoutCertificate_OneWarningSayingWhatToSetAndNoneFromTheFramework()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        await using var app = new WorkbenchAppFactory(database);

        // The sign-in form and a sign-in need the key ring, so a key has been created by then.
        using var client = await app.SignedInClientAsync();

        Assert.NotEmpty(await StoredKeysAsync(database));
        var ours = Assert.Single(app.Logs, l => l.Contains(Unencrypted));
        Assert.Contains("FRAUDWB_DP_CERT", ours);
        Assert.Contains("FraudWorkbench:DataProtection:CertificatePath", ours);
        Assert.DoesNotContain(app.Logs, l => l.Contains(FrameworkWarning));
    }

    [Fact]
    public async Task Start_CertificatePathWithoutAFile_FailsNamingTheSetting()
    {
        var settings = new Dictionary<string, string?> { ["FRAUDWB_DP_CERT"] = Path.Combine(certificateDirectory, "missing.pfx") };
        await using var app = new WorkbenchAppFactory(await PostgresServer.CreateDatabaseAsync(), settings);

        var error = Assert.ThrowsAny<Exception>(() => app.StartServer());

        Assert.Contains("FRAUDWB_DP_CERT", error.ToString());
        Assert.Contains("missing.pfx", error.ToString());
    }

    private (string Path, string Password) CreateCertificate()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=FraudWorkbench Data Protection (test)", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var password = Guid.NewGuid().ToString("N");
        var path = Path.Combine(certificateDirectory, "dp.pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return (path, password);
    }

    private static async Task<List<string>> StoredKeysAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return [.. await connection.QueryAsync<string>("SELECT xml FROM data_protection_keys")];
    }

    public void Dispose() => Directory.Delete(certificateDirectory, recursive: true);
}
