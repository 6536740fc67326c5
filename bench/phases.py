"""The phases of ``careloop bench ingest``; each measures one path on its own fresh state.

Every phase gets its own site (topic level), InfluxDB database and MQTT client id, and
leaves nothing behind (the database is dropped, the session deleted), so no phase pays for
an earlier one's data. Each returns a :class:`PhaseResult` whose rate is the *verified*
count divided by the timed window:

* ``influx_ceiling``: prebuilt line protocol POSTed in 5000-line bodies (no MQTT at all);
* ``broker_ceiling``: a pre-loaded backlog drained by a bare subscriber that only counts;
* ``naive_bridge`` / ``ingest_*``: a pre-loaded backlog drained by a consumer process, timed
  from its CONNECT until InfluxDB holds every reading.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.consumers import (
    INGEST_CONNECTED,
    NAIVE_CONNECTED,
    ConsumerProcess,
    Profiler,
    find_py_spy,
    ingest_argv,
    naive_argv,
)
from bench.influx import InfluxBench, write_all
from bench.preload import SESSION_EXPIRY_S, create_session, publish, wait_until_dropped
from bench.procstat import CpuMeter, rss_mb
from bench.profile import summarize
from bench.rawmqtt import RawClient
from bench.workload import Expected, Workload
from careloop.settings import load_settings
from careloop.wire import subscription
from devservers import InfluxDB, Mosquitto
from people import Device, DeviceRegistry

#: Lines per ``/write`` body in the InfluxDB ceiling (the issue's figure, and ingest's).
CEILING_BATCH = 5000
#: Seconds between "is the last message stored?" probes (a 1-series query, ~2 ms of influxd).
PROBE_INTERVAL_S = 0.1
#: Seconds between full counts once the last message is in (some batch may still be late).
RECOUNT_INTERVAL_S = 0.25
#: Seconds to wait after completion before the final count, so late duplicates would show.
SETTLE_S = 0.5
PROFILE_RATE_HZ = 100

Progress = Callable[[str], None]
ConsumerKind = Literal["naive", "ingest"]


@dataclass
class PhaseResult:
    """One phase's verified outcome. ``rate`` is readings (or, broker, messages) per second."""

    phase: str
    messages: int
    readings_per_message: int
    expected: int
    stored: int
    seconds: float
    rate: float
    lost: int
    duplicated: int
    checksum_ok: bool | None
    complete: bool
    cpu: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Bench:
    """The servers and run-wide choices every phase shares."""

    mosquitto: Mosquitto
    influxdb: InfluxDB
    work_dir: Path
    run_id: str
    devices: int
    seed: int
    progress: Progress
    profile_dir: Path | None = None
    ingest_args: tuple[str, ...] = ()
    keep_data: bool = False

    runs: int = 0

    def names(self, phase: str) -> tuple[str, str, str]:
        """(site, database, client id) of one run of a phase, unique across runs (so a
        calibration run and the measured one never share a database or a session)."""
        self.runs += 1
        tag = f"{phase.replace('_', '-')}-{self.run_id}-{self.runs}"
        return tag, f"bench_{tag.replace('-', '_')}", f"bench-{tag}"

    def workload(self, site: str) -> Workload:
        return Workload(self.devices, seed=self.seed, site=site)

    def server_pids(self) -> dict[str, int]:
        pids = {}
        for name, server in (("influxd", self.influxdb), ("mosquitto", self.mosquitto)):
            if server.process is not None:
                pids[name] = server.process.pid
        return pids

    def finish_database(self, db: InfluxBench) -> None:
        if not self.keep_data:
            db.query(f'DROP DATABASE "{db.database}"')


def _verify(db: InfluxBench, expected: Expected) -> tuple[int, int, int, bool]:
    """(stored, lost, duplicated, checksum_ok) of a phase's database."""
    stored, steps_sum = db.count()
    lost = max(0, expected.readings - stored)
    duplicated = max(0, stored - expected.readings)
    return stored, lost, duplicated, steps_sum == expected.steps_sum and stored > 0


def _costs(cpu: dict[str, Any], units: int) -> dict[str, Any]:
    """Add each process's CPU microseconds per reading (per message for the broker ceiling).

    Wall-clock rates swing with whatever else the shared machine runs; CPU per reading
    swings much less, and says what a phase would cost on quiet cores.
    """
    cpu["cpu_us_per_reading"] = {
        key.removesuffix("_cpu_s"): round(value * 1e6 / units, 2)
        for key, value in cpu.items()
        if key.endswith("_cpu_s") and key != "other_cpu_s" and isinstance(value, float) and units
    }
    return cpu


# -- InfluxDB ceiling ---------------------------------------------------------------------------


