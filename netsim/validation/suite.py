"""The built-in validation suite of ``netsim validate``.

Four groups of cases, each a small simulation with its reference:

``point-to-point``
    One transfer over 1 or 3 links: the fluid models against ``ΣLᵢ + n/B``
    (REFERENCES §1), the packet model against store-and-forward
    ``ΣLᵢ + Σ m/Bᵢ + (k − 1)·m/min Bᵢ`` (``ΣLᵢ + (k + h − 1)·m/B`` on equal links).
``collective``
    Ring, recursive-doubling, Rabenseifner and binomial allreduce and a parameter server,
    size-only, on an 8-host star: REFERENCES §2 with ``α`` the two-link route latency and
    ``β = 1/B`` (for the packet model each message adds one frame time per extra hop,
    ``α' = α + m/B``).
``sharing``
    Several flows at once: the flow model against hand-solved max-min fair sharing
    (two flows through a bottleneck, a 4-to-1 incast, a parking lot, a late joiner, a flow
    held back elsewhere); the analytic model against the uncontended time (it ignores
    contention, by design).
``transport``
    TCP: a 1 MB transfer over a 10 ms path pays the handshake and slow start
    (:func:`~netsim.validation.closed_forms.tcp_transfer_time`), a 10 MB one barely; UDP
    and RoCEv2 messages cost their wire bytes (REFERENCES §5) and software latency; two
    TCP flows through a bottleneck and a 4-to-1 TCP incast (packet vs flow).

Cross-model checks (``against="flow"``) compare the packet model with the flow model on
long transfers: within 2 % with the ideal transport, 5 % with TCP. Every case runs the
packet model with buffers too deep to drop (:data:`MODEL_OPTIONS`): the fluid models are
lossless, and loss is not what these cases compare. With the ideal transport messages are
cut into 1500-byte frames without headers and sizes are whole numbers of frames.

Measured quantities are chosen to be fixed by the physics rather than by a scheduling
discipline: a parking lot is judged by the flow that finishes last (the busy time of the
shared link), since a FIFO switch queue does not share like max-min; a flow held back
by its own slow link (max-min's unequal shares) is checked on the fluid models only.
Checks of a model that is not registered are not run.
"""

from __future__ import annotations

from collections.abc import Callable

from netsim.topology import dumbbell, star
from netsim.topology.builders import host_graph
from netsim.validation import closed_forms as cf
from netsim.validation.case import Case, Check
from netsim.validation.harness import accepts_transport, chain, run_collective, run_transfers

__all__ = ["SUITE", "builtin_cases", "FRAME", "CROSS_TOLERANCE", "TCP_TOLERANCE", "MODEL_OPTIONS"]

#: Payload bytes per frame of the framed ideal transport (MTU 1500, no headers).
FRAME = 1500
#: Packet vs flow, ideal transport, long transfers.
CROSS_TOLERANCE = 0.02
#: Packet vs flow (and vs the closed form), TCP with slow start.
TCP_TOLERANCE = 0.05
#: Options of each model in every case: the packet model gets 1 GiB port buffers, so that
#: nothing is dropped and the cases compare timing and sharing, not loss (the fluid models
#: are lossless).
MODEL_OPTIONS: dict[str, dict] = {"packet": {"buffer": 1 << 30}}

GBPS = 1e9 / 8  # bytes/s in 1 Gbps
US = 1e-6
MS = 1e-3


def _ideal():
    """Ideal transport cut into 1500-byte frames without headers (what the packet model sends)."""
    from netsim.transport import make_transport

    return make_transport("ideal", mtu=FRAME)


def _named(name: str) -> Callable[[], object]:
    """A maker of the registered profile `name` with its defaults."""

    def make():
        from netsim.transport import make_transport

        return make_transport(name)

    return make


def _transport_for(model: str, make: Callable[[], object]) -> object:
    """The profile for `model`, or ``None`` for a model without transports (ideal cases only)."""
    return make() if accepts_transport(model) else None


