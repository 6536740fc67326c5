"""``careloop demo``: the whole system on one machine, with a simulated care home.

Starts a private Mosquitto and InfluxDB (child processes, data under ``DATA_DIR/demo``),
``careloop ingest`` and ``careloop score`` (child processes), the status page, and 20
simulated residents whose devices run real edge agents. Unless ``--no-showcase``, two
emergencies are injected early (an SOS call at ~45 s and a fall at ~90 s of simulated time)
on top of the default schedule, so care needs appear within minutes instead of days.

It opens onto the dashboard: the directory gets the demo site, its residents (consenting to
share with volunteers: they are simulated) and volunteers, and a coordinator token; the
banner's first line is a link that signs in with it (``/login#token=...``), and where a
desktop browser is at hand it is opened. Ctrl-C (or SIGTERM) stops everything it started, in
order, and leaves no process behind: the children are also tied to this process with
PR_SET_PDEATHSIG.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from careloop.cli.simulate import make_home
from careloop.logs import log_to_file
from careloop.settings import Settings
from simulators import Assignment, CareHome, default_assignments, make_profiles

#: The showcase: (scenario, simulated seconds after the start), on residents 1, 2, ...
SHOWCASE: tuple[tuple[str, int], ...] = (("sos_call", 45), ("fall_no_movement", 90))


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="run the whole system with a simulated care home (what scripts/demo runs)",
        description="Start a private broker and InfluxDB, the status page and a simulated "
        "care home feeding the real pipeline. Ctrl-C stops everything.",
    )
    p.add_argument("--residents", type=int, default=20, help="simulated residents (20)")
    p.add_argument("--seed", type=int, default=7, help="simulation seed (7)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second (1)")
    p.add_argument(
        "--interval", type=float, default=5.0, help="simulated seconds between vitals readings (5)"
    )
    p.add_argument(
        "--broker-port",
        type=int,
        default=1883,
        help="preferred broker port; a free one is used if taken (1883)",
    )
    p.add_argument(
        "--influx-port",
        type=int,
        default=8086,
        help="preferred InfluxDB port; a free one is used if taken (8086)",
    )
    p.add_argument(
        "--http-port",
        type=int,
        default=8080,
        help="preferred dashboard (HTTP) port; a free one is used if taken (8080)",
    )
    p.add_argument(
        "--no-showcase",
        action="store_true",
        help="only the default scenario schedule (first episodes after two simulated days), "
        "not the SOS call at ~45 s and the fall at ~90 s",
    )
    p.add_argument(
        "--no-browser",
        action="store_true",
        help="do not open the dashboard in a browser (it is opened only on a desktop, "
        "when stdout is a terminal)",
    )
    p.add_argument(
        "--keep-data",
        action="store_true",
        help="keep the previous demo's server data instead of starting fresh",
    )
    return p


def _port(preferred: int) -> int:
    """``preferred`` if nothing listens there, else a free port."""
    from careloop.servers import free_port

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return free_port()


def run(args: argparse.Namespace, settings: Settings) -> int:
    from careloop.servers import InfluxDB, Mosquitto

    t0 = time.monotonic()
    root = settings.data_dir.resolve() / "demo"
    if not args.keep_data and root.exists():
        shutil.rmtree(root)
    broker = Mosquitto(root / "mosquitto", port=_port(args.broker_port))
    influx = InfluxDB(root / "influxdb", port=_port(args.influx_port))
    root.mkdir(parents=True, exist_ok=True)
    log_to_file(root / "demo.log")
    profiles_path = root / "score-profiles.json"
    with contextlib.ExitStack() as stack:
        # The home and its care profiles need the scoring runtime's imports (~1 s): build
        # them while the servers start.
        pool = stack.enter_context(concurrent.futures.ThreadPoolExecutor(1))
        home_future = pool.submit(_make_home, args, settings, profiles_path)
        stack.enter_context(broker)
        stack.enter_context(influx)
        influx.create_database(settings.influx.database)
        demo_settings = settings.model_copy(
            update={
                "data_dir": root,
                "mqtt": settings.mqtt.model_copy(update={"host": broker.host, "port": broker.port}),
                "influx": settings.influx.model_copy(update={"url": influx.url}),
            }
        )
        home = home_future.result()
        token = seed_directory(demo_settings, home)
        metrics_port, score_metrics_port = _port(9108), _port(9109)
        stack.enter_context(_ingest(demo_settings, home, metrics_port))
        stack.enter_context(_score(demo_settings, profiles_path, score_metrics_port))
        http_port = _port(args.http_port)
        ports = {"http": http_port, "ingest": metrics_port, "score": score_metrics_port}
        return asyncio.run(_serve(args, demo_settings, home, ports, t0, token))
    return 0


def seed_directory(settings: Settings, home: CareHome) -> str:
    """The demo site, residents, volunteers and consents in the directory; a coordinator token.

    The volunteers are :func:`alerts.demo.demo_roster`'s, so the API's alert service pages
    the same people the simulated volunteers play, and a coordinator on the dashboard can
    act for any of them. Simulated residents consent to sharing with volunteers, so the
    board shows the needs' explanations. Returns the raw token (shown once, in the banner).
    """
    from alerts.demo import DEMO_BEHAVIOURS, demo_roster
    from careloop.directory import (
        Consent,
        Directory,
        ResidentRecord,
        Site,
        VolunteerRecord,
        default_path,
    )

    site = settings.site
    roster = demo_roster(site, residents=len(home.profiles))
    with Directory(settings.api.directory or default_path(settings.data_dir)) as directory:
        if not any(s.id == site for s in directory.sites()[0]):
            directory.add_site(Site(site, "careloop demo home (simulated)"))
        known = {r.id for r in directory.residents(frozenset({site}))[0]}
        for p in home.profiles:
            if p.id not in known:
                directory.add_resident(
                    ResidentRecord(
                        site, p.id, f"Simulated resident {p.index + 1}", language=p.language
                    )
                )
            directory.set_consent(
                Consent(
                    site, p.id, share_with_volunteers=True, share_vitals_with_volunteers=True,
                    updated_by="careloop-demo",
                )
            )  # fmt: skip
        people = {v.id for v in directory.volunteers(frozenset({site}))[0]}
        for v in roster.volunteers.values():
            if v.id in people:
                continue
            role = "coordinator" if v.coordinator else DEMO_BEHAVIOURS.get(v.id, "accept")
            directory.add_volunteer(
                VolunteerRecord(
                    v.id, f"{v.id} (simulated: {role})", (site,), skills=tuple(v.skills),
                    languages=v.languages, coordinator=v.coordinator,
                )
            )  # fmt: skip
        token, _ = directory.create_token(
            "coordinator", "coordinator", [site], note="careloop demo dashboard"
        )
    return token


def _make_home(args: argparse.Namespace, settings: Settings, profiles_path: Path) -> CareHome:
    """The simulated home (default schedule plus the showcase) and its care-profiles file."""
    from models.evaluation.scenarios import care_profile

    start = int(time.time() // args.interval * args.interval * 1000)
    profiles = make_profiles(args.residents, seed=args.seed, site=settings.site)
    scenarios = [] if args.no_showcase else showcase(profiles, start)
    scenarios += default_assignments(profiles, seed=args.seed)
    home: CareHome = make_home(_sim_args(args, scenarios, start), settings)
    data = {settings.site: {p.id: care_profile(p).model_dump(mode="json") for p in home.profiles}}
    profiles_path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return home


def showcase(profiles: list[Any], start_ms: int) -> list[Assignment]:
    """:data:`SHOWCASE` on the first residents, timed from the simulation's start."""
    return [
        Assignment(p.id, scenario, start_ms=start_ms + seconds * 1000)
        for p, (scenario, seconds) in zip(profiles, SHOWCASE, strict=False)
    ]


