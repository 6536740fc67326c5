"""``careloop edge``: run one device's edge agent."""

from __future__ import annotations

import argparse
import math
from typing import Any

from careloop.errors import SettingsError
from careloop.runner import run_service
from careloop.settings import Settings


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "edge",
        help="run the edge agent of one device (sensors -> durable outbox -> MQTT)",
        description="Run one device's edge agent. Every reading is stored in a durable "
        "SQLite outbox before it is published at QoS 1 and leaves the outbox only after the "
        "broker's PUBACK, so broker outages and crashes lose nothing.",
    )
    p.add_argument("--device", dest="edge__device", help="device id (CARELOOP_EDGE__DEVICE)")
    p.add_argument("--resident", dest="edge__resident", help="resident id the device serves")
    p.add_argument("--outbox", dest="edge__outbox", help="outbox file (default DATA_DIR/edge/)")
    p.add_argument(
        "--max-batch",
        dest="edge__max_batch",
        type=int,
        help="most readings per message while catching up (default 200)",
    )
    p.add_argument(
        "--max-rows",
        dest="edge__max_rows",
        type=int,
        help="outbox bound in readings (default 1,000,000)",
    )
    p.add_argument(
        "--text-consent",
        dest="edge__text_consent",
        action="store_true",
        default=None,
        help="the resident consented: send utterance text too",
    )
    p.add_argument(
        "--question-window",
        dest="edge__question_window_min",
        type=float,
        metavar="MINUTES",
        help="how long a question is remembered on the device to notice it asked again "
        "(default 30)",
    )
    p.add_argument(
        "--question-similarity",
        dest="edge__question_similarity",
        type=float,
        metavar="RATIO",
        help="how alike two questions must be to count as the same, 0-1 (default 0.8)",
    )
    p.add_argument(
        "--adapter",
        choices=["simulated", "replay"],
        default="simulated",
        help="where readings come from (default: simulated)",
    )
    sim = p.add_argument_group("simulated adapter")
    sim.add_argument(
        "--sim-residents", type=int, default=20, help="size of the simulated home (default 20)"
    )
    sim.add_argument(
        "--sim-index",
        type=int,
        default=0,
        help="which resident of the home this device belongs to (default 0)",
    )
    sim.add_argument("--sim-role", choices=["terminal", "voice", "tag"], default="terminal")
    sim.add_argument("--seed", type=int, default=7, help="simulation seed (default 7)")
    sim.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per wall second; 0 = as fast as possible",
    )
    sim.add_argument(
        "--start-ms",
        type=int,
        default=None,
        help="simulated start time, epoch ms (default: now, at first start)",
    )
    sim.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    rep = p.add_argument_group("replay adapter")
    rep.add_argument(
        "--replay",
        help="JSON-lines file of {kind, reading} to send; a voice device's utterance may "
        "add words (with timings) and audio for the agent to compute features from",
    )
    rep.add_argument("--follow", action="store_true", help="keep watching the file for lines")
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    from edge.agent import EdgeAgent

    return run_service(EdgeAgent(settings, _adapter(args, settings)))


def _adapter(args: argparse.Namespace, settings: Settings) -> Any:
    from edge.adapters import ReplayAdapter, SimulatedAdapter

    if args.adapter == "replay":
        if not args.replay:
            raise SettingsError("replay", "--adapter replay needs --replay FILE")
        device, resident = settings.edge.device, settings.edge.resident
        if not device or not resident:
            raise SettingsError("edge.device", "--adapter replay needs --device and --resident")
        return ReplayAdapter(device, resident, args.replay, follow=args.follow)
    from simulators import CareHome

    if not 0 <= args.sim_index < args.sim_residents:
        raise SettingsError("sim-index", f"must be in [0, {args.sim_residents})")
    home = CareHome(
        args.sim_residents,
        seed=args.seed,
        site=settings.site,
        start_ms=args.start_ms or _start_ms(settings, args),
    )
    speed = math.inf if args.speed <= 0 else args.speed
    return SimulatedAdapter(home, args.sim_index, args.sim_role, speed=speed, steps=args.steps)


def _start_ms(settings: Settings, args: argparse.Namespace) -> int:
    """The simulation's start, fixed at first start and kept across restarts (resume)."""
    import time

    marker = settings.paths.edge / f"sim-start-{args.seed}-{args.sim_residents}.txt"
    if marker.exists():
        return int(marker.read_text())
    marker.parent.mkdir(parents=True, exist_ok=True)
    value = int(time.time()) * 1000
    marker.write_text(str(value))
    return value