def _transfers(graph, transfers, pick: int | None = None, transport=_ideal):
    """``simulate(model)``: deliver `transfers`; the delivery time of ``transfers[pick]`` (default: the last delivery)."""

    def simulate(model: str) -> float:
        done = run_transfers(
            model, graph, transfers, transport=_transport_for(model, transport), **MODEL_OPTIONS.get(model, {})
        )
        return max(done) if pick is None else done[pick]

    return simulate


def _collective(graph, algorithm: str, nbytes: float):
    def simulate(model: str) -> float:
        return run_collective(
            model, graph, algorithm, nbytes, transport=_transport_for(model, _ideal), **MODEL_OPTIONS.get(model, {})
        )

    return simulate


def _fluid(value: Callable[[], float], label: str = "closed form") -> tuple[Check, ...]:
    return (Check("flow", value, reference=label), Check("analytic", value, reference=label))


# ----------------------------------------------------------------- point-to-point
def _point_to_point() -> list[Case]:
    cases = []
    b10 = 10 * GBPS
    n = 1000 * FRAME  # 1.5 MB, 1000 frames
    specs = [
        ("p2p_1hop", "1.5 MB over one 10 Gbps, 5 us link", [b10], [5 * US]),
        ("p2p_3hop", "1.5 MB over three equal 10 Gbps, 2 us links (store-and-forward pipeline)", [b10] * 3, [2 * US] * 3),
        (
            "p2p_bottleneck",
            "1.5 MB over 10 Gbps / 1 Gbps / 10 Gbps links (1, 50, 1 us): the slow link sets the pace",
            [b10, GBPS, b10],
            [US, 50 * US, US],
        ),
    ]
    for name, description, bws, lats in specs:
        graph = chain(bws, lats)
        frames = n // FRAME

        def fluid(bws=bws, lats=lats) -> float:
            return cf.alpha_beta(n, lats, bws)

        def packet(bws=bws, lats=lats, frames=frames) -> float:
            return cf.store_and_forward(frames, FRAME, lats, bws)

        checks = (
            *_fluid(fluid, "ΣL + n/B"),
            Check("packet", packet, reference="store-and-forward"),
        )
        if len(bws) > 1:
            checks += (Check("packet", against="flow", tolerance=CROSS_TOLERANCE),)
        cases.append(Case(name, description, _transfers(graph, [("h0", "h1", n)]), checks, "point-to-point"))
    graph = chain([b10] * 3, [2 * US] * 3)
    cases.append(
        Case(
            "p2p_zero_bytes",
            "an empty message over three 2 us links takes the route latency",
            _transfers(graph, [("h0", "h1", 0.0)]),
            (*_fluid(lambda: 6 * US, "ΣL"), Check("packet", lambda: 6 * US, reference="ΣL")),
            "point-to-point",
        )
    )
    return cases


# --------------------------------------------------------------------- collectives
def _collectives() -> list[Case]:
    p, bandwidth, link_latency = 8, 10 * GBPS, 1 * US
    graph = star(p, bandwidth, link_latency)
    alpha, beta = 2 * link_latency, 1 / bandwidth
    # Packet model: each message crosses 2 links store-and-forward, one frame time more.
    alpha_packet = alpha + FRAME * beta
    n = p * 80 * FRAME  # 960 kB: every chunk and half a whole number of frames
    specs = [
        ("ring_allreduce", cf.ring_allreduce, p, "ring allreduce, 2(p-1)α + 2((p-1)/p)nβ"),
        ("recursive_doubling", cf.recursive_doubling_allreduce, p, "recursive doubling, lg p(α + nβ)"),
        ("rabenseifner", cf.rabenseifner_allreduce, p, "Rabenseifner, 2 lg p α + 2((p-1)/p)nβ"),
        ("binomial_tree", cf.binomial_allreduce, p, "binomial reduce + broadcast, 2⌈lg p⌉(α + nβ)"),
        ("parameter_server", cf.parameter_server, p - 1, "parameter server (7 workers), 2(α + p nβ)"),
    ]
    cases = []
    for algorithm, formula, ranks, text in specs:

        def fluid(formula=formula, ranks=ranks) -> float:
            return formula(ranks, n, alpha, beta)

        def packet(formula=formula, ranks=ranks) -> float:
            return formula(ranks, n, alpha_packet, beta)

        checks = (*_fluid(fluid), Check("packet", packet, reference="closed form + frame/hop"))
        if algorithm == "parameter_server":
            # The analytic model ignores that the 7 pushes share the server's link.
            checks = (
                checks[0],
                Check("analytic", lambda: cf.parameter_server(1, n, alpha, beta), reference="no contention"),
                checks[2],
            )
        cases.append(
            Case(
                f"allreduce_{algorithm}" if algorithm != "parameter_server" else "allreduce_ps",
                f"{text}; 960 kB on an 8-host 10 Gbps, 1 us star",
                _collective(graph, algorithm, n),
                checks,
                "collective",
            )
        )
    return cases


