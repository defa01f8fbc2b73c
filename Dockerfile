# syntax=docker/dockerfile:1
# Build: restore first (cached while only sources change), then publish.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig FraudWorkbench.sln appsettings.json ./
COPY FraudWorkbench/FraudWorkbench.csproj FraudWorkbench/
COPY FraudWorkbench.Core/FraudWorkbench.Core.csproj FraudWorkbench.Core/
RUN dotnet restore FraudWorkbench/FraudWorkbench.csproj
COPY FraudWorkbench/ FraudWorkbench/
COPY FraudWorkbench.Core/ FraudWorkbench.Core/
COPY data-samples/ data-samples/
RUN dotnet publish FraudWorkbench/FraudWorkbench.csproj -c Release -o /app --no-restore

# Run: ASP.NET runtime, LightGBM's OpenMP runtime (libgomp1) and fonts for server-side charts and the PDF report.
FROM mcr.microsoft.com/dotnet/aspnet:10.0
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
# The image has no PostgreSQL server: set ConnectionStrings__Postgres (docker-compose.yml does).
ENV ASPNETCORE_URLS=http://+:8080 \
    FRAUDWB_DATA_DIR=/data
RUN mkdir -p /data && chown app:app /data
VOLUME /data
USER app
EXPOSE 8080
ENTRYPOINT ["dotnet", "FraudWorkbench.dll"]
