"""Run validation cases in SimGrid (executed by a Python that has the ``simgrid`` module).

Reads a JSON list of cases on stdin, prints a JSON list of results on stdout. Needs only
the standard library and SimGrid's Python bindings (Debian ``python3-simgrid``, or pip
``simgrid``), not netsim. A case::

    {"name": str,
     "hosts": [name, ...],
     "links": [[id, bandwidth_Bps, latency_s, ...], ...],
     "routes": {"src dst": [[link_id, "UP" | "DOWN"], ...], ...},
     "flows": [[src, dst, bytes, start_s], ...],
     "ring": bytes}

A result: ``{"name": str, "finish": [delivery time of each flow, s]}``; with ``ring > 0``
(a ring allreduce of that many bytes over every host, rank r on ``hosts[r]``: 2(p−1)
steps, each sending ``ring/p`` bytes to rank r+1 while receiving from rank r−1)
``finish`` holds the time each rank finished.

Model: CM02 (SimGrid's fluid max-min model without correction factors), with the
factors pinned to 1 anyway (``network/latency-factor:1``, ``network/bandwidth-factor:1``),
``network/weight-S:0``, no cross traffic (``network/crosstraffic:0``: no 5 % ACK share on
the reverse path), ``network/TCP-gamma:0`` (no window bound ``γ / 2·RTT``) and tight
numeric precision. Links are split-duplex, as netsim's links are full duplex.
Caveat: CM02 weighs each flow's share by its route latency (``sharing_penalty = latency``),
so flows with equal route latencies share max-min fairly; cases keep it so.
"""

import json
import sys

import simgrid

CONFIG = [
    "network/model:CM02",
    "network/latency-factor:1",
    "network/bandwidth-factor:1",
    "network/weight-S:0",
    "network/crosstraffic:0",
    "network/TCP-gamma:0",
    "surf/precision:1e-12",
    "maxmin/precision:1e-12",
]


def run_case(case: dict) -> list[float]:
    engine = simgrid.Engine(["simgrid_worker", *(f"--cfg={c}" for c in CONFIG), "--log=root.thresh:critical"])
    zone = simgrid.NetZone.create_full_zone("zone0")
    hosts = {name: zone.create_host(name, 1e9) for name in case["hosts"]}
    links = {}
    for link_id, bandwidth, latency, *_ in case["links"]:
        link = zone.create_split_duplex_link(link_id, bandwidth)
        link.set_latency(latency)
        link.seal()
        links[link_id] = link
    up, down = simgrid.LinkInRoute.Direction.UP, simgrid.LinkInRoute.Direction.DOWN
    for key, hops in case["routes"].items():
        src, dst = key.split()
        route = [simgrid.LinkInRoute(links[link_id], up if way == "UP" else down) for link_id, way in hops]
        zone.add_route(hosts[src].netpoint, hosts[dst].netpoint, None, None, route, False)
    zone.seal()

    if case.get("ring"):
        return _ring(engine, [hosts[h] for h in case["hosts"]], case["ring"])
    finish = [float("nan")] * len(case["flows"])

    def flow(index: int, src: str, dst: str, nbytes: float, start: float) -> None:
        if start > 0:
            simgrid.this_actor.sleep_until(start)
        simgrid.Comm.sendto(hosts[src], hosts[dst], int(round(nbytes)))
        finish[index] = simgrid.Engine.clock

    for index, (src, dst, nbytes, start) in enumerate(case["flows"]):
        simgrid.Actor.create(f"flow{index}", hosts[src], flow, index, src, dst, float(nbytes), float(start))
    engine.run()
    return finish


def _ring(engine, hosts: list, nbytes: float) -> list[float]:
    p = len(hosts)
    chunk = int(round(nbytes / p))
    finish = [float("nan")] * p
    boxes = [simgrid.Mailbox.by_name(f"rank{r}") for r in range(p)]

    def rank(r: int) -> None:
        for _ in range(2 * (p - 1)):
            sent = boxes[(r + 1) % p].put_async(r, chunk)
            boxes[r].get()
            sent.wait()
        finish[r] = simgrid.Engine.clock

    for r, host in enumerate(hosts):
        simgrid.Actor.create(f"rank{r}", host, rank, r)
    engine.run()
    return finish


def main() -> None:
    cases = json.load(sys.stdin)
    if len(cases) != 1:
        raise SystemExit("one case per process (SimGrid has one engine per process)")
    print(json.dumps([{"name": cases[0]["name"], "finish": run_case(cases[0])}]))


if __name__ == "__main__":
    main()