# ------------------------------------------------------------------------- sharing
def _sharing() -> list[Case]:
    n = 1000 * FRAME
    cases = []

    # Two flows through a 1 Gbps bottleneck of a dumbbell (host links 1 Gbps too).
    graph = dumbbell(2, 2, GBPS, 1 * US, bottleneck_latency=10 * US)
    latency, two = 12 * US, [("h0", "h2", n), ("h1", "h3", n)]
    cases.append(
        Case(
            "share_bottleneck",
            "two 1.5 MB flows through one 1 Gbps bottleneck: each gets half, ΣL + 2n/B",
            _transfers(graph, two),
            (
                Check("flow", lambda: latency + 2 * n / GBPS, reference="max-min"),
                Check("analytic", lambda: latency + n / GBPS, reference="no contention"),
                Check("packet", against="flow", tolerance=CROSS_TOLERANCE),
            ),
            "sharing",
        )
    )

    # Incast: 4 senders into one receiver of a 1 Gbps star.
    graph = star(5, GBPS, 1 * US)
    incast = [(f"h{i}", "h0", n) for i in range(1, 5)]
    cases.append(
        Case(
            "share_incast",
            "incast 4 -> 1 of 1.5 MB each on a 1 Gbps star: the receiver link is shared, 2L + 4n/B",
            _transfers(graph, incast),
            (
                Check("flow", lambda: 2 * US + 4 * n / GBPS, reference="max-min"),
                Check("analytic", lambda: 2 * US + n / GBPS, reference="no contention"),
                Check("packet", against="flow", tolerance=CROSS_TOLERANCE),
            ),
            "sharing",
        )
    )

    # Parking lot: s0 - s1 - s2 (1 Gbps, 5 us), hosts on 10 Gbps, 1 us links.
    # f0 h0->h4 (2n) crosses both switch links, f1 h1->h2 (n) the first, f2 h3->h5 (1.5n)
    # the second. Max-min: all at B/2 until f1 ends (2n/B); then f0 and f2 at B/2 until f2
    # ends (3n/B); then f0 alone: it ends at 3.5n/B.
    graph = _parking_lot(GBPS, 5 * US, 10 * GBPS, 1 * US)
    flows = [("h0", "h4", 2 * n), ("h1", "h2", n), ("h3", "h5", 1.5 * n)]
    route = 2 * US + 10 * US
    cases.append(
        Case(
            "share_parking_lot",
            "parking lot: a 2-link flow against one flow on each link; the long flow ends at ΣL + 3.5n/B",
            _transfers(graph, flows, pick=0),
            (
                Check("flow", lambda: route + 3.5 * n / GBPS, reference="max-min"),
                Check("analytic", lambda: route + 2 * n / GBPS, reference="no contention"),
                Check("packet", against="flow", tolerance=CROSS_TOLERANCE),
            ),
            "sharing",
        )
    )

    # Late joiner: h1 -> h2 joins h0 -> h2 halfway through; the first ends at 2L + 1.5n/B.
    graph = star(3, GBPS, 1 * US)
    late = [("h0", "h2", n), ("h1", "h2", n, n / (2 * GBPS))]
    cases.append(
        Case(
            "share_late_joiner",
            "a second flow joins halfway: the first, 1.5 MB on a 1 Gbps star, ends at 2L + 1.5n/B",
            _transfers(graph, late, pick=0),
            (
                Check("flow", lambda: 2 * US + 1.5 * n / GBPS, reference="max-min"),
                Check("analytic", lambda: 2 * US + n / GBPS, reference="no contention"),
                Check("packet", against="flow", tolerance=CROSS_TOLERANCE),
            ),
            "sharing",
        )
    )

    # Max-min, not equal split: f0's own 0.25 Gbps link holds it to B/4 on the shared
    # 1 Gbps link, so f1 gets 3B/4 and its 1.5n bytes end at 2n/B (equal split: 3n/B).
    graph = _held_back(GBPS)
    flows = [("h0", "h2", n), ("h1", "h3", 1.5 * n)]
    cases.append(
        Case(
            "share_held_back",
            "max-min with a flow held back on its own 0.25 Gbps link: the other gets 3/4 of 1 Gbps",
            _transfers(graph, flows, pick=1),
            (
                Check("flow", lambda: 3 * US + 2 * n / GBPS, reference="max-min"),
                Check("analytic", lambda: 3 * US + 1.5 * n / GBPS, reference="no contention"),
            ),
            "sharing",
        )
    )
    return cases


