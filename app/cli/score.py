"""``careloop score``: the streaming scorer, device readings -> care needs (docs/runtime.md)."""

from __future__ import annotations

import argparse
from typing import Any

from careloop.runner import run_service
from careloop.settings import Settings


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "score",
        help="turn device readings into care needs (streaming scorer, MQTT in and out)",
        description="Subscribe (QoS 1, persistent session) to the vitals, events, utterances "
        "and device status of the sites this process owns, keep every resident's state "
        "(baselines, open needs, timers) in numpy arrays, and publish care needs on "
        "careloop/needs/v1/<site>/<resident> for careloop alerts. Own sites either by name "
        "(--sites a,b; default the --site) or by partition of every site (--partition K/N "
        "keeps the sites with crc32(site) % N == K, subscribing to each of them as the people "
        "database names them; run one process per K). State is "
        "snapshotted to DATA_DIR/score/<partition>.snapshot every --snapshot-every seconds "
        "and at shutdown, and restored at start. Logs ids and counts, never payloads.",
    )
    g = p.add_argument_group("score")
    g.add_argument(
        "--sites",
        dest="score__sites",
        metavar="A,B",
        help="score these sites (comma-separated; default the --site)",
    )
    g.add_argument(
        "--all-sites",
        dest="score__sites",
        action="store_const",
        const="+",
        help="score every site on the broker (same as --partition 0/1)",
    )
    g.add_argument(
        "--partition",
        dest="score__partition",
        metavar="K/N",
        action=_Partition,
        help="score every site whose crc32(site) %% N == K (implies --all-sites)",
    )
    g.add_argument(
        "--subscribe",
        dest="score__subscribe",
        choices=["sites", "all"],
        help="with --partition K/N, N > 1: subscribe per owned site, following the people "
        "database (sites, the default), or to every site dropping the others' messages (all)",
    )
    g.add_argument(
        "--client-id",
        metavar="ID",
        dest="score__client_id",
        help="MQTT client id; keep it stable across restarts "
        "(default score-<hostname>-<partition>-<instance>)",
    )
    g.add_argument(
        "--instance",
        metavar="N",
        dest="score__instance",
        type=int,
        help="process slot number used in the default client id (1)",
    )
    g.add_argument(
        "--posture-model",
        metavar="FILE",
        dest="score__posture_model",
        help="posture model (.npz) for worn tags' motion windows (default: the shipped "
        "models/artifacts/posture-v2.npz; an unusable file leaves motion unscored)",
    )
    g.add_argument(
        "--snapshot-every",
        metavar="S",
        dest="score__snapshot_every",
        type=float,
        help="seconds between state snapshots; 0 = only at shutdown (60)",
    )
    g.add_argument(
        "--max-batch-readings",
        metavar="N",
        dest="score__max_batch_readings",
        type=int,
        help="score at most this many readings as one batch (5000)",
    )
    g.add_argument(
        "--max-delay",
        metavar="S",
        dest="score__max_delay",
        type=float,
        help="...or when the oldest queued message is this many seconds old (0.1)",
    )
    g.add_argument(
        "--tick-every",
        metavar="S",
        dest="score__tick_every",
        type=float,
        help="seconds between timer runs: falls without readings, silent devices (5)",
    )
    g.add_argument(
        "--max-clock-skew",
        metavar="S",
        dest="score__max_clock_skew",
        type=float,
        help="reject readings stamped more than S seconds ahead of this clock; 0 = off (300)",
    )
    g.add_argument(
        "--metrics-port",
        metavar="PORT",
        dest="score__metrics_port",
        type=int,
        help="serve Prometheus metrics on this port (0 = off; default 0)",
    )
    g.add_argument(
        "--metrics-host",
        metavar="HOST",
        dest="score__metrics_host",
        help="address for metrics (127.0.0.1)",
    )
    g.add_argument(
        "--stats-interval",
        metavar="S",
        dest="score__stats_interval",
        type=float,
        help="seconds between summary log lines, 0 = off (60)",
    )
    return p


class _Partition(argparse.Action):
    """``--partition K/N`` also means every site (the only thing a partition can split)."""

    def __call__(
        self, parser: Any, namespace: argparse.Namespace, values: Any, option: Any = None
    ) -> None:
        setattr(namespace, self.dest, values)
        if getattr(namespace, "score__sites", None) is None:
            namespace.score__sites = "+"


def run(args: argparse.Namespace, settings: Settings) -> int:
    from models.runtime.service import ScoreService

    return run_service(ScoreService(settings))
