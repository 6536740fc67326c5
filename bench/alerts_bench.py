"""``careloop bench alerts``: from a reading's publish to the volunteer's MQTT notification.

Method: a private Mosquitto and a real ``careloop alerts`` subprocess (its own SQLite store,
``synchronous=full``, a roster of ``volunteers`` at one site). A load thread publishes one
vitals reading per resident per second (raw QoS 0 publishes of prebuilt payloads, not an
edge agent each), so the broker carries the whole fleet's traffic while alerts work. Needs
are injected at random (Poisson, ``need_rate`` per second) for residents chosen at random:
the bench publishes the triggering reading, notes the time, and publishes the care need
(``NeedMessage``, ``ts`` = that time) as the scorer would. A volunteer app subscribed to
every volunteer topic records when the first page for that resident arrives. Latency =
receipt - reading publish, on one machine's clock. ``missed`` counts needs with no page
within ``grace`` seconds after the load stopped.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion

from careloop.wire import Topic
from careloop.wire.alerts import alert_subscription, decode_notification
from careloop.wire.needs import NeedMessage, NeedTopic, encode_need
from devservers import Mosquitto

SITE = "bench"
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
    grace: float = 5.0
    work_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.residents < 1 or self.seconds <= 0 or self.need_rate <= 0:
            raise ValueError("residents, seconds and need_rate must be positive")
        if self.volunteers < 3:
            raise ValueError("need at least 3 volunteers")


def _people(data_dir: Path, residents: int) -> None:
    """The residents needs are raised for, consenting to share with volunteers, so their
    pages name them (the bench matches each page to its need by the resident's id)."""
    from careloop.settings import load_settings
    from people import Consent, Directory, Resident, Site

    with Directory(load_settings(data_dir=str(data_dir)).paths.people) as people, people.tx():
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
            return _run(options, broker, work, progress)


def _run(
    options: AlertBenchOptions, broker: Mosquitto, work: Path, progress: Callable[[str], None]
) -> dict[str, Any]:
    rng = random.Random(options.seed)
    _people(work / "data", options.residents)
    _roster(work / "roster.toml", options.volunteers)
    cmd = [
        sys.executable, "-m", "app", "alerts", "--site", SITE,
        "--data-dir", str(work / "data"), "--mqtt-host", broker.host,
        "--mqtt-port", str(broker.port), "--roster", str(work / "roster.toml"),
        "--client-id", "alerts-bench", "--log-level", "WARNING",
    ]  # fmt: skip
    log = (work / "alerts.log").open("ab")
    service = subprocess.Popen(cmd, stdout=log, stderr=log, env={**os.environ})
    received: dict[str, float] = {}
    lock = threading.Lock()

    def on_message(client: Client, userdata: object, msg: MQTTMessage) -> None:
        now = time.time() * 1000
        note = decode_notification(msg.topic, bytes(msg.payload))
        if note.type == "page" and note.resident is not None:
            with lock:
                received.setdefault(note.resident, now)

    app = _client(broker, "bench-volunteers")
    app.on_message = on_message
    app.subscribe(alert_subscription("volunteer", SITE), qos=1)
    publisher = _client(broker, "bench-fleet")
    try:
        progress("waiting for careloop alerts to subscribe")
        _warm_up(publisher, received, lock, service)
        with lock:
            received.clear()
        injected: dict[str, float] = {}
        stop = threading.Event()
        sent = [0]
        load = threading.Thread(
            target=_fleet, args=(publisher, options.residents, stop, sent), name="bench-fleet"
        )
        load.start()
        progress(
            f"{options.residents} residents at 1 Hz, needs at {options.need_rate}/s for "
            f"{options.seconds:.0f} s"
        )
        started = time.monotonic()
        free = list(range(options.residents))
        rng.shuffle(free)
        next_at = started
        while time.monotonic() - started < options.seconds and free:
            next_at += rng.expovariate(options.need_rate)
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            i = free.pop()
            resident = f"r{i:05d}"
            kind, tier = KINDS[rng.randrange(len(KINDS))]
            ts = _reading(publisher, i)  # the triggering reading
            need = NeedMessage.model_validate(
                {"id": f"{resident}:{kind}:{ts}", "site": SITE, "resident": resident,
                 "kind": kind, "tier": tier, "ts": ts, "onset": ts, "score": 1.0,
                 "summary": f"bench {kind}", "language": "en"}
            )  # fmt: skip
            publisher.publish(str(NeedTopic(SITE, resident)), encode_need(need), qos=1)
            injected[resident] = float(ts)
        elapsed = time.monotonic() - started
        stop.set()
        load.join()
        readings = sent[0] + len(injected)
        deadline = time.monotonic() + options.grace
        while time.monotonic() < deadline:
            with lock:
                if all(r in received for r in injected):
                    break
            time.sleep(0.05)
        with lock:
            latencies = [received[r] - t for r, t in injected.items() if r in received]
        missed = sum(1 for r in injected if r not in received)
    finally:
        service.terminate()
        try:
            service.wait(15)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        for c in (app, publisher):
            c.disconnect()
            c.loop_stop()
    return {
        "residents": options.residents,
        "needs": len(injected),
        "p50_ms": round(_percentile(latencies, 0.50), 2),
        "p99_ms": round(_percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2) if latencies else None,
        "missed": missed,
        "target_p99_ms": 250,
        "target_met": missed == 0 and bool(latencies) and _percentile(latencies, 0.99) <= 250,
        "readings_per_s": round(readings / elapsed, 1),
        "seconds": round(elapsed, 2),
        "volunteers": options.volunteers,
        "method": "reading publish -> need (QoS 1) -> careloop alerts (SQLite full sync) -> "
        "first page received on a volunteer topic (QoS 1)",
    }


_TEMPLATE = '{{"v":1,"device":"d{i:05d}","resident":"r{i:05d}","seq":{seq},"ts":{ts},' \
    '"readings":[{{"ts":{ts},"heart_rate":{hr}}}]}}'  # fmt: skip


def _reading(client: Client, i: int, seq: int = 0) -> int:
    """Publish resident ``i``'s triggering reading; returns its time (epoch ms)."""
    ts = int(time.time() * 1000)
    payload = _TEMPLATE.format(i=i, seq=seq, ts=ts, hr=60 + i % 40)
    client.publish(str(Topic(SITE, f"d{i:05d}", "vitals")), payload, qos=0)
    return ts


def _fleet(client: Client, residents: int, stop: threading.Event, sent: list[int]) -> None:
    """Every resident once a second, spread over the second in 100 slices."""
    topics = [str(Topic(SITE, f"d{i:05d}", "vitals")) for i in range(residents)]
    slices = 100
    per = max(1, residents // slices)
    seq = 0
    start = time.monotonic()
    tick = 0
    while not stop.is_set():
        seq += 1
        for s in range(slices):
            if stop.is_set():
                return
            lo, hi = s * per, residents if s == slices - 1 else (s + 1) * per
            ts = int(time.time() * 1000)
            for i in range(lo, hi):
                payload = _TEMPLATE.format(i=i, seq=seq, ts=ts, hr=60 + i % 40)
                client.publish(topics[i], payload, qos=0)
            sent[0] += hi - lo  # only this thread writes it
            tick += 1
            delay = start + tick / slices - time.monotonic()
            if delay > 0:
                time.sleep(delay)


def _warm_up(
    publisher: Client,
    received: dict[str, float],
    lock: threading.Lock,
    service: subprocess.Popen[bytes],
) -> None:
    need = NeedMessage(
        id="warmup:help_request:1", site=SITE, resident="warmup", kind="help_request",
        tier="general", ts=int(time.time() * 1000), onset=int(time.time() * 1000),
        score=0.0, summary="bench warm-up",
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        with lock:
            if "warmup" in received:
                return
        if service.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("careloop alerts did not start; see alerts.log in --work-dir")
        publisher.publish(str(NeedTopic(SITE, "warmup")), encode_need(need), qos=1)
        time.sleep(0.3)
