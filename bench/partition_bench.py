"""``careloop bench score --partitions N``: one scorer against N partitions, end to end.

Method: a private Mosquitto and a people database of ``sites`` sites with ``residents``
residents in all (one registered vitals terminal each, spread evenly). For each layout,
``careloop score`` processes are started (``--partition K/N``, metrics on, no periodic
snapshots) and the bench waits until each reports itself subscribed
(``careloop_score_connected``); then a raw producer (:mod:`bench.rawmqtt`, never the
bottleneck) publishes ``seconds`` rounds of one vitals reading per resident (``batch``
consecutive rounds per message with ``--batch``), the sites interleaved as a building's
devices would be, at QoS 1, as fast as the broker takes them.
The clock stops when the partitions together have scored every reading
(``careloop_score_readings_scored_total``, polled every 20 ms). Layouts:

* ``1``: one scorer, ``--partition 0/1`` (one wildcard filter per kind);
* ``N/sites``: N partitions, each subscribed per owned site (the default);
* ``N/all``: N partitions, each subscribed to every site, dropping the others' messages
  (the rejected alternative, measured).

Per layout: readings per second (wall, publish start to last reading scored), CPU seconds of
each scorer and of the broker over the same window (``/proc``), CPU µs per reading and per
message (all scorers together), and per partition the messages and topic+payload bytes the
broker sent it (``careloop_score_received_bytes_total``) and the messages it dropped as
another's. Every scorer shares this machine's cores with the broker and the producer: on two
cores, two partitions cannot double the rate; the per-reading CPU and the bytes are the
figures that say what splitting costs and saves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procstat import CpuMeter
from bench.rawmqtt import RawClient
from careloop.wire import Topic
from devservers import Mosquitto, free_port
from models.runtime.config import site_partition

#: 2026-01-01T00:00:00Z: reading time of the first round (the scorer runs on reading time).
START_MS = 1_767_225_600_000
_READY_TIMEOUT_S = 60.0
_DONE_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class PartitionBenchOptions:
    """What one ``careloop bench score --partitions N`` run does."""

    partitions: int = 2
    sites: int = 8
    residents: int = 1000
    seconds: int = 60
    #: Readings per message (a device sending ``batch`` seconds of readings at once).
    batch: int = 1
    work_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.partitions < 2:
            raise ValueError("partitions must be at least 2 (it is compared with one)")
        if self.sites < self.partitions:
            raise ValueError("need at least as many sites as partitions")
        if self.residents < self.sites or self.seconds < 1:
            raise ValueError("need at least one resident per site and one second")
        if not 1 <= self.batch <= self.seconds:
            raise ValueError("batch must be between 1 and seconds")


def site_names(n: int, partitions: int) -> list[str]:
    """``n`` site names spread as evenly as crc32 allows over ``partitions`` (so a layout's
    partitions get equal work and the comparison is about subscribing, not about luck)."""
    per = -(-n // partitions)
    got: dict[int, list[str]] = {k: [] for k in range(partitions)}
    i = 0
    while sum(len(v) for v in got.values()) < n:
        name = f"home-{i:04d}"
        i += 1
        k = site_partition(name, partitions)
        if len(got[k]) < per:
            got[k].append(name)
    return sorted(s for v in got.values() for s in v)[:n]


def run_partition_bench(
    options: PartitionBenchOptions, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Run every layout on one broker; the report (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="careloop-bench-partitions-") as tmp:
        work = options.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        sites = site_names(options.sites, options.partitions)
        residents = _people(work / "data", sites, options.residents)
        messages = list(_messages(residents, options.seconds, options.batch))
        readings = len(residents) * options.seconds
        layouts = [(1, "sites"), (options.partitions, "sites"), (options.partitions, "all")]
        out: dict[str, Any] = {}
        with Mosquitto(work / "mosquitto") as broker:
            for n, mode in layouts:
                name = "1" if n == 1 else f"{n}/{mode}"
                progress(f"layout {name}: {readings} readings in {len(messages)} messages")
                out[name] = _layout(broker, work, n, mode, messages, readings, name)
    n = options.partitions
    one, split, alt = out["1"], out[f"{n}/sites"], out[f"{n}/all"]
    return {
        "readings": readings,
        "messages": len(messages),
        "batch": options.batch,
        "sites": options.sites,
        "residents": len(residents),
        "seconds": options.seconds,
        "partitions": n,
        "layouts": out,
        "speedup_wall": round(split["readings_per_s"] / one["readings_per_s"], 2),
        "cpu_per_reading_vs_one": round(
            split["scorer_cpu_us_per_reading"] / one["scorer_cpu_us_per_reading"], 2
        ),
        "bytes_per_partition_vs_one": round(
            max(p["received_bytes"] for p in split["per_partition"]) / one["received_bytes"], 3
        ),
        "all_vs_sites_bytes": round(alt["received_bytes"] / split["received_bytes"], 2),
        "all_vs_sites_cpu": round(
            alt["scorer_cpu_us_per_reading"] / split["scorer_cpu_us_per_reading"], 2
        ),
        "cores": os.cpu_count(),
        "method": "raw QoS 1 producer -> Mosquitto -> careloop score partition(s); wall from "
        "first publish to last reading scored; CPU from /proc over that window",
    }


def _people(data_dir: Path, sites: list[str], residents: int) -> list[tuple[str, str, str]]:
    """Register one terminal per resident, residents dealt round-robin over the sites."""
    from careloop.settings import load_settings
    from people import Device, DeviceRegistry

    out = [(sites[i % len(sites)], f"r{i:05d}", f"term-{i:05d}") for i in range(residents)]
    with DeviceRegistry(load_settings(data_dir=str(data_dir)).paths.people) as reg:
        reg.add([Device(device, site, resident) for site, resident, device in out])
    return out


def _messages(
    residents: list[tuple[str, str, str]], seconds: int, batch: int = 1
) -> Iterator[tuple[bytes, bytes]]:
    """One vitals reading per resident per second, ``batch`` of them (consecutive seconds)
    per message, in device-time order."""
    topics = [str(Topic(site, device, "vitals")).encode() for site, _, device in residents]
    for first in range(0, seconds, batch):
        ks = range(first, min(first + batch, seconds))
        readings = ",".join(
            f'{{"ts":{START_MS + k * 1000},"heart_rate":{60 + k % 20}.0,"spo2":97.0,'
            f'"respiration_rate":15.0,"steps":{k % 7},"posture":"sitting"}}'
            for k in ks
        )
        ts, seq = START_MS + ks[-1] * 1000, first // batch + 1
        for (_, resident, device), topic in zip(residents, topics, strict=True):
            yield (
                topic,
                (
                    f'{{"v":1,"device":"{device}","resident":"{resident}","seq":{seq},"ts":{ts},'
                    f'"readings":[{readings}]}}'
                ).encode(),
            )


def _metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def _scored(port: int) -> float:
    return _metrics(port).get('careloop_score_readings_scored_total{kind="vitals"}', 0.0)


def _start(
    broker: Mosquitto, work: Path, n: int, k: int, mode: str, port: int, tag: str
) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "app", "score", "--partition", f"{k}/{n}", "--subscribe", mode,
        "--client-id", f"bench-{tag}-p{k}of{n}", "--data-dir", str(work / "data"),
        "--mqtt-host", broker.host, "--mqtt-port", str(broker.port), "--metrics-port", str(port),
        "--snapshot-every", "0", "--max-clock-skew", "0", "--stats-interval", "0",
        "--log-level", "WARNING",
    ]  # fmt: skip
    log = (work / f"score-{tag}-p{k}.log").open("ab")
    return subprocess.Popen(cmd, stdout=log, stderr=log)


def _layout(
    broker: Mosquitto,
    work: Path,
    n: int,
    mode: str,
    messages: list[tuple[bytes, bytes]],
    readings: int,
    name: str,
) -> dict[str, Any]:
    tag = name.replace("/", "-")
    ports = [free_port() for _ in range(n)]
    procs = [_start(broker, work, n, k, mode, ports[k], tag) for k in range(n)]
    try:
        _wait_ready(procs, ports, work)
        assert broker.process is not None
        pids = {f"p{k}": p.pid for k, p in enumerate(procs)} | {"broker": broker.process.pid}
        meter = CpuMeter(pids)
        meter.start()
        began = time.perf_counter()
        with RawClient(broker.host, broker.port, f"bench-producer-{tag}") as producer:
            producer.publish_all(messages)
        deadline = time.monotonic() + _DONE_TIMEOUT_S
        while sum(_scored(p) for p in ports) < readings:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"layout {name}: readings not all scored; logs in {work}")
            time.sleep(0.02)
        wall = time.perf_counter() - began
        cpu = meter.stop()
        per = [_metrics(p) for p in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    scorer_cpu = 0.0
    for k in range(n):
        used = cpu[f"p{k}_cpu_s"]
        scorer_cpu += float(used) if isinstance(used, int | float) else 0.0
    parts = [
        {
            "partition": f"{k}/{n}",
            "readings": int(m.get('careloop_score_readings_scored_total{kind="vitals"}', 0)),
            "received_messages": int(m.get("careloop_score_messages_received_total", 0)),
            "skipped_messages": int(m.get("careloop_score_messages_skipped_total", 0)),
            "received_bytes": int(m.get("careloop_score_received_bytes_total", 0)),
            "sites_subscribed": int(m.get("careloop_score_sites_subscribed", 0)),
            "cpu_s": cpu[f"p{k}_cpu_s"],
        }
        for k, m in enumerate(per)
    ]
    return {
        "partitions": n,
        "subscribe": "wildcard" if n == 1 else mode,
        "wall_s": round(wall, 3),
        "readings_per_s": round(readings / wall),
        "scorer_cpu_s": round(scorer_cpu, 2),
        "scorer_cpu_us_per_reading": round(scorer_cpu * 1e6 / readings, 2),
        "scorer_cpu_us_per_message": round(scorer_cpu * 1e6 / len(messages), 2),
        "broker_cpu_s": cpu["broker_cpu_s"],
        "machine_busy_pct": cpu.get("machine_busy_pct"),
        "received_bytes": sum(p["received_bytes"] for p in parts),
        "per_partition": parts,
    }


def _wait_ready(procs: list[subprocess.Popen[bytes]], ports: list[int], work: Path) -> None:
    """Until every scorer serves metrics and says it is connected and subscribed."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    for proc, port in zip(procs, ports, strict=True):
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"a scorer did not start; logs in {work}")
            try:
                if _metrics(port).get("careloop_score_connected") == 1.0:
                    break
            except OSError:
                pass
            time.sleep(0.1)
