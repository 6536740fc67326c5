"""``careloop bench ingest``: ingest's throughput against references measured in the same run."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from careloop.errors import SettingsError
from careloop.settings import Settings

_FIGURES = """\
figures (stdout is one JSON object with --json):
  influx_ceiling_rps   points/s InfluxDB takes from prebuilt line protocol: the same
                       readings, 5000 lines per POST /write, one keep-alive connection,
                       sequential (influx_ceiling_2conn_rps: two connections, for info)
  broker_ceiling_mps   messages/s Mosquitto delivers from a pre-loaded backlog to a bare
                       subscriber that only acknowledges and counts (no storage)
  naive_bridge_mps     messages/s of the reference: one-thread paho bridge, json.loads,
                       5000-line/200 ms batches written inside on_message, automatic acks
                       (so NOT at least once); bench/naive_bridge.py
  ingest_single_mps    messages/s of careloop ingest, one reading per message, QoS 1
  ingest_batched_rps   readings/s of careloop ingest, ten readings per message, QoS 1
  batched_vs_ceiling   ingest_batched_rps / influx_ceiling_rps   (target >= 0.8)
  single_vs_naive      ingest_single_mps / naive_bridge_mps      (target >= 2, aim 3)
  lost, duplicated     readings missing from / extra in InfluxDB, summed over every phase
                       and calibration run (target 0); per phase in lost_by_phase etc.
  cpu                  per phase: CPU seconds of influxd, mosquitto and the consumer (and
                       per consumer thread) in the timed window, the same per reading
                       (cpu_us_per_reading), the machine's busy %, and other_cpu_s: busy
                       time of everything else on the machine (noise)

