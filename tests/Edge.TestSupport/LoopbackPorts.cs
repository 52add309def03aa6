using System.Net;
using System.Net.Sockets;

namespace Edge.TestSupport;

/// <summary>Ports for servers the tests start (a broker, a daemon process) on loopback.</summary>
public static class LoopbackPorts
{
    /// <summary>A port nothing listens on right now (the kernel's choice for port 0).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
