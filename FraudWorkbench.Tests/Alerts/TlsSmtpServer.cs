using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>
/// A submission server for tests, written here because netDumbster speaks neither STARTTLS nor a real AUTH: it offers only
/// STARTTLS until the connection is encrypted, AUTH (the given mechanisms) only after, and refuses MAIL before a login with
/// the expected credentials, as a port-587 server does. It records every login attempt and every message.
/// </summary>
public sealed class TlsSmtpServer : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly X509Certificate2 certificate;
    private readonly string userName;
    private readonly string password;
    private readonly string mechanisms;
    private readonly Task accepting;

    /// <param name="mechanisms">The AUTH mechanisms offered after STARTTLS: PLAIN, LOGIN or both.</param>
    public TlsSmtpServer(X509Certificate2 certificate, string userName, string password, string mechanisms = "PLAIN LOGIN")
    {
        (this.certificate, this.userName, this.password, this.mechanisms) = (certificate, userName, password, mechanisms);
        listener.Start();
        accepting = AcceptAsync();
    }

    public sealed record Login(string Mechanism, string UserName, string Password, bool Encrypted, bool Accepted);

    public sealed record Message(string From, IReadOnlyList<string> To, string Data, bool Encrypted);

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    public ConcurrentQueue<Login> Logins { get; } = new();

    public ConcurrentQueue<Message> Messages { get; } = new();

    /// <summary>Each command as received (AUTH payloads left out), for a failing test's message.</summary>
    public ConcurrentQueue<string> Commands { get; } = new();

    /// <summary>A self-signed certificate for <c>localhost</c> with its private key, as a server needs it.</summary>
    public static X509Certificate2 SelfSignedCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        // Reloaded from PKCS#12 so the key is usable by the TLS stack on every platform (an ephemeral key is not on some).
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    private async Task AcceptAsync()
    {
        var sessions = new List<Task>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(stop.Token);
                sessions.Add(ServeAsync(client));
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        await Task.WhenAll(sessions);
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        Stream stream = client.GetStream();
        var reader = new LineReader(stream);
        var encrypted = false;
        var loggedIn = false;
        string? from = null;
        var to = new List<string>();
        try
        {
            await WriteAsync(stream, "220 localhost ESMTP test server");
            while (await reader.ReadLineAsync(stop.Token) is { } line)
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var verb = parts.Length == 0 ? "" : parts[0].ToUpperInvariant();
                Commands.Enqueue(verb == "AUTH" ? $"AUTH {(parts.Length > 1 ? parts[1] : "")}" : line);
                switch (verb)
                {
                    case "EHLO":
                        await WriteAsync(stream, encrypted ? $"250-localhost\r\n250-AUTH {mechanisms}\r\n250 HELP" : "250-localhost\r\n250-STARTTLS\r\n250 HELP");
                        break;
                    case "HELO":
                        await WriteAsync(stream, "250 localhost");
                        break;
                    case "STARTTLS" when encrypted:
                        await WriteAsync(stream, "503 5.5.1 TLS already active");
                        break;
                    case "STARTTLS":
                        if (reader.Buffered) throw new InvalidOperationException("The client sent data after STARTTLS before the server's answer.");
                        await WriteAsync(stream, "220 2.0.0 Ready to start TLS");
                        var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, stop.Token);
                        (stream, reader, encrypted) = (tls, new LineReader(tls), true);
                        break;
                    case "AUTH" when !encrypted:
                        await WriteAsync(stream, "538 5.7.11 Encryption required for requested authentication mechanism");
                        break;
                    case "AUTH":
                        loggedIn = await AuthenticateAsync(stream, reader, parts);
                        break;
                    case "MAIL" when !loggedIn:
                        await WriteAsync(stream, "530 5.7.0 Authentication required");
                        break;
                    case "MAIL":
                        from = Address(line);
                        to.Clear();
                        await WriteAsync(stream, "250 2.1.0 OK");
                        break;
                    case "RCPT" when from is null:
                        await WriteAsync(stream, "503 5.5.1 MAIL first");
                        break;
                    case "RCPT":
                        to.Add(Address(line));
                        await WriteAsync(stream, "250 2.1.5 OK");
                        break;
                    case "DATA" when to.Count == 0:
                        await WriteAsync(stream, "503 5.5.1 RCPT first");
                        break;
                    case "DATA":
                        await WriteAsync(stream, "354 End data with <CR><LF>.<CR><LF>");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync(stop.Token) is { } dataLine && dataLine != ".")
                        {
                            // RFC 5321 4.5.2: a leading dot was doubled by the client.
                            data.Append(dataLine.StartsWith("..", StringComparison.Ordinal) ? dataLine[1..] : dataLine).Append("\r\n");
                        }

                        Messages.Enqueue(new Message(from!, [.. to], data.ToString(), encrypted));
                        (from, to) = (null, []);
                        await WriteAsync(stream, "250 2.0.0 Queued");
                        break;
                    case "RSET":
                        (from, to) = (null, []);
                        await WriteAsync(stream, "250 2.0.0 OK");
                        break;
                    case "NOOP":
                        await WriteAsync(stream, "250 2.0.0 OK");
                        break;
                    case "QUIT":
                        await WriteAsync(stream, "221 2.0.0 Bye");
                        return;
                    default:
                        await WriteAsync(stream, "502 5.5.2 Command not recognized");
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The client hung up (a refused certificate ends the handshake), or the server is stopping.
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }

    /// <summary>AUTH PLAIN (RFC 4616, with or without the initial response) and AUTH LOGIN (user name, then password, each base64).</summary>
    private async Task<bool> AuthenticateAsync(Stream stream, LineReader reader, string[] parts)
    {
        var mechanism = parts.Length > 1 ? parts[1].ToUpperInvariant() : "";
        if (!mechanisms.Split(' ').Contains(mechanism))
        {
            await WriteAsync(stream, "504 5.5.4 Unrecognized authentication type");
            return false;
        }

        async Task<string?> AnswerAsync(string challenge)
        {
            await WriteAsync(stream, "334 " + challenge);
            return await reader.ReadLineAsync(stop.Token);
        }

        string user, pass;
        if (mechanism == "PLAIN")
        {
            var response = parts.Length > 2 ? parts[2] : await AnswerAsync("");
            var fields = Encoding.UTF8.GetString(Convert.FromBase64String(response ?? "")).Split('\0');
            if (fields.Length != 3)
            {
                await WriteAsync(stream, "501 5.5.2 Malformed PLAIN response");
                return false;
            }

            (user, pass) = (fields[1], fields[2]);
        }
        else
        {
            user = Encoding.UTF8.GetString(Convert.FromBase64String((parts.Length > 2 ? parts[2] : await AnswerAsync("VXNlcm5hbWU6")) ?? ""));
            pass = Encoding.UTF8.GetString(Convert.FromBase64String(await AnswerAsync("UGFzc3dvcmQ6") ?? ""));
        }

        var accepted = user == userName && pass == password;
        Logins.Enqueue(new Login(mechanism, user, pass, Encrypted: true, accepted));
        await WriteAsync(stream, accepted ? "235 2.7.0 Authentication successful" : "535 5.7.8 Authentication credentials invalid");
        return accepted;
    }

    private static string Address(string line)
    {
        var start = line.IndexOf('<');
        var end = line.IndexOf('>', start + 1);
        return start >= 0 && end > start ? line[(start + 1)..end] : "";
    }

    private async Task WriteAsync(Stream stream, string reply)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes(reply + "\r\n"), stop.Token);
        await stream.FlushAsync(stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        await accepting;
        stop.Dispose();
    }

    /// <summary>CRLF lines from a stream, buffered; a new one is made when the stream becomes TLS (nothing may be buffered then).</summary>
    private sealed class LineReader(Stream stream)
    {
        private readonly byte[] buffer = new byte[8192];
        private int start;
        private int end;

        public bool Buffered => end > start;

        public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
        {
            var line = new List<byte>();
            while (true)
            {
                if (start == end)
                {
                    (start, end) = (0, await stream.ReadAsync(buffer, cancellationToken));
                    if (end == 0) return null;
                }

                var b = buffer[start++];
                if (b == '\n')
                {
                    if (line.Count > 0 && line[^1] == '\r') line.RemoveAt(line.Count - 1);
                    return Encoding.UTF8.GetString([.. line]);
                }

                line.Add(b);
            }
        }
    }
}