method: every consumer phase first pre-loads the broker (the consumer's persistent session
is created, the whole workload published into it), then starts the consumer and times it
from its CONNECT until InfluxDB holds every reading; each phase has a fresh database and
is verified by count(heart_rate) and sum(steps). Phases last about --seconds each, sized by
a ~1 s calibration run. See docs/performance.md.
exit status: 0, or 1 if any reading was lost or duplicated or a phase did not complete."""

_SCORE_FIGURES = """\
score figures (bench/score_bench.py; no servers):
  readings_per_s_per_core  vitals readings scored per CPU second of this process (numpy/BLAS
                           held to one thread), --residents simulated residents at 1 Hz,
                           one batch per simulated second plus its events and utterances,
                           over --seconds after an untimed --warmup (target >= 200000)
  readings_per_s_wall      the same per wall-clock second
  state_bytes_per_resident ScoringEngine.state_nbytes() / residents after the run (target
                           <= 4096); table_row_bytes: the in-memory arrays per resident
  snapshot_write_s, snapshot_restore_s  wall seconds to write that snapshot to a file and
                           to restore it into a fresh engine (a restart's cost)
  naive_readings_per_s_per_core  the reference, same run, same readings as dicts: NEWS2 and
                           one ResidentBaseline per resident, score_one then learn_one, for
                           --naive-residents residents; speedup_vs_naive = the ratio
  needs                    need messages the timed window raised or changed
exit status: 0 (the targets are reported, not enforced)."""


def _progress(text: str) -> None:
    """A benchmark's progress line, on stderr so ``--json`` output stays one object."""
    print(f"bench: {text}", file=sys.stderr, flush=True)


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "bench",
        help="benchmarks printing JSON: ingest throughput, scorer speed and memory, alert latency",
        description="Measure a careloop service against references measured in the same run "
        "(ingest: InfluxDB's and the broker's ceilings and a naive bridge; score: a naive "
        "per-reading scorer; alerts: reading publish to a volunteer's page). Progress goes to "
        "stderr. The common broker and InfluxDB settings are not used: each benchmark runs "
        "its own servers.",
        epilog=_FIGURES + "\n\n" + _SCORE_FIGURES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "target",
        choices=["ingest", "score", "alerts", "handover", "deadletters"],
        help="what to benchmark",
    )
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument(
        "--seconds",
        type=float,
        help="ingest: about how long each phase runs (10); score: simulated seconds timed (120)",
    )
    p.add_argument(
        "--residents",
        type=int,
        help="score: simulated residents (10000; with --partitions 1000)",
    )
    p.add_argument(
        "--partitions",
        type=int,
        metavar="N",
        help="score: run careloop score processes on a broker instead, one vs N partitions "
        "(and N partitions each subscribed to every site); readings/s, CPU per reading and "
        "broker-to-scorer bytes per partition (bench/partition_bench.py)",
    )
    p.add_argument("--site-count", type=int, default=8, help="score --partitions: sites (8)")
    p.add_argument(
        "--motion", action="store_true", help="score: CPU per 30 s motion window through the "
        "scorer and bytes per tag instead, --residents tags (200) (bench/motion_bench.py)",
    )  # fmt: skip
    p.add_argument(
        "--batch",
        type=int,
        default=1,
        help="score --partitions and alerts: readings per vitals message, consecutive seconds "
        "of a device, as edge agents batch them (1)",
    )
    p.add_argument(
        "--warmup", type=int, default=300, help="score: simulated seconds scored untimed (300)"
    )
    p.add_argument(
        "--naive-residents",
        type=int,
        default=200,
        help="score: residents the naive reference scores (200)",
    )
    p.add_argument(
        "--messages",
        type=int,
        help="fixed size instead of calibrating: N messages per MQTT phase (N readings in "
        "N/10 messages for the batched one), N points for the InfluxDB ceiling",
    )
    p.add_argument("--devices", type=int, default=1000, help="simulated devices (1000)")
    p.add_argument("--seed", type=int, default=7, help="seed of the readings' values (7)")
    p.add_argument(
        "--work-dir",
        type=Path,
        help="where the servers keep their data (default: a temporary folder, removed)",
    )
    p.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="attach py-spy (if installed) to ingest in its phases; raw stacks go to DIR, "
        "a summary into the report",
    )
    p.add_argument(
        "--ingest-args",
        default="",
        metavar="FLAGS",
        help="extra flags for every careloop ingest run, as one string",
    )
    p.add_argument(
        "--broker-inflight",
        type=int,
        metavar="N",
        help="Mosquitto's max_inflight_messages (default: devservers', 1000)",
    )
    p.add_argument(
        "--only",
        default="",
        metavar="PHASE,...",
        help="run only these phases (influx_ceiling, broker_ceiling, naive_bridge, "
        "ingest_single, ingest_batched); ratios need both of their phases",
    )
    p.add_argument(
        "--no-2conn", action="store_true", help="skip the two-connection InfluxDB ceiling"
    )
    p.add_argument(
        "--keep", action="store_true", help="keep databases and the work folder afterwards"
    )
    a = p.add_argument_group("alerts (bench/alerts_bench.py; --residents at 1 Hz, --seconds 30)")
    a.add_argument("--need-rate", type=float, default=5.0, help="needs injected per second (5)")
    a.add_argument(
        "--volunteers", type=int, help="volunteers on the roster (alerts 200, handover 20)"
    )
    a.add_argument(
        "--replicas", type=int, default=1,
        help="careloop alerts processes on one store; with 2 or more, one is killed with "
        "SIGKILL half-way (1)",
    )  # fmt: skip
    a.add_argument(
        "--database", choices=["sqlite", "postgresql"], default="sqlite",
        help="the alert store (sqlite)",
    )  # fmt: skip
    a.add_argument(
        "--lease", type=float, default=5.0, help="the replicas' outbox lease, seconds (5)"
    )
    h = p.add_argument_group(
        "handover (bench/handover_bench.py: agitated utterance publish -> volunteer's page)"
    )
    h.add_argument("--n", type=int, default=50, help="agitated utterances timed (50)")
    h.add_argument("--gap", type=float, default=0.5, help="seconds between them (0.5)")
    h.add_argument(
        "--baseline", type=int, default=20, help="ordinary utterances per resident first (20)"
    )
    d = p.add_argument_group("deadletters (bench/deadletter_bench.py: one add on each backend)")
    d.add_argument("--letters", type=int, default=10, help="letters per add (10)")
    d.add_argument("--rounds", type=int, default=200, help="adds timed per backend (200)")
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.target == "score":
        return _run_score(args)
    if args.target == "alerts":
        return _run_alerts(args)
    if args.target == "handover":
        return _run_handover(args)
    if args.target == "deadletters":
        return _run_deadletters(args)
    from bench.ingest_bench import Options, run_ingest_bench

    try:
        options = Options(
            seconds=args.seconds if args.seconds is not None else 10.0,
            messages=args.messages,
            devices=args.devices,
            seed=args.seed,
            work_dir=args.work_dir,
            profile_dir=args.profile,
            ingest_args=tuple(shlex.split(args.ingest_args)),
            two_connections=not args.no_2conn,
            keep_data=args.keep,
            broker_inflight=args.broker_inflight,
            only=tuple(name for name in args.only.split(",") if name),
        )
    except ValueError as exc:
        raise SettingsError("bench", str(exc)) from exc
    report = run_ingest_bench(options, _progress)
    if args.json:
        print(json.dumps(report))
    else:
        for key in (
            "influx_ceiling_rps", "influx_ceiling_2conn_rps", "broker_ceiling_mps",
            "naive_bridge_mps", "ingest_single_mps", "ingest_batched_rps",
            "batched_vs_ceiling", "single_vs_naive", "lost", "duplicated",
        ):  # fmt: skip
            print(f"{key:<26} {report[key]}")
        for name, target in report["targets"].items():
            print(f"target {name:<19} {'met' if target['met'] else 'MISSED'}")
    ok = report["lost"] == 0 and report["duplicated"] == 0 and report["complete"]
    return 0 if ok else 1


