"""``careloop bench alerts``: from a reading's publish to the volunteer's MQTT notification.

Method: a private Mosquitto and ``replicas`` real ``careloop alerts`` subprocesses on one
alert store (SQLite, ``synchronous=full``, or with ``database="postgresql"`` a private
PostgreSQL 15 with fsync on, started here; docs/scale-alerts.md), a roster of
``volunteers`` at one site. A load thread publishes every resident's vitals once a second
(:mod:`bench.alerts_fleet`; ``batch`` readings per message as edge agents send them), so the
broker carries the whole fleet's traffic while alerts work. Needs are injected at random
(Poisson, ``need_rate`` per second) for residents chosen at random: the bench publishes the
triggering reading, notes the time, and publishes the care need (``NeedMessage``, ``ts`` =
that time) as the scorer would. A volunteer app subscribed to every volunteer topic records
each page (:mod:`bench.alerts_watch`). Latency = first page - reading publish, on one
machine's clock. ``missed`` counts needs with no page within ``grace`` seconds after the
load stopped; ``doubled`` needs paged twice.

With more than one replica, replica 0 is killed with SIGKILL half-way through, right after a
burst of ``burst`` needs (so it dies with work in hand); ``p99_outside_burst_ms`` is the p99
of the other needs, the burst being most of the tail. ``failover_ms``: from the kill until
every need injected before it and not yet paged at that moment was paged (0 if none was).

On PostgreSQL the report adds what a need costs the database, from ``pg_stat_database`` over
the timed window: ``pg_write_transactions_per_need`` (transactions that wrote, which alone
take a transaction id: of every replica, the losers' included), ``pg_transactions_per_need``
(every transaction, committed or rolled back, read-only polls included: the replicas at rest
spend ``pg_idle_transactions_per_s``, measured for 3 s before the load starts) and
``pg_rows_written_per_need``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion

from bench.alerts_fleet import SITE, fleet, reading
from bench.alerts_watch import PageWatch
from careloop.wire.alerts import alert_subscription
from careloop.wire.needs import NeedMessage, NeedTopic, encode_need
from devservers import Mosquitto, PostgreSQL

#: Transactions (committed and rolled back) and rows written in the benchmark's database.
_PG_STATS = (
    "SELECT xact_commit + xact_rollback, tup_inserted + tup_updated + tup_deleted, "
    "txid_snapshot_xmax(txid_current_snapshot()) FROM pg_stat_database "
    "WHERE datname = 'careloop'"
)
#: The benchmark's PostgreSQL commits as durably as the SQLite store's ``synchronous=full``.
PG_DURABLE = "fsync = on\nfull_page_writes = on\nsynchronous_commit = on"

#: Kinds injected, with their tier (as the scorer would raise them).
KINDS = (
    ("fall", "emergency"),
    ("sos", "emergency"),
    ("help_request", "important"),
    ("inactivity", "general"),
    ("low_mood", "emotional"),
)


@dataclass(frozen=True)
class AlertBenchOptions:
    residents: int = 10_000
    seconds: float = 30.0
    need_rate: float = 5.0
    volunteers: int = 200
    seed: int = 7
    grace: float = 10.0
    work_dir: Path | None = None
    replicas: int = 1
    database: str = "sqlite"
    batch: int = 1
    burst: int = 10
    lease: float = 5.0

    def __post_init__(self) -> None:
        if self.residents < 1 or self.seconds <= 0 or self.need_rate <= 0:
            raise ValueError("residents, seconds and need_rate must be positive")
        if self.volunteers < 3:
            raise ValueError("need at least 3 volunteers")
        if not 1 <= self.replicas <= 8 or not 1 <= self.batch <= 500:
            raise ValueError("replicas must be 1-8 and batch 1-500")
        if self.database not in ("sqlite", "postgresql"):
            raise ValueError(f"database {self.database!r}: sqlite or postgresql")


def _people(data_dir: Path, residents: int, url: str) -> None:
    """The residents needs are raised for, consenting to share with volunteers, so their
    pages name them (the bench matches each page to its need by the resident's id)."""
    from careloop.settings import load_settings
    from people import Consent, Directory, Resident, Site

    settings = load_settings(data_dir=str(data_dir), database_url=url)
    with Directory(settings.paths.people, url=url) as people, people.tx():
        people.add_site(Site(SITE, "alert benchmark"))
        for rid in ("warmup", *(f"r{i:05d}" for i in range(residents))):
            people.add_resident(Resident(SITE, rid, rid))
            people.set_consent(
                Consent(SITE, rid, share_with_volunteers=True, share_vitals_with_volunteers=True)
            )


def _roster(path: Path, volunteers: int) -> None:
    lines = []
    for i in range(volunteers):
        lines.append(f'[[volunteers]]\nid = "v{i:04d}"\nsite = "{SITE}"\nlanguages = ["en"]\n')
    lines.append(f'[[volunteers]]\nid = "coord"\nsite = "{SITE}"\ncoordinator = true\n')
    path.write_text("\n".join(lines), encoding="utf-8")


def _client(broker: Mosquitto, name: str) -> Client:
    c = Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=name)
    c.max_queued_messages_set(0)
    c.connect(broker.host, broker.port, keepalive=60)
    c.loop_start()
    return c


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_alerts_bench(
    options: AlertBenchOptions, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Run the benchmark; returns the report (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="careloop-bench-alerts-") as tmp:
        work = options.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        with Mosquitto(work / "mosquitto") as broker:
            if options.database == "sqlite":
                return _run(options, broker, work, progress, "")
            # Durable like the SQLite store (synchronous=full): fsync on, unlike test servers.
            with PostgreSQL(work / "postgres", extra_conf=PG_DURABLE) as pg:
                progress(f"PostgreSQL on port {pg.port}")
                url = pg.create_database("careloop")

                def pg_stats() -> tuple[int, int, int]:
                    (row,) = pg.execute(_PG_STATS)
                    return int(row[0]), int(row[1]), int(row[2])

                return _run(options, broker, work, progress, url, pg_stats)


def _start(options: AlertBenchOptions, broker: Mosquitto, work: Path, k: int, url: str) -> Replica:
    cmd = [
        sys.executable, "-m", "app", "alerts", "--site", SITE,
        "--data-dir", str(work / "data"), "--mqtt-host", broker.host,
        "--mqtt-port", str(broker.port), "--roster", str(work / "roster.toml"),
        "--client-id", f"alerts-bench-{k}", "--lease", str(options.lease),
        "--log-level", "INFO", "--log-format", "json",
    ]  # fmt: skip
    log = work / f"alerts-{k}.log"
    with log.open("ab") as out:
        env = {**os.environ, "CARELOOP_DATABASE_URL": url}  # "" = SQLite files
        proc = subprocess.Popen(cmd, stdout=out, stderr=out, env=env)
    return Replica(proc, log)


@dataclass
class Replica:
    proc: subprocess.Popen[bytes]
    log: Path

    def connected(self) -> bool:
        return self.log.exists() and '"connected"' in self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _run(
    options: AlertBenchOptions, broker: Mosquitto, work: Path, progress: Callable[[str], None],
    url: str, pg_stats: Callable[[], tuple[int, int, int]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    rng = random.Random(options.seed)
    progress(f"writing {options.residents} residents to the people database")
    _people(work / "data", options.residents, url)
    _roster(work / "roster.toml", options.volunteers)
    replicas = [_start(options, broker, work, k, url) for k in range(options.replicas)]
    watch = PageWatch(SITE)
    app = _client(broker, "bench-volunteers")
    app.on_message = watch.on_message
    app.subscribe(alert_subscription("volunteer", SITE), qos=1)
    publisher = _client(broker, "bench-fleet")
    kill_at: float | None = None
    in_flight: list[str] = []
    try:
        progress(f"waiting for {options.replicas} careloop alerts to subscribe")
        _warm_up(publisher, watch, replicas)
        watch.clear()
        idle = _idle_rate(pg_stats)
        at_start = pg_stats() if pg_stats else None
        injected: dict[str, float] = {}
        stop = threading.Event()
        sent = [0]
        load = threading.Thread(
            target=fleet, args=(publisher, options.residents, stop, sent, options.batch),
            name="bench-fleet",
        )  # fmt: skip
        load.start()
        progress(
            f"{options.residents} residents at 1 Hz ({options.batch} readings a message), "
            f"needs at {options.need_rate}/s for {options.seconds:.0f} s, "
            f"{options.replicas} replicas"
        )
        started = time.monotonic()
        free = list(range(options.residents))
        rng.shuffle(free)
        next_at = started
        burst_due = options.replicas > 1
        burst: set[str] = set()

        def inject() -> None:
            i = free.pop()
            resident = f"r{i:05d}"
            kind, tier = KINDS[rng.randrange(len(KINDS))]
            watch.expect(resident, kind, tier)
            ts = reading(publisher, i)  # the triggering reading
            need = NeedMessage.model_validate(
                {"id": f"{resident}:{kind}:{ts}", "site": SITE, "resident": resident,
                 "kind": kind, "tier": tier, "ts": ts, "onset": ts, "score": 1.0,
                 "summary": f"bench {kind}", "language": "en"}
            )  # fmt: skip
            publisher.publish(str(NeedTopic(SITE, resident)), encode_need(need), qos=1)
            injected[resident] = float(ts)

        while time.monotonic() - started < options.seconds and free:
            if burst_due and time.monotonic() - started >= options.seconds / 2:
                burst_due = False
                before = set(injected)
                for _ in range(min(options.burst, len(free))):
                    inject()
                burst = set(injected) - before
                time.sleep(0.005)  # the replicas are at work on the burst
                replicas[0].proc.send_signal(signal.SIGKILL)
                kill_at = time.time() * 1000
                in_flight = [r for r in injected if not watch.paged(r)]
                replicas[0].proc.wait(10)
                progress(f"replica 0 killed with {len(in_flight)} needs not yet paged")
            next_at += rng.expovariate(options.need_rate)
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if free:
                inject()
        elapsed = time.monotonic() - started
        stop.set()
        load.join()
        readings = sent[0] + len(injected)
        deadline = time.monotonic() + options.grace
        while time.monotonic() < deadline and not all(watch.paged(r) for r in injected):
            time.sleep(0.05)
        time.sleep(min(2.0, options.grace))  # a late second page would arrive by now
        firsts = {r: watch.first_page(r) for r in injected}
        latencies = [f - injected[r] for r, f in firsts.items() if f is not None]
        steady = [f - injected[r] for r, f in firsts.items() if f is not None and r not in burst]
        missed = sum(1 for f in firsts.values() if f is None)
        pg = _per_need(pg_stats, at_start, idle, len(injected))
    finally:
        for replica in replicas:
            replica.stop()
        for c in (app, publisher):
            c.disconnect()
            c.loop_stop()
    failover: float | None = None
    if kill_at is not None:
        waits = [f - kill_at for r in in_flight if (f := firsts[r]) is not None]
        failover = round(max([0.0, *waits]), 1)
    return {
        "residents": options.residents,
        "replicas": options.replicas,
        "needs": len(injected),
        "p50_ms": round(_percentile(latencies, 0.50), 2),
        "p99_ms": round(_percentile(latencies, 0.99), 2),
        "missed": missed,
        "doubled": watch.doubled(),
        "failover_ms": failover,
        "max_ms": round(max(latencies), 2) if latencies else None,
        "p99_outside_burst_ms": round(_percentile(steady, 0.99), 2) if burst else None,
        "redelivered": watch.redelivered,
        "in_flight_at_kill": len(in_flight) if kill_at is not None else None,
        "database": options.database,
        "readings_per_message": options.batch,
        "target_p99_ms": 250,
        "target_met": missed == 0 and bool(latencies) and _percentile(latencies, 0.99) <= 250,
        "readings_per_s": round(readings / elapsed, 1),
        "seconds": round(elapsed, 2),
        "volunteers": options.volunteers,
        "lease_s": options.lease,
        **pg,
        "method": f"reading publish -> need (QoS 1) -> careloop alerts x replicas (one "
        f"{'SQLite store, full sync' if not url else 'PostgreSQL 15 database, fsync on'}) -> "
        "first page received on a volunteer topic (QoS 1)",
    }


def _idle_rate(pg_stats: Callable[[], tuple[int, int, int]] | None) -> float | None:
    """PostgreSQL transactions a second of the replicas at rest (their polls), over 3 s."""
    if pg_stats is None:
        return None
    time.sleep(1.0)  # the statistics are flushed within a second of each transaction
    before, t0 = pg_stats()[0], time.monotonic()
    time.sleep(3.0)
    time.sleep(1.0)
    return (pg_stats()[0] - before) / (time.monotonic() - t0 - 1.0)


def _per_need(
    pg_stats: Callable[[], tuple[int, int, int]] | None, at_start: tuple[int, int, int] | None,
    idle: float | None, needs: int,
) -> dict[str, Any]:  # fmt: skip
    """Per need in the timed window (PostgreSQL only): transactions that wrote (each takes a
    transaction id; read-only polls take none), all transactions, and rows written."""
    if pg_stats is None or at_start is None or idle is None or not needs:
        return {}
    time.sleep(1.0)  # the last transactions' statistics
    xacts, rows, xids = (a - b for a, b in zip(pg_stats(), at_start, strict=True))
    return {
        "pg_write_transactions_per_need": round(xids / needs, 1),
        "pg_transactions_per_need": round(xacts / needs, 1),
        "pg_idle_transactions_per_s": round(idle, 1),
        "pg_rows_written_per_need": round(rows / needs, 1),
    }


def _warm_up(publisher: Client, watch: PageWatch, replicas: list[Replica]) -> None:
    """Until every replica is connected and a page for the warm-up need came back."""
    need = NeedMessage(
        id="warmup:help_request:1", site=SITE, resident="warmup", kind="help_request",
        tier="general", ts=int(time.time() * 1000), onset=int(time.time() * 1000),
        score=0.0, summary="bench warm-up",
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        if watch.paged("warmup") and all(r.connected() for r in replicas):
            time.sleep(1.0)  # subscriptions follow the connection
            return
        if any(r.proc.poll() is not None for r in replicas) or time.monotonic() > deadline:
            raise RuntimeError("careloop alerts did not start; see alerts-*.log in --work-dir")
        publisher.publish(str(NeedTopic(SITE, "warmup")), encode_need(need), qos=1)
        time.sleep(0.3)
