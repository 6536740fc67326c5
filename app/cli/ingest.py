"""``careloop ingest``: MQTT -> validated -> InfluxDB, at least once (docs/ingest.md)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from careloop.runner import run as run_until_stopped
from careloop.settings import Settings


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "ingest",
        help="store device readings in InfluxDB (MQTT shared subscription, at least once)",
        description="Subscribe to every device uplink with an MQTT v5 shared subscription, "
        "validate each message with the wire contract and the device registry, and write the "
        "readings to InfluxDB in batches. A message is acknowledged only once its readings are "
        "in InfluxDB or in the local disk spool; rejected messages are kept as dead letters "
        "(careloop deadletters). Run several with different --instance/--client-id to share the "
        "load. Logs nothing per message.",
    )
    g = p.add_argument_group("ingest")
    g.add_argument(
        "--client-id",
        dest="ingest__client_id",
        help="MQTT client id; keep it stable "
        "across restarts (default ingest-<hostname>-<instance>)",
    )
    g.add_argument(
        "--instance",
        dest="ingest__instance",
        type=int,
        help="process slot number used in the default client id (1)",
    )
    g.add_argument(
        "--share-group", dest="ingest__share_group", help="shared-subscription group (ingest)"
    )
    g.add_argument(
        "--no-share",
        dest="ingest__share_group",
        action="store_const",
        const="",
        help="plain subscription instead of a shared one: for a single instance that must "
        "survive broker restarts losslessly (docs/ingest.md, Mosquitto 2.0 caveat)",
    )
    g.add_argument(
        "--auto-register",
        dest="ingest__auto_register",
        action="store_true",
        default=None,
        help="FOR DEMOS AND BENCHMARKS ONLY: register unknown devices on "
        "first sight with the resident their message claims, instead of rejecting them",
    )
    g.add_argument(
        "--metrics-port",
        dest="ingest__metrics_port",
        type=int,
        help="serve Prometheus metrics on this port (0 = off; default 0)",
    )
    g.add_argument(
        "--metrics-host",
        dest="ingest__metrics_host",
        help="address for the metrics server (127.0.0.1)",
    )
    g.add_argument(
        "--max-batch-messages",
        dest="ingest__max_batch_messages",
        type=int,
        help="write a batch at this many messages (5000)",
    )
    g.add_argument(
        "--max-batch-readings",
        dest="ingest__max_batch_readings",
        type=int,
        help="...or at this many readings (5000)",
    )
    g.add_argument(
        "--max-delay",
        dest="ingest__max_delay",
        type=float,
        help="...or when it is this many seconds old (0.2)",
    )
    g.add_argument(
        "--writers", dest="ingest__writers", type=int, help="concurrent /write requests (2)"
    )
    g.add_argument(
        "--write-timeout",
        dest="ingest__write_timeout",
        type=float,
        help="seconds before an unanswered /write counts as InfluxDB down (10)",
    )
    g.add_argument(
        "--max-spool-bytes",
        dest="ingest__max_spool_bytes",
        type=int,
        help="disk spool bound while InfluxDB is down (1 GiB); full = backpressure",
    )
    g.add_argument(
        "--max-dead-letters",
        dest="ingest__max_dead_letters",
        type=int,
        help="dead letters kept, newest first (100000)",
    )
    g.add_argument(
        "--session-expiry",
        dest="ingest__session_expiry",
        type=int,
        help="seconds the broker keeps this client's queued messages (86400)",
    )
    g.add_argument(
        "--stats-interval",
        dest="ingest__stats_interval",
        type=float,
        help="seconds between summary log lines, 0 = off (60)",
    )
    g.add_argument(
        "--no-create-database",
        dest="ingest__create_database",
        action="store_false",
        default=None,
        help="do not send CREATE DATABASE at start-up",
    )
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ingest import Ingestor

    async def main(stop: asyncio.Event) -> int:
        # The ingestor runs on threads of its own; starting and stopping it block briefly.
        with Ingestor(settings):
            await stop.wait()
        return 0

    return run_until_stopped(main)