def _parking_lot(core_bw: float, core_lat: float, host_bw: float, host_lat: float):
    """Switches s0 - s1 - s2; hosts h0, h1 on s0, h2, h3 on s1, h4, h5 on s2."""
    from netsim.topology.validate import validate_topology

    G = host_graph(6, "parking_lot", "three switches in a line, two hosts on each")
    G.add_nodes_from(["s0", "s1", "s2"], kind="switch")
    G.add_edges_from([("s0", "s1"), ("s1", "s2")], bandwidth=core_bw, latency=core_lat)
    for i in range(6):
        G.add_edge(f"h{i}", f"s{i // 2}", bandwidth=host_bw, latency=host_lat)
    return validate_topology(G)


def _held_back(bandwidth: float):
    """h0 (B/4 link) and h1 (10B) on s0; s0 - s1 at B; h2, h3 on s1 (10B); 1 us links."""
    from netsim.topology.validate import validate_topology

    G = host_graph(4, "held_back", "a shared link, one sender held back by its own slow link")
    G.add_nodes_from(["s0", "s1"], kind="switch")
    G.add_edge("h0", "s0", bandwidth=bandwidth / 4, latency=US)
    G.add_edge("h1", "s0", bandwidth=10 * bandwidth, latency=US)
    G.add_edge("s0", "s1", bandwidth=bandwidth, latency=US)
    G.add_edge("s1", "h2", bandwidth=10 * bandwidth, latency=US)
    G.add_edge("s1", "h3", bandwidth=10 * bandwidth, latency=US)
    return validate_topology(G)