def influx_ceiling(bench: Bench, points: int, *, connections: int = 1) -> PhaseResult:
    """Write ``points`` readings of prebuilt line protocol straight to /write."""
    phase = "influx_ceiling" if connections == 1 else f"influx_ceiling_{connections}conn"
    site, database, _ = bench.names(phase)
    workload = bench.workload(site)
    bodies = workload.bodies(points, CEILING_BATCH)
    expected = workload.expected(1, points)
    with InfluxBench(bench.influxdb.url, database) as db:
        db.create()
        meter = CpuMeter({**bench.server_pids(), "client": os.getpid()})
        meter.start()
        elapsed = write_all(bench.influxdb.url, database, bodies, connections)
        cpu = _costs(meter.stop(), expected.readings)
        stored, lost, duplicated, checksum_ok = _verify(db, expected)
        bench.finish_database(db)
    rate = min(stored, expected.readings) / elapsed
    bench.progress(f"{phase}: {stored} points in {elapsed:.2f} s = {rate:,.0f} points/s")
    return PhaseResult(
        phase, points, 1, expected.readings, stored, round(elapsed, 3), round(rate, 1),
        lost, duplicated, checksum_ok, lost == 0, cpu,
        {"connections": connections, "batch_lines": CEILING_BATCH, "bodies": len(bodies)},
    )  # fmt: skip


# -- broker ceiling -----------------------------------------------------------------------------


def broker_ceiling(bench: Bench, messages: int) -> PhaseResult:
    """Drain a pre-loaded backlog with a subscriber that acknowledges and counts, nothing else.

    It subscribes like ingest (a v5 shared subscription, receive maximum 1000) so the broker
    does the same work per message as it does for ingest.
    """
    phase = "broker_ceiling"
    site, _, client_id = bench.names(phase)
    workload = bench.workload(site)
    topic_filter = subscription(share=client_id.replace("bench-", "g"))
    broker = bench.mosquitto
    preload_s = _preload(bench, phase, workload, client_id, topic_filter, 5, 1, messages)
    client = RawClient(
        broker.host, broker.port, client_id, clean_start=False,
        session_expiry=SESSION_EXPIRY_S, receive_maximum=1000,
    )  # fmt: skip
    meter = CpuMeter({**bench.server_pids(), "consumer": os.getpid()})
    client.connect()
    started = time.perf_counter()
    meter.start()
    got = client.receive(messages)
    elapsed = time.perf_counter() - started
    cpu = _costs(meter.stop(), messages)
    extra = client.receive(1, idle_timeout=SETTLE_S)  # redeliveries or strays would show here
    client.disconnect()
    wait_until_dropped(broker.host, broker.port, client_id)
    rate = min(got, messages) / elapsed
    bench.progress(f"{phase}: {got} messages in {elapsed:.2f} s = {rate:,.0f} messages/s")
    return PhaseResult(
        phase, messages, 1, messages, got, round(elapsed, 3), round(rate, 1),
        max(0, messages - got), extra + max(0, got - messages), None, got >= messages, cpu,
        {"preload_s": preload_s, "session_present": client.session_present},
    )  # fmt: skip


# -- consumers: the naive bridge and careloop ingest -----------------------------------------


def consumer(
    bench: Bench, phase: str, kind: ConsumerKind, per_message: int, messages: int
) -> PhaseResult:
    """Pre-load ``messages`` of ``per_message`` readings, start the consumer, time the drain."""
    site, database, client_id = bench.names(phase)
    workload = bench.workload(site)
    broker, influx = bench.mosquitto, bench.influxdb
    data_dir = bench.work_dir / site
    with InfluxBench(influx.url, database) as db:
        db.create()
        if kind == "ingest":
            group = client_id.replace("bench-", "g")
            topic_filter, version = subscription(share=group), 5
            _register(data_dir, workload)
            argv = ingest_argv(
                mqtt_host=broker.host, mqtt_port=broker.port, influx_url=influx.url,
                database=database, data_dir=data_dir, client_id=client_id, share_group=group,
                extra=bench.ingest_args,
            )  # fmt: skip
            marker = INGEST_CONNECTED
        else:
            # The naive bridge subscribes plainly (MQTT 3.1.1, clean_session=False).
            topic_filter, version = subscription(site=site), 4
            argv = naive_argv(
                mqtt_host=broker.host, mqtt_port=broker.port, influx_url=influx.url,
                database=database, client_id=client_id, topic_filter=topic_filter,
            )  # fmt: skip
            marker = NAIVE_CONNECTED
        preload_s = _preload(
            bench, phase, workload, client_id, topic_filter, version, per_message, messages
        )
        expected = workload.expected(per_message, messages)
        proc = ConsumerProcess(phase, argv, data_dir / f"{kind}.log", marker)
        try:
            started = proc.start()
            meter = CpuMeter(
                {**bench.server_pids(), "consumer": proc.pid, "bench": os.getpid()},
                threads_of="consumer",
            )
            meter.start()
            profiler = _profiler(bench, phase, proc.pid)
            done_at, complete = _wait_stored(
                db, workload, per_message, messages, expected, alive=proc.alive
            )
            cpu = _costs(meter.stop(), expected.readings)
            if profiler is not None:
                profiler.stop()
            time.sleep(SETTLE_S)
            stored, lost, duplicated, checksum_ok = _verify(db, expected)
            code = proc.stop()
        finally:
            proc.kill()
        bench.finish_database(db)
    wait_until_dropped(broker.host, broker.port, client_id)
    elapsed = done_at - started
    rate = min(stored, expected.readings) / elapsed
    bench.progress(
        f"{phase}: {stored}/{expected.readings} readings in {elapsed:.2f} s = "
        f"{rate:,.0f} readings/s ({messages / elapsed:,.0f} messages/s)"
    )
    extra: dict[str, Any] = {
        "preload_s": preload_s,
        "startup_s": round(started - proc.started_at, 3),
        "exit_code": code,
    }
    if kind == "ingest":
        extra["ingest_counts"] = _ingest_counts(proc)
    if profiler is not None and profiler.output.exists():
        extra["profile"] = summarize(profiler.output, rate=PROFILE_RATE_HZ)
        extra["profile"]["file"] = str(profiler.output)
    return PhaseResult(
        phase, messages, per_message, expected.readings, stored, round(elapsed, 3),
        round(rate, 1), lost, duplicated, checksum_ok, complete and lost == 0, cpu, extra,
    )  # fmt: skip


