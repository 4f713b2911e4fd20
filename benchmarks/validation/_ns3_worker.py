"""Run TCP validation cases in ns-3 (executed by a Python that has ``pip install ns3``).

Reads a JSON list with one case on stdin (see ``cases.to_spec``), prints a JSON list with
``{"name": str, "finish": [time each flow's last byte reached its sink, s]}``. Needs only
the standard library and ns-3's Python bindings (cppyy), not netsim.

Set-up, matched to netsim's ``tcp`` profile (with PPP framing, see ``cases.py``):

* every graph node is an ns-3 node; every edge a point-to-point link (``DataRate`` =
  bandwidth, ``Delay`` = latency); IPv4 global (shortest-path) routing;
* TCP NewReno, MSS 1460, no timestamps, no SACK, initial window 10 segments, an ACK for
  every segment (``DelAckCount`` 1), 64 MiB socket buffers (no receive-window limit);
* one BulkSend application per flow (``MaxBytes`` = the flow's bytes, started at its
  start time, connection set-up included) into its own PacketSink;
* recovery: NewReno's classic fast recovery, minimum RTO 200 ms (netsim's defaults);
* queues deep enough never to drop (FIFO queue disc of 100,000 packets per device), or,
  with ``buffer`` bytes in the case, a FIFO queue disc of that many bytes on every switch
  port over a one-packet device queue (tail drop), hosts still deep.
"""

import json
import sys

import cppyy
from ns import ns  # noqa: I001  (the ns-3 bindings)

cppyy.cppdef(
    """
    #include <map>
    namespace validation {
    struct Watch { int id; uint64_t target; uint64_t got; };
    std::map<int, double> done;
    void OnRx(Watch* w, ns3::Ptr<const ns3::Packet> p, const ns3::Address&) {
        w->got += p->GetSize();
        if (w->got >= w->target && done.count(w->id) == 0) done[w->id] = ns3::Simulator::Now().GetSeconds();
    }
    void Attach(ns3::Ptr<ns3::Application> sink, int id, uint64_t target) {
        Watch* w = new Watch{id, target, 0};
        sink->TraceConnectWithoutContext("Rx", ns3::MakeBoundCallback(&OnRx, w));
    }
    double Done(int id) { return done.count(id) ? done[id] : -1.0; }
    }
    """
)
validation = cppyy.gbl.validation


def configure_tcp() -> None:
    defaults = {
        "ns3::TcpL4Protocol::SocketType": ns.TypeIdValue(ns.TcpNewReno.GetTypeId()),
        "ns3::TcpSocket::SegmentSize": ns.UintegerValue(1460),
        "ns3::TcpSocket::InitialCwnd": ns.UintegerValue(10),
        "ns3::TcpSocket::DelAckCount": ns.UintegerValue(1),
        "ns3::TcpSocket::SndBufSize": ns.UintegerValue(64 << 20),
        "ns3::TcpSocket::RcvBufSize": ns.UintegerValue(64 << 20),
        "ns3::TcpSocketBase::Timestamp": ns.BooleanValue(False),
        "ns3::TcpSocketBase::Sack": ns.BooleanValue(False),
        "ns3::TcpSocketBase::MinRto": ns.TimeValue(ns.MilliSeconds(200)),
        "ns3::TcpL4Protocol::RecoveryType": ns.TypeIdValue(ns.TcpClassicRecovery.GetTypeId()),
    }
    for key, value in defaults.items():
        ns.Config.SetDefault(key, value)


def run_case(case: dict) -> list[float]:
    configure_tcp()
    names = [*case["hosts"], *case["switches"]]
    nodes = ns.NodeContainer()
    nodes.Create(len(names))
    node = {name: nodes.Get(i) for i, name in enumerate(names)}
    ns.InternetStackHelper().Install(nodes)
    address = ns.Ipv4AddressHelper()
    deep = ns.TrafficControlHelper()
    deep.SetRootQueueDisc("ns3::FifoQueueDisc", "MaxSize", ns.StringValue("100000p"))
    shallow = ns.TrafficControlHelper()
    buffer = int(case.get("buffer") or 0)
    if buffer:
        shallow.SetRootQueueDisc("ns3::FifoQueueDisc", "MaxSize", ns.StringValue(f"{buffer}B"))
    host_ip = {}
    for k, (_link_id, bandwidth, latency, u, v) in enumerate(case["links"]):
        p2p = ns.PointToPointHelper()
        p2p.SetDeviceAttribute("DataRate", ns.DataRateValue(ns.DataRate(int(round(bandwidth * 8)))))
        p2p.SetChannelAttribute("Delay", ns.TimeValue(ns.NanoSeconds(int(round(latency * 1e9)))))
        if buffer:  # the queue disc is the whole buffer: a 1-packet device queue under it
            p2p.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", ns.StringValue("1p"))
        devices = p2p.Install(node[u], node[v])
        for i, end in enumerate((u, v)):
            (shallow if buffer and end in case["switches"] else deep).Install(devices.Get(i))
        address.SetBase(ns.Ipv4Address(f"10.{k // 250}.{k % 250}.0"), ns.Ipv4Mask("255.255.255.0"))
        interfaces = address.Assign(devices)
        for i, end in enumerate((u, v)):
            if end in case["hosts"]:
                host_ip.setdefault(end, interfaces.GetAddress(i))
    ns.Ipv4GlobalRoutingHelper.PopulateRoutingTables()

    stop = 0.0
    for index, (src, dst, nbytes, start) in enumerate(case["flows"]):
        port = 5000 + index
        sink_helper = ns.PacketSinkHelper(
            "ns3::TcpSocketFactory", ns.InetSocketAddress(ns.Ipv4Address.GetAny(), port).ConvertTo()
        )
        sink = sink_helper.Install(node[dst])
        sink.Start(ns.Seconds(0.0))
        validation.Attach(sink.Get(0), index, int(nbytes))
        bulk = ns.BulkSendHelper("ns3::TcpSocketFactory", ns.InetSocketAddress(host_ip[dst], port).ConvertTo())
        bulk.SetAttribute("MaxBytes", ns.UintegerValue(int(nbytes)))
        bulk.SetAttribute("SendSize", ns.UintegerValue(1460 * 64))
        app = bulk.Install(node[src])
        app.Start(ns.Seconds(start))
        stop = max(stop, start)
    ns.Simulator.Stop(ns.Seconds(stop + 60.0))
    ns.Simulator.Run()
    finish = [float(validation.Done(i)) for i in range(len(case["flows"]))]
    ns.Simulator.Destroy()
    return [f if f >= 0 else float("nan") for f in finish]


def main() -> None:
    cases = json.load(sys.stdin)
    if len(cases) != 1:
        raise SystemExit("one case per process")
    print(json.dumps([{"name": cases[0]["name"], "finish": run_case(cases[0])}]))


if __name__ == "__main__":
    main()