def _sim_args(args: argparse.Namespace, scenarios: list[Assignment], start_ms: int) -> Any:
    return argparse.Namespace(
        residents=args.residents,
        seed=args.seed,
        speed=args.speed,
        interval=args.interval,
        scenarios=scenarios,
        start_ms=start_ms,
    )


@contextlib.contextmanager
def _ingest(settings: Settings, home: CareHome, metrics_port: int) -> Iterator[None]:
    """Register the home's devices, then run ``careloop ingest`` as a child process.

    It is stopped with SIGTERM (it flushes and acknowledges what it holds) after the
    simulated devices have stopped, and dies with the demo if the demo is killed.
    """
    from careloop.servers import tie_to_parent
    from ingest import Device, Registry

    registry = settings.data_dir / "registry.sqlite3"
    with Registry(registry) as reg:
        reg.add(
            Device(device, settings.site, p.id, kind=role)
            for p in home.profiles
            for role, device in (("terminal", p.devices.terminal), ("voice", p.devices.voice))
        )
    cmd = [
        sys.executable,
        "-m",
        "careloop",
        "ingest",
        "--site",
        settings.site,
        "--data-dir",
        str(settings.data_dir),
        "--registry",
        str(registry),
        "--mqtt-host",
        settings.mqtt.host,
        "--mqtt-port",
        str(settings.mqtt.port),
        "--influx-url",
        settings.influx.url,
        "--influx-db",
        settings.influx.database,
        "--metrics-port",
        str(metrics_port),
    ]
    with (settings.data_dir / "ingest.log").open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, preexec_fn=tie_to_parent())
    try:
        yield
    finally:
        _terminate(proc)


