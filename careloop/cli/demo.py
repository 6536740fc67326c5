"""``careloop demo``: the whole system on one machine, with a simulated care home.

Starts a private Mosquitto and InfluxDB (child processes, data under ``DATA_DIR/demo``),
the status page, and 20 simulated residents whose devices run real edge agents. Prints where
to look. Ctrl-C (or SIGTERM) stops everything it started, in order, and leaves no process
behind: the servers are also tied to this process with PR_SET_PDEATHSIG.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from careloop.cli.simulate import make_home
from careloop.settings import Settings
from simulators import CareHome


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
        help="preferred status page port; a free one is used if taken (8080)",
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
    with contextlib.ExitStack() as stack:
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
        home = make_home(_sim_args(args), demo_settings)
        metrics_port = _port(9108)
        stack.enter_context(_ingest(demo_settings, home, metrics_port))
        http_port = _port(args.http_port)
        return asyncio.run(_serve(args, demo_settings, home, http_port, metrics_port, t0))
    return 0


def _sim_args(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(
        residents=args.residents,
        seed=args.seed,
        speed=args.speed,
        interval=args.interval,
        scenarios="default",
        start_ms=None,
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
    http_port: int,
    metrics_port: int,
    t0: float,
) -> int:
    import uvicorn

    from careloop.api import create_app

    _Server = _quiet_server()
    from careloop.cli.simulate import live

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = _Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=http_port,
            log_level="warning",
            lifespan="on",
        )
    )
    sim_args = argparse.Namespace(
        residents=args.residents,
        seed=args.seed,
        speed=args.speed,
        interval=args.interval,
        scenarios="default",
        start_ms=None,
    )
    home = make_home(sim_args, settings)
    (settings.data_dir / "sim").mkdir(parents=True, exist_ok=True)
    from simulators import write_labels

    write_labels(settings.data_dir / "sim" / "labels.jsonl", home.labels)
    async with asyncio.TaskGroup() as tg:
        web = tg.create_task(server.serve(), name="http")
        sim = tg.create_task(
            live(settings, home, speed=args.speed, steps=None, progress=False, stop=stop),
            name="simulate",
        )
        while not server.started:  # noqa: ASYNC110  # uvicorn offers no "started" event
            await asyncio.sleep(0.05)
        _banner(settings, http_port, metrics_port, len(home.profiles), time.monotonic() - t0)
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


def _banner(
    settings: Settings, http_port: int, metrics_port: int, residents: int, startup_s: float
) -> None:
    m, db = settings.mqtt, settings.influx.database
    port = settings.influx.url.rsplit(":", 1)[1]
    print(
        f"""
careloop demo is running (started in {startup_s:.1f} s)
  simulated residents : {residents} at site {settings.site!r} (labels: {settings.data_dir}/sim/)
  MQTT broker         : mqtt://{m.host}:{m.port}
      watch it        : mosquitto_sub -h {m.host} -p {m.port} -t 'careloop/v1/#' -v
  InfluxDB            : {settings.influx.url}  (database {db}, written by careloop ingest)
      query it        : influx -port {port} -database {db} -precision rfc3339 -execute \\
                          "SELECT * FROM vitals WHERE resident='r001' ORDER BY time DESC LIMIT 5"
  ingest              : metrics http://127.0.0.1:{metrics_port}/metrics
                        log {settings.data_dir}/ingest.log
  status page         : http://127.0.0.1:{http_port}/   (JSON: /status)
Press Ctrl-C to stop everything.
""",
        flush=True,
    )