# ----------------------------------------------------------------------- transport
def _transport() -> list[Case]:
    cases = []
    # 1 MB over a 10 ms one-way path (two 5 ms, 1 Gbps links): handshake + 6 slow-start rounds.
    size, graph = 1_000_000, chain([GBPS, GBPS], [5 * MS, 5 * MS])
    tcp_time = cf.tcp_transfer_time(size, GBPS, 10 * MS)
    cases.append(
        Case(
            "tcp_slow_start",
            "TCP, 1 MB over a 10 ms, 1 Gbps path: handshake + slow start from 10 segments",
            _transfers(graph, [("h0", "h1", size)], transport=_named("tcp")),
            (
                Check("flow", lambda: tcp_time, reference="slow-start closed form"),
                Check("analytic", lambda: tcp_time, reference="slow-start closed form"),
                Check("packet", lambda: tcp_time, tolerance=TCP_TOLERANCE, reference="slow-start closed form"),
                Check("packet", against="flow", tolerance=TCP_TOLERANCE),
            ),
            "transport",
            applies=accepts_transport,
        )
    )
    # 10 MB over a 10 us path: slow start is a few RTTs of 20 us, negligible.
    size, graph = 10_000_000, chain([GBPS, GBPS], [5 * US, 5 * US])
    long_time = cf.tcp_transfer_time(size, GBPS, 10 * US)
    cases.append(
        Case(
            "tcp_long_transfer",
            "TCP, 10 MB over a 10 us, 1 Gbps path: goodput 1460/1538, slow start negligible",
            _transfers(graph, [("h0", "h1", size)], transport=_named("tcp")),
            (
                Check("flow", lambda: long_time, reference="closed form"),
                Check("analytic", lambda: long_time, reference="closed form"),
                Check("packet", against="flow", tolerance=CROSS_TOLERANCE),
            ),
            "transport",
            applies=accepts_transport,
        )
    )
    # TCP flows sharing: the fluid model's fair share after its analytic slow start, the
    # packet model's ACK-clocked windows through a FIFO queue (no loss: big buffers).
    n = 2000 * 1460
    specs = (
        (
            "tcp_share_bottleneck",
            "TCP, 2 x 2.92 MB through a 1 Gbps, 10 us dumbbell bottleneck: packet vs flow",
            dumbbell(2, 2, GBPS, 1 * US, bottleneck_latency=10 * US),
            [("h0", "h2", n), ("h1", "h3", n)],
        ),
        (
            "tcp_incast",
            "TCP, incast 4 -> 1 of 2.92 MB each on a 1 Gbps, 10 us star: packet vs flow",
            star(5, GBPS, 10 * US),
            [(f"h{i}", "h0", n) for i in range(1, 5)],
        ),
    )
    for name, description, graph, flows in specs:
        cases.append(
            Case(
                name,
                description,
                _transfers(graph, flows, transport=_named("tcp")),
                (Check("packet", against="flow", tolerance=TCP_TOLERANCE),),
                "transport",
                applies=accepts_transport,
            )
        )
    # Datagram and RDMA profiles: no handshake, no slow start; wire bytes and software
    # latency only (REFERENCES §1: "the formulas hold with the wire bytes").
    lats, bandwidth, size = [2 * US, 2 * US], 10 * GBPS, 1 << 20
    graph = chain([bandwidth, bandwidth], lats)
    for name, profile, software, framing, text in (
        ("udp_message", "udp", 5 * US, (1472, 66), "UDP, 1 MiB: 66 B per 1472-B datagram + 5 us software"),
        ("rocev2_message", "rocev2", 1 * US, (1024, 82, 16), "RoCEv2, 1 MiB: 82 B per 1024-B packet, RETH + 1 us"),
    ):
        frames = cf.frame_sizes(size, *framing)
        fluid = software + cf.alpha_beta(sum(frames), lats, [bandwidth] * 2)
        packet = software + cf.store_and_forward_frames(frames, lats, bandwidth)
        cases.append(
            Case(
                name,
                f"{text}, two 10 Gbps, 2 us links",
                _transfers(graph, [("h0", "h1", size)], transport=_named(profile)),
                (
                    Check("flow", lambda value=fluid: value, reference="wire-bytes closed form"),
                    Check("analytic", lambda value=fluid: value, reference="wire-bytes closed form"),
                    Check("packet", lambda value=packet: value, reference="store-and-forward"),
                    Check("packet", against="flow", tolerance=CROSS_TOLERANCE),
                ),
                "transport",
                applies=accepts_transport,
            )
        )
    return cases


def builtin_cases() -> tuple[Case, ...]:
    """Every built-in case, in table order (see the module doc)."""
    return (*_point_to_point(), *_collectives(), *_sharing(), *_transport())


#: The built-in suite.
SUITE: tuple[Case, ...] = builtin_cases()