@contextlib.contextmanager
def _score(settings: Settings, profiles: Path, metrics_port: int) -> Iterator[None]:
    """Run ``careloop score`` for the demo site as a child process.

    Stopped with SIGTERM before ingest (it scores what it holds, publishes the needs and
    snapshots its state to ``DATA_DIR/score/``), and dies with the demo if the demo is killed.
    """
    from careloop.servers import tie_to_parent

    cmd = [
        sys.executable, "-m", "careloop", "score",
        "--site", settings.site,
        "--data-dir", str(settings.data_dir),
        "--mqtt-host", settings.mqtt.host,
        "--mqtt-port", str(settings.mqtt.port),
        "--profiles", str(profiles),
        "--metrics-port", str(metrics_port),
        # simulated time may run ahead of the wall clock (--speed > 1)
        "--max-clock-skew", "0",
    ]  # fmt: skip
    with (settings.data_dir / "score.log").open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, preexec_fn=tie_to_parent())
    try:
        yield
    finally:
        _terminate(proc)


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _serve(
    args: argparse.Namespace,
    settings: Settings,
    home: CareHome,
    ports: dict[str, int],
    t0: float,
    token: str,
) -> int:
    import uvicorn

    from alerts import AlertService
    from alerts.demo import DEMO_BEHAVIOURS, SimulatedVolunteers, demo_policy, demo_roster
    from careloop.api import create_app

    _Server = _quiet_server()
    from careloop.cli.simulate import live

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    roster = demo_roster(settings.site, residents=len(home.profiles))
    # The app runs the alert service in its lifespan; this one pages the simulated
    # volunteers with deadlines of seconds (not minutes), so a newcomer watches a page, an
    # escalation and an accept happen on the board.
    service = AlertService(settings, roster=roster, policy=demo_policy())
    server = _Server(
        uvicorn.Config(
            create_app(settings, alert_service=service),
            host="127.0.0.1",
            port=ports["http"],
            log_level="warning",
            lifespan="on",
        )
    )
    (settings.data_dir / "sim").mkdir(parents=True, exist_ok=True)
    from simulators import write_labels

    write_labels(settings.data_dir / "sim" / "labels.jsonl", home.labels)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(
            SimulatedVolunteers(
                settings,
                DEMO_BEHAVIOURS,
                seed=args.seed,
                log_path=settings.data_dir / "volunteers.log",
            )
        )
        return await _run(args, settings, home, ports, t0, server, live, stop, token)


