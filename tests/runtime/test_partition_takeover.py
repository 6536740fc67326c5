"""Two ``careloop score --partition K/2`` processes on the real broker: each receives only its
own sites' messages, and one killed with -9 mid-stream is taken over from its snapshot by a
process started in its place, with every SOS raised as exactly one need."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

from devservers import Mosquitto, free_port
from tests.runtime.conftest import T0, Device, Needs, S, site_per_partition
from tests.runtime.test_restart import snapshot_readings, wait_for_line


def start(
    broker: Mosquitto, data_dir: Path, k: int, client_id: str, port: int, log: Path
) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "app", "score", "--partition", f"{k}/2", "--client-id", client_id,
        "--data-dir", str(data_dir), "--mqtt-host", broker.host, "--mqtt-port", str(broker.port),
        "--snapshot-every", "0.2", "--max-delay", "0.02", "--tick-every", "0.5",
        "--metrics-port", str(port),
    ]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=out)


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not served")


def wait_metric(port: int, name: str, value: float, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while (got := metric(port, name)) != value:
        assert time.monotonic() < deadline, f"{name} = {got}, expected {value}"
        time.sleep(0.05)


class Stream:
    """Vitals of every device, one round every 20 ms, on a thread, until stopped."""

    def __init__(self, devices: list[Device]) -> None:
        self.devices = devices
        self.rounds = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                for dev in self.devices:
                    dev.vitals(T0 + self.rounds * 10 * S)
                self.rounds += 1
            time.sleep(0.02)

    def sos(self, dev: Device) -> int:
        """Press ``dev``'s SOS button just after its latest reading; the press's time."""
        with self._lock:
            ts = T0 + self.rounds * 10 * S + 1
            dev.send("event", {"ts": ts, "type": "sos_button"})
        return ts

    def __enter__(self) -> Stream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def test_kill_9_of_one_partition_mid_stream_is_taken_over_from_its_snapshot(
    mosquitto, tmp_path, unique_topic_root, publisher
):
    sites = site_per_partition(unique_topic_root)
    people = tmp_path / "people.sqlite3"
    # per site: r0 presses SOS before the kill, r1 while partition 0 is down, r2 after
    devs = {
        (k, r): Device(publisher, sites[k], f"r{r}", people, device=f"term-{k}-{r}")
        for k in (0, 1)
        for r in range(3)
    }
    ports = {k: free_port() for k in (0, 1)}
    ids = {k: f"score-{unique_topic_root}-p{k}" for k in (0, 1)}
    logs = {k: tmp_path / f"p{k}.log" for k in (0, 1)}
    needs = Needs(mosquitto)
    procs = {k: start(mosquitto, tmp_path, k, ids[k], ports[k], logs[k]) for k in (0, 1)}
    sos_ts: dict[tuple[int, int], int] = {}
    try:
        for k in (0, 1):
            wait_for_line(logs[k], r"sites subscribed .*total=1")
        with Stream(list(devs.values())) as stream:
            for k in (0, 1):
                sos_ts[k, 0] = stream.sos(devs[k, 0])
            for k in (0, 1):
                needs.wait(lambda n, k=k: n.site == sites[k] and n.resident == "r0", timeout=20)
            snapshot = tmp_path / "score" / "p0of2.snapshot"
            deadline = time.monotonic() + 15
            while snapshot_readings(snapshot) < 20:  # a snapshot with some learning in it
                assert time.monotonic() < deadline, "no snapshot of partition 0"
                time.sleep(0.05)
            os.kill(procs[0].pid, signal.SIGKILL)  # mid-stream: the vitals keep coming
            procs[0].wait(10)
            assert procs[0].returncode == -signal.SIGKILL
            for k in (0, 1):  # partition 0's waits in its persistent session; 1's is scored
                sos_ts[k, 1] = stream.sos(devs[k, 1])
            needs.wait(lambda n: n.site == sites[1] and n.resident == "r1", timeout=20)
            time.sleep(0.5)  # more readings while partition 0 is down
            procs[0] = start(mosquitto, tmp_path, 0, ids[0], ports[0], logs[0])
            restored = wait_for_line(logs[0], r"score started .*restored=True .*readings=(\d+)")
            assert int(restored.group(1)) >= 20  # the learned state came back
            for k in (0, 1):
                sos_ts[k, 2] = stream.sos(devs[k, 2])
            for k in (0, 1):
                for r in (1, 2):
                    needs.wait(
                        lambda n, k=k, r=r: n.site == sites[k] and n.resident == f"r{r}",
                        timeout=20,
                    )
        needs.pump(1.0)  # anything published twice would have arrived by now
        sent_to = {k: stream.rounds * 3 + 3 for k in (0, 1)}  # vitals + 3 SOS per site
        # partition 1 never stopped: it received exactly its own site's messages
        wait_metric(ports[1], "careloop_score_messages_received_total", sent_to[1])
        for k in (0, 1):
            assert metric(ports[k], "careloop_score_messages_skipped_total") == 0
            assert metric(ports[k], "careloop_score_sites_subscribed") == 1
        # the new partition 0 received what was queued while it was down and what came after,
        # and nothing of site 1 (skipped is 0): fewer than all of its site's messages
        assert 0 < metric(ports[0], "careloop_score_messages_received_total") < sent_to[0]
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            proc.wait(20)
        needs.close()
    assert procs[1].returncode == 0 and procs[0].returncode == 0, logs[0].read_text()

    # every SOS became exactly one need (one id, opened, onset at the press), none missed;
    # a need the outbox publishes again after a restart has the same id, state and ts, and
    # the alert service handles such a redelivery once (tests/alerts/test_dedup.py)
    sos = [n for n in needs.seen if n.kind == "sos" and n.state == "open"]
    by_press = Counter((n.site, n.resident) for n in {(n.site, n.id): n for n in sos}.values())
    assert by_press == Counter({(sites[k], f"r{r}"): 1 for k in (0, 1) for r in range(3)})
    for n in sos:
        k, r = next(k for k in (0, 1) if sites[k] == n.site), int(n.resident[1:])
        assert n.onset == sos_ts[k, r], (n.site, n.resident, n.onset)
    assert len({(n.site, n.id) for n in sos}) == 6  # need ids are unique per site
    assert not [n for n in needs.seen if n.kind != "sos"], [(n.kind, n.state) for n in needs.seen]
