using System.Xml.Linq;
using Dapper;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace FraudWorkbench.Core.Accounts;

/// <summary>
/// Keeps ASP.NET Data Protection keys in PostgreSQL, so sign-in cookies and antiforgery tokens
/// survive restarts and are accepted by every instance on the same database.
/// </summary>
public sealed class DataProtectionKeyRepository(NpgsqlDataSource dataSource) : IXmlRepository
{
    // IXmlRepository is synchronous by contract.
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = dataSource.OpenConnection();
        const string sql = "SELECT xml FROM data_protection_keys ORDER BY created_at";
        return [.. connection.Query<string>(sql).Select(XElement.Parse)];
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = dataSource.OpenConnection();
        const string sql = "INSERT INTO data_protection_keys (name, xml) VALUES (@friendlyName, @xml) ON CONFLICT (name) DO UPDATE SET xml = excluded.xml";
        connection.Execute(sql, new { friendlyName, xml = element.ToString(SaveOptions.DisableFormatting) });
    }
}
