using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PcieSim.Record;

/// <summary>
/// A QEMU Machine Protocol client over a unix socket on this machine (QEMU's <c>-qmp unix:PATH,server=on,wait=off</c>):
/// one JSON object per line; asynchronous events are skipped while waiting for a command's answer.
/// </summary>
public sealed class QmpClient : IDisposable
{
    private readonly Socket socket;
    private readonly StreamReader reader;
    private readonly StreamWriter writer;
    private readonly List<JsonObject> events = [];

    private QmpClient(Socket socket)
    {
        this.socket = socket;
        var stream = new NetworkStream(socket, ownsSocket: false);
        reader = new StreamReader(stream, new UTF8Encoding(false));
        writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n", AutoFlush = true };
    }

    /// <summary>Connects (retrying until <paramref name="timeout"/>: QEMU creates the socket as it starts), reads the greeting, enters command mode.</summary>
    public static QmpClient Connect(string path, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(path));
                socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
                var client = new QmpClient(socket);
                _ = client.ReadObject();
                client.Execute("qmp_capabilities", null);
                return client;
            }
            catch (SocketException error)
            {
                socket.Dispose();
                if (clock.Elapsed >= timeout)
                {
                    throw new IOException($"QMP: could not connect to {path}: {error.Message}", error);
                }

                Thread.Sleep(50);
            }
        }
    }

    /// <summary>Runs a command and returns its <c>return</c> value.</summary>
    /// <exception cref="IOException">QEMU answered with an error, or closed the socket.</exception>
    public JsonNode? Execute(string command, IReadOnlyList<KeyValuePair<string, string>>? arguments)
    {
        var request = new JsonObject { ["execute"] = command };
        if (arguments is not null)
        {
            var args = new JsonObject();
            foreach (var (key, value) in arguments)
            {
                args[key] = value;
            }

            request["arguments"] = args;
        }

        writer.WriteLine(request.ToJsonString());
        while (true)
        {
            var answer = ReadObject();
            if (answer["error"] is JsonObject error)
            {
                throw new IOException($"QMP {command}: {error["class"]}: {error["desc"]}");
            }

            if (answer.ContainsKey("return"))
            {
                return answer["return"];
            }

            if (answer.ContainsKey("event"))
            {
                events.Add(answer);
            }
        }
    }

    /// <summary>Waits for the event <paramref name="name"/> whose <c>data.device</c> is <paramref name="device"/> (events seen earlier count).</summary>
    /// <exception cref="IOException">It did not come within <paramref name="timeout"/>.</exception>
    public void WaitForEvent(string name, string device, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            int index = events.FindIndex(e => Matches(e, name, device));
            if (index >= 0)
            {
                events.RemoveAt(index);
                return;
            }

            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new IOException($"QMP: no {name} event for '{device}' within {timeout.TotalSeconds:0} s");
            }

            socket.ReceiveTimeout = Math.Max(1, (int)left.TotalMilliseconds);
            try
            {
                var message = ReadObject();
                if (message.ContainsKey("event"))
                {
                    events.Add(message);
                }
            }
            catch (IOException) when (clock.Elapsed >= timeout)
            {
                throw new IOException($"QMP: no {name} event for '{device}' within {timeout.TotalSeconds:0} s");
            }
        }

        static bool Matches(JsonObject e, string name, string device) =>
            string.Equals((string?)e["event"], name, StringComparison.Ordinal)
            && e["data"]?["device"] is JsonValue value && value.TryGetValue(out string? id) && string.Equals(id, device, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        reader.Dispose();
        writer.Dispose();
        socket.Dispose();
    }

    private JsonObject ReadObject()
    {
        string line = reader.ReadLine() ?? throw new IOException("QMP: QEMU closed the socket");
        return JsonNode.Parse(line) as JsonObject ?? throw new IOException("QMP: expected a JSON object, found: " + line);
    }

    /// <summary>Where <c>query-pci</c> says the device with this QEMU ID is: bus (as the guest numbered it), slot and function.</summary>
    public static (int Bus, int Slot, int Function)? FindDevice(JsonNode? queryPci, string id)
    {
        if (queryPci is not JsonArray buses)
        {
            return null;
        }

        foreach (var bus in buses)
        {
            if (Find(bus?["devices"] as JsonArray, id) is { } found)
            {
                return found;
            }
        }

        return null;

        static (int, int, int)? Find(JsonArray? devices, string id)
        {
            if (devices is null)
            {
                return null;
            }

            foreach (var device in devices)
            {
                if (device is null)
                {
                    continue;
                }

                if (device["qdev_id"]?.GetValueKind() == JsonValueKind.String && string.Equals((string?)device["qdev_id"], id, StringComparison.Ordinal))
                {
                    return ((int)device["bus"]!, (int)device["slot"]!, (int)device["function"]!);
                }

                if (Find(device["pci_bridge"]?["devices"] as JsonArray, id) is { } below)
                {
                    return below;
                }
            }

            return null;
        }
    }
}
