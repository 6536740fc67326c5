"""``careloop demo``: the whole system on one machine, with a simulated care home.

Starts a private Mosquitto and InfluxDB (child processes, data under ``DATA_DIR/demo``),
``careloop ingest`` and ``careloop score`` (child processes), the API with the dashboard and
the alert service, simulated volunteers, and 20 simulated residents whose devices run real
edge agents. Unless ``--no-showcase``, two emergencies are injected early (an SOS call at
~45 s and a fall at ~90 s of simulated time), then one sentence of loneliness (~2 min: the
device says someone will call or come) and an agitated exchange (~2.5 min: paged with the
30 s respond deadline) on top of the default schedule, so care needs appear within minutes
instead of days (docs/stories.md).

It opens onto the dashboard: the people database gets the demo site, its residents
(consenting to share with volunteers: they are simulated), their care profiles and devices,
the volunteers, and a coordinator token; the banner's first line is a link that signs in
with it (``/login#token=...``), and where a desktop browser is at hand it is opened.
Ctrl-C (or SIGTERM) stops everything it started within seconds, however long it ran
(:mod:`careloop.runner`), and leaves no process behind: the children are also tied to this
process with PR_SET_PDEATHSIG.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import shutil
import time
from typing import TYPE_CHECKING, Any

from careloop.settings import Settings

if TYPE_CHECKING:
    from simulators import CareHome


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="run the whole system with a simulated care home (what scripts/demo runs)",
        description="Start a private broker and InfluxDB, ingest, the scorer, the API with "
        "the dashboard and the alert service, simulated volunteers and a simulated care "
        "home feeding the real pipeline. Ctrl-C stops everything.",
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


def run(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here, not at the top: every careloop command builds this parser.
    from app.cli.demo import children
    from app.cli.demo.seed import make_demo_home, seed_people
    from careloop.logs import log_to_file
    from careloop.runner import run as run_until_stopped
    from devservers import InfluxDB, Mosquitto

    t0 = time.monotonic()
    root = settings.data_dir.resolve() / "demo"
    if not args.keep_data and root.exists():
        shutil.rmtree(root)
    broker = Mosquitto(root / "mosquitto", port=children.port(args.broker_port))
    influx = InfluxDB(root / "influxdb", port=children.port(args.influx_port))
    root.mkdir(parents=True, exist_ok=True)
    log_to_file(root / "demo.log")
    with contextlib.ExitStack() as stack:
        # The demo's broker and InfluxDB are anonymous and plaintext on loopback, and the
        # dashboard is plain HTTP on loopback, so the session cookie cannot be Secure: said
        # in the banner; a deployment does none of this (docs/deploy.md).
        plaintext = {"tls": False, "ca_file": None, "cert_file": None, "key_file": None}
        demo = settings.model_copy(
            update={
                "data_dir": root,
                "mqtt": settings.mqtt.model_copy(
                    update={"host": broker.host, "port": broker.port, **plaintext}
                ),
                "influx": settings.influx.model_copy(update={"url": influx.url}),
                "api": settings.api.model_copy(update={"cookie_secure": False}),
            }
        )
        # The home needs the simulators' and models' imports (~1 s): build it while the
        # servers start.
        pool = stack.enter_context(concurrent.futures.ThreadPoolExecutor(1))
        home_future = pool.submit(make_demo_home, args, demo)
        stack.enter_context(broker)
        stack.enter_context(influx)
        influx.create_database(settings.influx.database)
        home = home_future.result()
        token, app_link, family = seed_people(demo, home)
        ports = {
            "ingest": children.port(9108),
            "score": children.port(9109),
            "http": children.port(args.http_port),
        }
        procs = [
            stack.enter_context(children.ingest(demo, ports["ingest"])),
            stack.enter_context(children.score(demo, ports["score"])),
        ]
        stack.callback(children.signal_all, procs)  # runs first on the way out
        return run_until_stopped(
            lambda stop: _serve(args, demo, home, ports, t0, (token, app_link, family), stop)
        )
    return 0


async def _serve(
    args: argparse.Namespace,
    settings: Settings,
    home: CareHome,
    ports: dict[str, int],
    t0: float,
    secrets: tuple[str, str, str],
    stop: asyncio.Event,
) -> int:
    from alerts import AlertService
    from alerts.demo import DEMO_BEHAVIOURS, SimulatedVolunteers, demo_policy
    from app.api import create_app
    from app.api.server import make_server, serve, started
    from app.cli.demo.banner import open_browser, print_banner
    from app.cli.simulate import live
    from simulators import write_labels

    write_labels(settings.paths.sim / "labels.jsonl", home.labels)
    # The app runs the alert service in its lifespan; this one pages the simulated
    # volunteers with deadlines of seconds (not minutes), so a newcomer watches a page, an
    # escalation and an accept happen on the board.
    service = AlertService(settings, policy=demo_policy())
    server = make_server(
        create_app(settings, alert_service=service), host="127.0.0.1", port=ports["http"]
    )
    volunteers = SimulatedVolunteers(
        settings, DEMO_BEHAVIOURS, seed=args.seed, log_path=settings.data_dir / "volunteers.log"
    )
    async with volunteers, asyncio.TaskGroup() as tg:
        tg.create_task(serve(server, stop), name="http")
        tg.create_task(
            live(settings, home, speed=args.speed, steps=None, progress=False, stop=stop),
            name="simulate",
        )
        async with asyncio.timeout(60):
            await started(server)
        token, app_link, family = secrets
        base = f"http://127.0.0.1:{ports['http']}"
        url = f"{base}/login#token={token}"
        links = (url, f"{base}/app/#signin={app_link}", f"{base}/family/#token={family}")
        print_banner(settings, ports, home, args.speed, time.monotonic() - t0, *links)
        if not args.no_browser:
            open_browser(url)
        await stop.wait()
        print("\nstopping ...", flush=True)
    return 0
