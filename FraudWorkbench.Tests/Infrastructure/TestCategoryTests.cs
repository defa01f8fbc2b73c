using System.Reflection;
using FraudWorkbench.Tests.Browser;
using FraudWorkbench.Tests.Scoring;

namespace FraudWorkbench.Tests.Infrastructure;

/// <summary>
/// `dotnet test --filter "Category!=Browser&amp;Category!=Database"` runs the fast tests alone; it is only
/// true while every test class that starts a browser or PostgreSQL says so.
/// </summary>
public sealed class TestCategoryTests
{
    public const string Browser = "Browser";
    public const string Database = "Database";

    [Fact]
    public void EveryTestClass_UsingABrowserOrPostgres_CarriesItsCategory()
    {
        var missing = new List<string>();
        foreach (var type in typeof(TestCategoryTests).Assembly.GetTypes().Where(HasTests))
        {
            var fixtures = type.GetInterfaces()
                .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IClassFixture<>))
                .Select(i => i.GetGenericArguments()[0])
                .Concat(type.GetConstructors().SelectMany(c => c.GetParameters()).Select(p => p.ParameterType))
                .ToHashSet();
            var needed = fixtures.Contains(typeof(BrowserFixture)) ? Browser
                : fixtures.Overlaps([typeof(DatabaseFixture), typeof(AppFixture), typeof(ScoringFixture)]) ? Database
                : null;
            if (needed is not null && CategoryOf(type) != needed) missing.Add($"{type.Name}: [Trait(\"Category\", \"{needed}\")]");
        }

        Assert.True(missing.Count == 0, "Add the category to: " + string.Join(", ", missing));
    }

    private static bool HasTests(Type type) => type.GetMethods().Any(m => m.GetCustomAttributes<FactAttribute>().Any());

    private static string? CategoryOf(Type type) => type.GetCustomAttributesData()
        .Where(a => a.AttributeType == typeof(TraitAttribute) && (string?)a.ConstructorArguments[0].Value == "Category")
        .Select(a => (string?)a.ConstructorArguments[1].Value)
        .FirstOrDefault();
}
