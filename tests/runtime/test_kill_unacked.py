"""A scorer killed with -9 while messages are queued and being scored loses none of them.

The scorer acknowledges a message only once it is scored and the needs it raised are in its
outbox's file (models/runtime/inbox.py): whatever it held unacknowledged at the kill, the
broker delivers again to the process restarted with the same client id, and a need raised
again after restoring an older snapshot keeps its id (the alert service handles it once).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from bench.rawmqtt import RawClient
from careloop.wire import Topic, data_message, encode
from careloop.wire.needs import NeedMessage
from devservers import Mosquitto, free_port
from models.runtime.metrics import ScoreMetrics
from models.runtime.outbox import NeedOutbox
from people import Device as RegisteredDevice
from people import DeviceRegistry
from tests.runtime.conftest import T0, Needs
from tests.runtime.test_partition_takeover import metric, wait_metric
from tests.runtime.test_restart import wait_for_line

RESIDENTS = 1500
#: SOS presses a publish round, and the pause between rounds (about 1000 a second).
ROUND, PAUSE = 50, 0.05


def start(
    broker: Mosquitto, data_dir: Path, site: str, port: int, log: Path
) -> subprocess.Popen[bytes]:
    """A scorer that lets messages wait up to 0.3 s in its inbox (so a kill finds some)."""
    cmd = [
        sys.executable, "-m", "app", "score", "--sites", site, "--client-id", f"score-{site}",
        "--data-dir", str(data_dir), "--mqtt-host", broker.host, "--mqtt-port", str(broker.port),
        "--snapshot-every", "0.2", "--max-delay", "0.3", "--tick-every", "0.5",
        "--metrics-port", str(port),
    ]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=out)


def presses(site: str) -> list[tuple[bytes, bytes]]:
    """One SOS press by each resident, on their own device."""
    out = []
    for r in range(RESIDENTS):
        device, ts = f"term-{r}", T0 + r
        msg = data_message(
            "event", device=device, resident=f"r{r}", seq=1, ts=ts,
            readings=[{"ts": ts, "type": "sos_button"}],
        )  # fmt: skip
        out.append((str(Topic(site, device, "event")).encode(), encode(msg)))
    return out


def scored(port: int) -> float:
    """Events scored so far (the labelled series is served from the first one on)."""
    try:
        return metric(port, 'careloop_score_readings_scored_total{kind="event"}')
    except AssertionError:
        return 0.0


def test_kill_9_mid_burst_loses_no_sos(
    mosquitto: Mosquitto, tmp_path: Path, unique_topic_root: str
) -> None:
    site = unique_topic_root
    people = tmp_path / "people.sqlite3"
    with DeviceRegistry(people) as reg:
        reg.add([RegisteredDevice(f"term-{r}", site, f"r{r}") for r in range(RESIDENTS)])
    port, log = free_port(), tmp_path / "score.log"
    needs = Needs(mosquitto, site)
    proc = start(mosquitto, tmp_path, site, port, log)
    sent = presses(site)
    published = threading.Event()

    errors: list[BaseException] = []

    def publish() -> None:
        try:
            with RawClient(mosquitto.host, mosquitto.port, f"sos-{site}") as publisher:
                for i in range(0, len(sent), ROUND):
                    part = sent[i : i + ROUND]
                    assert publisher.publish_all(part) == len(part)
                    time.sleep(PAUSE)
            published.set()
        except BaseException as exc:  # reported by the test, not lost with the thread
            errors.append(exc)

    try:
        wait_for_line(log, r"score started")
        wait_metric(port, "careloop_score_connected", 1)  # subscribed
        thread = threading.Thread(target=publish, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        # some scored and snapshotted (the restart restores an older state)
        snapshots = tmp_path / "score"
        while (before := scored(port)) < RESIDENTS // 10 or not any(snapshots.glob("*.snapshot")):
            assert time.monotonic() < deadline, f"only {before} scored"
            time.sleep(0.02)
        received = metric(port, "careloop_score_messages_received_total")
        os.kill(proc.pid, signal.SIGKILL)  # some scored, some queued, more on the way
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        assert not published.is_set()  # the burst was still being published
        assert before < received  # messages were in the inbox, unscored, at the kill
        thread.join(30)
        assert not errors and published.is_set(), errors
        proc = start(mosquitto, tmp_path, site, port, log)
        wait_for_line(log, r"score started .*restored=True")
        deadline = time.monotonic() + 60
        while (got := len({n.resident for n in needs.seen if n.kind == "sos"})) < RESIDENTS:
            assert time.monotonic() < deadline, f"{RESIDENTS - got} SOS raised no need"
            needs.pump(0.2)
        needs.pump(1.0)  # a need published twice would have arrived by now
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        needs.close()
    assert proc.returncode == 0, log.read_text()[-2000:]

    # every press became exactly one need: one id per resident, opened, onset at the press
    sos = [n for n in needs.seen if n.kind == "sos"]
    ids = {n.id: n for n in sos}
    assert Counter(n.resident for n in ids.values()) == Counter(f"r{r}" for r in range(RESIDENTS))
    assert {n.state for n in sos} == {"open"}
    assert all(n.onset == T0 + int(n.resident[1:]) for n in sos)


def test_the_outbox_says_whether_needs_are_on_disk(tmp_path: Path) -> None:
    """A batch's messages are acknowledged only if its needs reached the file: a disk that
    fails leaves them unacknowledged (and is logged), and the needs are published anyway."""
    counts = dict.fromkeys(("needs_raised", "needs_dropped"), 0)
    sos = NeedMessage(
        id="r1:sos:1", site="s1", resident="r1", kind="sos", tier="emergency", state="open",
        ts=T0, onset=T0, score=1.0, summary="SOS", language="en",
    )  # fmt: skip
    good = NeedOutbox(tmp_path / "p.outbox.jsonl", ScoreMetrics(), counts)
    assert good.extend([sos]) is True
    assert good.path.read_text() == sos.model_dump_json() + "\n"
    broken = tmp_path / "broken.outbox.jsonl"
    broken.mkdir()  # a path that cannot be opened as a file
    metrics = ScoreMetrics()
    bad = NeedOutbox(broken, metrics, counts)
    assert metrics.registry.get_sample_value("careloop_score_outbox_disk_ok") == 1
    assert bad.extend([sos]) is False
    assert bad.first() == sos  # still published
    assert counts["needs_raised"] == 2
    # operators see it: the gauge drops and the failed writes are counted, until it mends
    assert metrics.registry.get_sample_value("careloop_score_outbox_disk_ok") == 0
    assert metrics.registry.get_sample_value("careloop_score_outbox_disk_errors_total") == 1
    broken.rmdir()
    assert bad.extend([sos]) is True
    assert metrics.registry.get_sample_value("careloop_score_outbox_disk_ok") == 1