def _run_partitions(args: argparse.Namespace) -> int:
    """``careloop bench score --partitions N``: scorer processes on a broker, 1 vs N."""
    from bench.partition_bench import PartitionBenchOptions, run_partition_bench

    try:
        options = PartitionBenchOptions(
            partitions=args.partitions,
            sites=args.site_count,
            residents=args.residents or 1000,
            seconds=int(args.seconds) if args.seconds is not None else 60,
            batch=args.batch,
            work_dir=args.work_dir,
        )
    except ValueError as exc:
        raise SettingsError("bench", str(exc)) from exc
    report = run_partition_bench(options, _progress)
    if args.json:
        print(json.dumps(report))
        return 0
    for name, layout in report["layouts"].items():
        print(
            f"{name:<8} {layout['readings_per_s']:>8} readings/s  "
            f"{layout['scorer_cpu_us_per_reading']:>7} CPU us/reading  "
            f"bytes per partition {[p['received_bytes'] for p in layout['per_partition']]}"
        )
    return 0


def _run_score(args: argparse.Namespace) -> int:
    if args.partitions is not None:
        return _run_partitions(args)
    if args.motion:
        from bench.motion_bench import MotionOptions, run_motion_bench

        seconds = int(args.seconds) if args.seconds is not None else 600
        try:
            motion = MotionOptions(devices=args.residents or 200, seconds=seconds)
        except ValueError as exc:
            raise SettingsError("bench", str(exc)) from exc
        report = run_motion_bench(motion)
        print(json.dumps(report) if args.json else json.dumps(report, indent=2))
        return 0
    from bench.score_bench import ScoreOptions, run_score_bench

    try:
        options = ScoreOptions(
            residents=args.residents or 10_000,
            seconds=int(args.seconds) if args.seconds is not None else 120,
            warmup=args.warmup,
            naive_residents=args.naive_residents,
            seed=args.seed,
            progress=sys.stderr.isatty(),
        )
    except ValueError as exc:
        raise SettingsError("bench", str(exc)) from exc
    report = run_score_bench(options)
    if args.json:
        print(json.dumps(report))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"careloop bench score: {report['residents']} residents")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    targets = report["targets"]
    rows = (
        ("readings_per_s_per_core", f">= {targets['readings_per_s_per_core']}", "meets_speed"),
        ("readings_per_s_wall", "", None),
        ("naive_readings_per_s_per_core", "", None),
        ("speedup_vs_naive", "", None),
        ("state_bytes_per_resident", f"<= {targets['state_bytes_per_resident']}", "meets_memory"),
        ("table_row_bytes", "", None),
        ("snapshot_write_s", "", None),
        ("snapshot_restore_s", "", None),
        ("readings", "", None),
        ("events", "", None),
        ("utterances", "", None),
        ("needs", "", None),
        ("cpu_s", "", None),
        ("wall_s", "", None),
        ("peak_rss_mib", "", None),
    )
    for key, target, met in rows:
        verdict = "" if met is None else (" met" if report[met] else " MISSED")
        table.add_row(key, str(report[key]), target + verdict)
    Console().print(table)
    return 0


def _run_alerts(args: argparse.Namespace) -> int:
    """``careloop bench alerts``: reading publish -> volunteer notification latency."""
    from bench.alerts_bench import AlertBenchOptions, run_alerts_bench

    try:
        options = AlertBenchOptions(
            residents=args.residents or 10_000,
            seconds=args.seconds if args.seconds is not None else 30.0,
            need_rate=args.need_rate,
            volunteers=args.volunteers or 200,
            seed=args.seed,
            work_dir=args.work_dir,
            replicas=args.replicas,
            database=args.database,
            batch=args.batch,
            lease=args.lease,
        )
    except ValueError as exc:
        raise SettingsError("bench", str(exc)) from exc
    report = run_alerts_bench(options, _progress)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:<16} {value}")
    return 0 if report["missed"] == 0 and report["doubled"] == 0 else 1


def _run_handover(args: argparse.Namespace) -> int:
    """``careloop bench handover``: agitated utterance publish -> volunteer's page."""
    from bench.handover_bench import HandoverBenchOptions, run_handover_bench

    try:
        options = HandoverBenchOptions(
            n=args.n,
            residents=args.n,
            baseline=args.baseline,
            gap=args.gap,
            volunteers=args.volunteers or 20,
            work_dir=args.work_dir,
        )
    except ValueError as exc:
        raise SettingsError("bench", str(exc)) from exc
    report = run_handover_bench(options, _progress)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:<20} {value}")
    return 0 if report["missed"] == 0 else 1


def _run_deadletters(args: argparse.Namespace) -> int:
    """``careloop bench deadletters``: one batch of dead letters made durable, per backend."""
    from bench.deadletter_bench import DeadLetterBenchOptions, run_deadletter_bench

    try:
        options = DeadLetterBenchOptions(
            batch=args.letters, rounds=args.rounds, work_dir=args.work_dir
        )
    except ValueError as exc:
        raise SettingsError("bench", str(exc)) from exc
    report = run_deadletter_bench(options, _progress)
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0
