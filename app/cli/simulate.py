"""``careloop simulate``: a simulated care home (live through edge agents, or offline)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

from careloop.errors import SettingsError
from careloop.runner import run as run_until_stopped
from careloop.settings import Settings


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="run simulated residents and devices (live over MQTT, offline to files, or a "
        "load fleet)",
        description="Simulate a care home. Live (default): every resident's terminal and voice "
        "device runs a real edge agent publishing to the broker. --offline writes readings "
        "and scenario labels as JSON lines instead. --fleet drives thousands of lightweight "
        "devices from one process for load.",
    )
    p.add_argument("--residents", type=int, default=20, help="number of residents (20)")
    p.add_argument("--seed", type=int, default=7, help="random seed; same seed, same home (7)")
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per wall second; 0 = flat out (1)",
    )
    p.add_argument(
        "--interval",
        type=float,
        default=10.0,
        help="simulated seconds between vitals readings (10)",
    )
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    p.add_argument(
        "--scenarios",
        choices=["default", "none"],
        default="default",
        help="inject the default scenario mix, or none (default)",
    )
    p.add_argument(
        "--start-ms", type=int, default=None, help="simulated start time, epoch ms (default: now)"
    )
    p.add_argument(
        "--labels",
        type=Path,
        default=None,
        help="where to write scenario labels (default DATA_DIR/sim/labels.jsonl)",
    )
    p.add_argument("--no-progress", action="store_true", help="no live progress display")
    off = p.add_argument_group("offline")
    off.add_argument(
        "--offline",
        type=Path,
        metavar="DIR",
        help="write readings.jsonl and labels.jsonl to DIR instead of publishing",
    )
    off.add_argument("--days", type=float, default=1.0, help="simulated days offline (1)")
    fleet = p.add_argument_group("fleet (load)")
    fleet.add_argument(
        "--fleet",
        type=int,
        metavar="N",
        help="drive N lightweight devices instead of full edge agents",
    )
    fleet.add_argument(
        "--rate", type=float, default=1.0, help="fleet readings per device per second (1)"
    )
    fleet.add_argument("--duration", type=float, default=60.0, help="fleet run seconds (60)")
    fleet.add_argument(
        "--connections", type=int, default=4, help="MQTT connections the fleet shares (4)"
    )
    return p


def _check(args: argparse.Namespace) -> None:
    if args.residents < 1 or args.residents > 100_000:
        raise SettingsError("residents", "must be between 1 and 100000")
    if args.interval <= 0:
        raise SettingsError("interval", "must be positive")
    if args.steps is not None and args.steps < 1:
        raise SettingsError("steps", "must be at least 1")
    if args.days <= 0:
        raise SettingsError("days", "must be positive")
    if args.fleet is not None and args.fleet < 1:
        raise SettingsError("fleet", "must be at least 1")


def make_home(args: argparse.Namespace, settings: Settings) -> Any:
    from simulators import CareHome

    start = args.start_ms or int(time.time() // args.interval * args.interval * 1000)
    return CareHome(
        args.residents,
        seed=args.seed,
        site=settings.site,
        start_ms=start,
        interval_s=args.interval,
        scenarios=args.scenarios,
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    _check(args)
    if args.fleet:
        import json

        from simulators.load import run_fleet

        result = run_fleet(
            settings,
            n_devices=args.fleet,
            seed=args.seed,
            rate=args.rate,
            duration=args.duration,
            connections=args.connections,
        )
        print(json.dumps(result.as_dict()))
        return 0
    home = make_home(args, settings)
    if args.offline:
        from simulators import generate

        steps = args.steps or int(args.days * 86400 / args.interval)
        generate(home, steps, args.offline, progress=not args.no_progress)
        print(f"wrote {args.offline}/readings.jsonl and labels.jsonl ({steps} steps)")
        return 0
    from simulators import write_labels

    labels = args.labels or settings.paths.sim / "labels.jsonl"
    labels.parent.mkdir(parents=True, exist_ok=True)
    write_labels(labels, home.labels)
    return run_until_stopped(
        lambda stop: live(
            settings, home, speed=args.speed, steps=args.steps, progress=not args.no_progress,
            stop=stop,
        )
    )  # fmt: skip


async def live(
    settings: Settings,
    home: Any,
    *,
    speed: float,
    steps: int | None,
    progress: bool,
    stop: asyncio.Event,
) -> int:
    """Run the home's edge agents until ``stop`` is set (the runner sets it on Ctrl-C or
    SIGTERM), with a live display.

    With ``steps``, it also ends once every device has sent all its readings and the broker
    acknowledged them.
    """
    work = asyncio.create_task(
        _run_agents(settings, home, speed, steps, progress, stop), name="simulate:agents"
    )
    stopped = asyncio.create_task(stop.wait(), name="simulate:stop")
    try:
        await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not work.done():
            # Stop at once, even while the agents are still starting (a loaded machine can
            # take long to start hundreds): their outboxes are durable, nothing is lost.
            work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
    return 0


async def _run_agents(
    settings: Settings,
    home: Any,
    speed: float,
    steps: int | None,
    progress: bool,
    stop: asyncio.Event,
) -> None:
    from edge.home import run_home

    async with (
        run_home(settings, home, speed=speed, steps=steps) as agents,
        asyncio.TaskGroup() as tg,
    ):
        if steps is not None:

            async def all_sent() -> None:
                await asyncio.gather(*(agent.wait_drained() for agent in agents))
                stop.set()

            done = tg.create_task(all_sent(), name="all-sent")
        if progress:
            from rich.live import Live

            with Live(_table(agents, home), refresh_per_second=2, transient=False) as display:
                while not stop.is_set():
                    display.update(_table(agents, home))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=0.5)
                display.update(_table(agents, home))
        await stop.wait()
        if steps is not None:
            done.cancel()


def _table(agents: list[Any], home: Any) -> Any:
    from rich.table import Table

    sampled = sum(a.stats.sampled for a in agents)
    published = sum(a.stats.published for a in agents)
    pending = sum(a.pending for a in agents)
    online = sum(a.stats.connected for a in agents)
    table = Table(
        title=f"careloop simulate · {len(home.profiles)} residents · {len(agents)} devices"
    )
    for col in ("devices connected", "readings sampled", "published (PUBACKed)", "in outboxes"):
        table.add_column(col, justify="right")
    table.add_row(f"{online}/{len(agents)}", str(sampled), str(published), str(pending))
    return table
