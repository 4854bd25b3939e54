using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Dedup.Reliability.Infra;

/// <summary>
/// A TCP proxy on 127.0.0.1 in front of the S3 server, under the test's control: it forwards bytes both ways, and on
/// command resets every open connection (a cut mid-upload or mid-download) or resets new ones as they arrive (the
/// server unreachable). Upstream bytes are counted, so a test can cut while an upload is under way.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly ConcurrentDictionary<int, (TcpClient Client, TcpClient Server)> _open = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private int _nextId;
    private long _upBytes, _downBytes, _cuts, _refused, _connections;
    private volatile bool _refusing;

    public FaultProxy(IPEndPoint upstream)
    {
        _upstream = upstream;
        _listener.Start();
        _accept = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public long UpstreamBytes => Interlocked.Read(ref _upBytes);
    public long DownstreamBytes => Interlocked.Read(ref _downBytes);
    public long ConnectionsCut => Interlocked.Read(ref _cuts);
    public long ConnectionsRefused => Interlocked.Read(ref _refused);
    public long Connections => Interlocked.Read(ref _connections);

    /// <summary>Resets every open connection now (both sides see a reset, as when a NAT or a load balancer drops them).</summary>
    public void CutAll()
    {
        foreach (var (id, pair) in _open)
        {
            if (!_open.TryRemove(id, out _)) continue;
            Reset(pair.Client);
            Reset(pair.Server);
            Interlocked.Increment(ref _cuts);
        }
    }

    /// <summary>Bytes per second each connection may carry in each direction (0: no limit). A slow link makes the
    /// window for a fault (a server restart, a cut) wide enough to hit on a fast loopback.</summary>
    public long BytesPerSecondPerConnection { get; set; }

    private readonly List<(long Bytes, bool Down, Action<FaultProxy> Action)> _triggers = [];
    private volatile bool _held;

    /// <summary>Runs <paramref name="action"/> inside the proxy the moment that many bytes have gone up (or down): exact
    /// even when the test's own threads are starved on a loaded machine.</summary>
    public void At(long bytes, Action<FaultProxy> action, bool downstream = false)
    {
        lock (_triggers) _triggers.Add((bytes, downstream, action));
    }

    /// <summary>While held, no byte moves in either direction: the transfer freezes mid-way until <see cref="Release"/>.</summary>
    public void Hold() => _held = true;

    public void Release() => _held = false;

    private void Fire()
    {
        List<Action<FaultProxy>> due = [];
        lock (_triggers)
        {
            for (int i = _triggers.Count - 1; i >= 0; i--)
                if ((_triggers[i].Down ? DownstreamBytes : UpstreamBytes) >= _triggers[i].Bytes)
                {
                    due.Add(_triggers[i].Action);
                    _triggers.RemoveAt(i);
                }
        }
        foreach (var a in due) a(this);
    }

    /// <summary>While true, new connections are reset at once, as if the server were gone.</summary>
    public bool Refusing
    {
        get => _refusing;
        set => _refusing = value;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            if (_refusing)
            {
                Reset(client);
                Interlocked.Increment(ref _refused);
                continue;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        var server = new TcpClient { NoDelay = true };
        client.NoDelay = true;
        int id = Interlocked.Increment(ref _nextId);
        try
        {
            await server.ConnectAsync(_upstream, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Reset(client);
            server.Dispose();
            return;
        }
        Interlocked.Increment(ref _connections);
        _open[id] = (client, server);
        try
        {
            var up = PumpAsync(client, server, n => Interlocked.Add(ref _upBytes, n));
            var down = PumpAsync(server, client, n => Interlocked.Add(ref _downBytes, n));
            await Task.WhenAll(up, down).ConfigureAwait(false);
        }
        finally
        {
            if (_open.TryRemove(id, out _))
            {
                client.Dispose();
                server.Dispose();
            }
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, Action<int> count)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var input = from.GetStream();
            var outputStream = to.GetStream();
            while (true)
            {
                int n = await input.ReadAsync(buffer, _stop.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    to.Client.Shutdown(SocketShutdown.Send);
                    // Keep the other direction open until it ends too.
                    return;
                }
                while (_held) await Task.Delay(10, _stop.Token).ConfigureAwait(false);
                await outputStream.WriteAsync(buffer.AsMemory(0, n), _stop.Token).ConfigureAwait(false);
                count(n);
                Fire();
                if (BytesPerSecondPerConnection > 0)
                    await Task.Delay(TimeSpan.FromSeconds((double)n / BytesPerSecondPerConnection), _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // A cut, or the other side went away.
        }
    }

    private static void Reset(TcpClient c)
    {
        try
        {
            c.Client.LingerState = new LingerOption(true, 0); // close with RST, not FIN
            c.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        c.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        CutAll();
        try { await _accept.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