def _preload(
    bench: Bench,
    phase: str,
    workload: Workload,
    client_id: str,
    topic_filter: str,
    version: int,
    per_message: int,
    messages: int,
) -> float:
    """Create the consumer's session and queue every message in it; seconds taken."""
    broker = bench.mosquitto
    started = time.perf_counter()
    create_session(broker.host, broker.port, client_id, topic_filter, version)
    acked = publish(
        broker.host, broker.port, f"{client_id}-producer", workload.messages(per_message, messages)
    )
    took = time.perf_counter() - started
    rss = rss_mb(broker.process.pid) if broker.process is not None else None
    bench.progress(
        f"{phase}: pre-loaded {acked} messages of {per_message} reading(s) in {took:.1f} s "
        f"(mosquitto RSS {rss} MiB)"
    )
    return round(took, 2)


def _register(data_dir: Path, workload: Workload) -> None:
    """Register the workload's devices in the registry ingest will open (not timed)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    people = load_settings(data_dir=str(data_dir)).paths.people  # the file ingest opens
    with DeviceRegistry(people, durable=False) as registry:
        registry.add(
            Device(d, workload.site, r)
            for d, r in zip(workload.devices, workload.residents, strict=True)
        )


def _profiler(bench: Bench, phase: str, pid: int) -> Profiler | None:
    if bench.profile_dir is None or not phase.startswith("ingest"):
        return None
    py_spy = find_py_spy()
    if py_spy is None:
        bench.progress("--profile: py-spy not found (pip install py-spy); not profiling")
        return None
    profiler = Profiler(py_spy, pid, bench.profile_dir / f"{phase}.txt", PROFILE_RATE_HZ)
    profiler.start()
    return profiler


def _wait_stored(
    db: InfluxBench,
    workload: Workload,
    per_message: int,
    messages: int,
    expected: Expected,
    *,
    alive: Callable[[], bool],
) -> tuple[float, bool]:
    """Poll until InfluxDB holds every reading: (moment it was seen, whether it was).

    The cheap probe asks whether the *last* message's readings are stored (one series, a
    narrow time range; a full count of a million points costs influxd ~0.2 CPU-seconds, too
    much to repeat during the run); only then does a full count run, repeated until it
    reaches the expected number. The moment reported is when the confirming count was sent.
    Gives up once nothing new has been stored for ``stall_s``, or the consumer died.
    """
    device, first_ts = workload.last_message(per_message, messages)
    probe = (
        f'SELECT count("heart_rate") FROM "vitals" '
        f"WHERE \"device\" = '{device}' AND time >= {first_ts}ms"
    )
    stall_s = 30.0
    last_change = time.perf_counter()
    last_count = -1
    while True:
        answer = db.query(probe)["results"][0].get("series")
        if answer and answer[0]["values"][0][1] >= per_message:
            break
        now = time.perf_counter()
        if not alive():
            return now, False
        if now - last_change > stall_s:
            # Something is wrong; see whether anything at all still arrives.
            count = db.count()[0]
            if count == last_count:
                return now, False
            last_count, last_change = count, now
        time.sleep(PROBE_INTERVAL_S)
    last_change = time.perf_counter()
    while True:
        sent = time.perf_counter()
        count = db.count()[0]
        if count >= expected.readings:
            return sent, True
        if not alive():
            return sent, False
        if count != last_count:
            last_count, last_change = count, sent
        elif sent - last_change > stall_s:
            return sent, False
        time.sleep(RECOUNT_INTERVAL_S)


def _ingest_counts(proc: ConsumerProcess) -> dict[str, Any]:
    """The totals ingest logs when it stops (received, written, rejected, acked, ...)."""
    for line in reversed(proc.log_lines()):
        if '"msg": "ingest stopped"' in line:
            record = json.loads(line)
            keys = ("received", "written", "rejected", "acked", "spooled_batches")
            return {k: record.get(k) for k in keys}
    return {}