async def _run(
    args: argparse.Namespace,
    settings: Settings,
    home: CareHome,
    ports: dict[str, int],
    t0: float,
    server: Any,
    live: Any,
    stop: asyncio.Event,
    token: str,
) -> int:
    async with asyncio.TaskGroup() as tg:
        web = tg.create_task(server.serve(), name="http")
        sim = tg.create_task(
            live(settings, home, speed=args.speed, steps=None, progress=False, stop=stop),
            name="simulate",
        )
        while not server.started:  # noqa: ASYNC110  # uvicorn offers no "started" event
            await asyncio.sleep(0.05)
        url = f"http://127.0.0.1:{ports['http']}/login#token={token}"
        _banner(settings, ports, home, args.speed, time.monotonic() - t0, url)
        if not args.no_browser:
            open_browser(url)
        await stop.wait()
        print("\nstopping ...", flush=True)
        await sim
        server.should_exit = True
        await web
    return 0


def _quiet_server() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn without its own signal handlers: the demo owns Ctrl-C and stops in order."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server


def open_browser(url: str) -> bool:
    """Open ``url`` in a desktop browser, if this looks like a desktop session; never fails.

    Only with a terminal on stdout (not under tests or a service manager) and a display (or
    macOS): on a bare console Python's webbrowser would start a text browser that takes over
    the very terminal showing the banner.
    """
    if not sys.stdout.isatty():
        return False
    if sys.platform != "darwin" and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    import webbrowser

    try:
        return webbrowser.open(url, new=2)
    except Exception:  # a missing or broken browser never stops the demo
        return False


def _banner(
    settings: Settings,
    ports: dict[str, int],
    home: CareHome,
    speed: float,
    startup_s: float,
    dashboard: str,
) -> None:
    m, db = settings.mqtt, settings.influx.database
    port = settings.influx.url.rsplit(":", 1)[1]
    residents = len(home.profiles)
    shown = []
    for label in home.labels[: len(SHOWCASE)]:
        sim_s = (label.start - home.start_ms) / 1000
        if sim_s < 3600:  # a showcase episode, not the first of the default schedule
            wall_s = sim_s / speed if speed > 0 else 0.0
            shown.append(f"{label.resident} {label.scenario} at ~{wall_s:.0f} s")
    showcase = ", ".join(shown) or "off (default schedule only: episodes from day 2)"
    print(
        f"""
careloop demo is running (started in {startup_s:.1f} s)
  dashboard           : {dashboard}
                        (signs in as the demo site's coordinator: the live alert board,
                         residents' vitals, SLA charts; public board: /public)
  simulated residents : {residents} at site {settings.site!r} (labels: {settings.data_dir}/sim/)
  MQTT broker         : mqtt://{m.host}:{m.port}
      watch it        : mosquitto_sub -h {m.host} -p {m.port} -t 'careloop/v1/#' -v
  InfluxDB            : {settings.influx.url}  (database {db}, written by careloop ingest)
      query it        : influx -port {port} -database {db} -precision rfc3339 -execute \\
                          "SELECT * FROM vitals WHERE resident='r001' ORDER BY time DESC LIMIT 5"
  ingest              : metrics http://127.0.0.1:{ports["ingest"]}/metrics
                        log {settings.data_dir}/ingest.log
  score               : care needs from the readings (careloop score)
      watch needs     : mosquitto_sub -h {m.host} -p {m.port} -t 'careloop/needs/v1/#' -v
      showcase        : {showcase}
                        metrics http://127.0.0.1:{ports["score"]}/metrics
                        log {settings.data_dir}/score.log
  alerts              : needs -> alerts -> simulated volunteers v01-v06 (v01 ignores pages,
                        v02 declines, v03 accepts), deadlines shortened to seconds
      watch pages     : mosquitto_sub -h {m.host} -p {m.port} -t 'careloop/alerts/v1/#' -v
                        log {settings.data_dir}/volunteers.log
  device status       : http://127.0.0.1:{ports["http"]}/devices   (JSON: /status)
  log                 : {settings.data_dir}/demo.log (this process: simulated devices, alerts)
Press Ctrl-C to stop everything.
""",
        flush=True,
    )
