"""The scorer's MQTT session under a flood of readings: a late PUBACK does not end it, and
a connection cut under it loses nothing and counts nothing twice.

Issue 11's 100 000-payload fuzz run never finished: the scorer waited at most
``mqtt.publish_timeout`` for the PUBACK of a need and the SUBACKs of its resubscribe, which
sat behind tens of thousands of readings in the socket (paho acknowledged each reading as
it was read, so the broker kept up to 65 535 in flight); each time it ended the session,
reconnected into the redelivered backlog, and stopped making progress. The scorer now
waits for those answers on a live connection without a limit, acknowledges a reading only
once it is scored, and asks for at most ``inbox.RECEIVE_MAXIMUM`` in flight.
"""

from __future__ import annotations

import contextlib
import socket
from collections import Counter
from pathlib import Path

import pytest

from bench.rawmqtt import RawClient
from careloop.settings import load_settings
from careloop.wire import Topic, data_message, encode
from devservers import Mosquitto
from models.runtime import inbox
from people import DeviceRegistry
from tests.fuzz.corpus import Expected, generate
from tests.fuzz.fleet import Fleet
from tests.fuzz.observe import Samples, publish
from tests.runtime.conftest import T0, S, Scorer, register, score_settings

DEVICES = 6
PER_DEVICE = 500
CUTS = 5


def readings(site: str) -> list[tuple[bytes, bytes]]:
    """``PER_DEVICE`` vitals messages from each of ``DEVICES`` devices, interleaved."""
    out = []
    for n in range(PER_DEVICE):
        for d in range(DEVICES):
            device, resident = f"term-{d}", f"r{d}"
            reading = {"ts": T0 + n * S, "heart_rate": 70.0 + n % 9, "spo2": 97.0}
            msg = data_message(
                "vitals", device=device, resident=resident, seq=n + 1, ts=T0 + n * S,
                readings=[reading],
            )  # fmt: skip
            out.append((str(Topic(site, device, "vitals")).encode(), encode(msg)))
    return out


def cut(scorer: Scorer) -> bool:
    """Drop the scorer's TCP connection under it, as a failing network does."""
    client = scorer.service.client
    sock = None if client is None else client._client.socket()  # paho's socket
    if sock is None:
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return False
    return True


def test_no_message_is_lost_when_the_connection_drops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small batches: more of the messages are acknowledged (and more cut) mid-stream
    monkeypatch.setattr(inbox, "BATCH_AT", 50)
    site = "cut-site"
    people = tmp_path / "people.sqlite3"
    for d in range(DEVICES):
        register(people, site, f"r{d}", f"term-{d}")
    sent = readings(site)
    with Mosquitto(tmp_path / "mosquitto") as broker:
        scorer = Scorer(score_settings(broker, tmp_path / "score", registry=people, sites=site))
        service = scorer.service
        taken: Counter[tuple[str, bytes]] = Counter()
        take = service.inbox.take

        def recording_take(items: list[tuple[str, bytes, int]]) -> None:
            for topic, payload, _ in items:
                taken[(topic, payload)] += 1
            take(items)

        service.inbox.take = recording_take  # type: ignore[method-assign]
        parts = [sent[i :: CUTS + 1] for i in range(CUTS + 1)]
        cuts = 0
        try:
            with RawClient(broker.host, broker.port, "cut-publisher") as publisher:
                for n, part in enumerate(parts):
                    # the broker holds the whole part; cut once the scorer is a third in
                    assert publisher.publish_all(part, chunk=100) == len(part)
                    if n < CUTS:
                        at = sum(map(len, parts[:n])) + len(part) // 3
                        scorer.wait_for(lambda s, at=at: s.counts["received"] >= at, timeout=60)
                        old = service.client
                        cuts += cut(scorer)
                        scorer.wait_for(lambda s, old=old: s.client not in (None, old), timeout=30)
            # every distinct message, however many times some came (the test's own verdict
            # on what is missing is below)
            with contextlib.suppress(TimeoutError):
                scorer.wait_for(lambda s: len(taken) >= len(sent), timeout=60)
            scorer.wait_for(lambda s: s.counts["readings"] + s.counts["rejected"] >= len(taken))
        finally:
            scorer.stop()
        log = broker.log_path.read_text()

    assert cuts == CUTS
    assert log.count(f"as {service.client_id} ") == CUTS + 1  # it reconnected each time
    # nothing lost: every message published was handed to the scorer at least once ...
    missing = Counter(sent) - Counter({(t.encode(), p): n for (t, p), n in taken.items()})
    assert not missing, f"{sum(missing.values())} messages never reached the scorer"
    # ... and at most the few whose PUBACK was on the wire when it was cut came twice
    again = sum(taken.values()) - len(sent)
    assert 0 <= again <= CUTS * inbox.RECEIVE_MAXIMUM
    assert service.counts["received"] == sum(taken.values())
    assert service.counts["readings"] + service.counts["rejected"] == sum(taken.values())


def test_a_late_puback_ends_no_session_and_loses_nothing(tmp_path: Path) -> None:
    """Needs published while thousands of readings stream in: their PUBACKs come late
    (here: later than a publish timeout of half a second), and the scorer still keeps its
    one session and reaches a verdict on every message exactly once."""
    fleet = Fleet.build()
    payloads = generate(11, 4000, fleet)
    expected = Expected.of(payloads)
    paths = load_settings(data_dir=str(tmp_path / "data")).paths
    paths.people.parent.mkdir(parents=True)
    with DeviceRegistry(paths.people) as registry:
        registry.add(fleet.registrations())
    with Mosquitto(tmp_path / "mosquitto") as broker:
        settings = score_settings(broker, tmp_path / "score", registry=paths.people, sites="+")
        mqtt = settings.mqtt.model_copy(update={"publish_timeout": 0.5})
        settings = settings.model_copy(update={"mqtt": mqtt})
        scorer = Scorer(settings)
        service = scorer.service
        try:
            assert publish(broker, payloads, "late-publisher") == len(payloads)
            want = expected.total - expected.unseen
            scorer.wait_for(lambda s: s.counts["received"] >= want, timeout=120)
            target = (sum(expected.scorer_rejected.values()), sum(expected.scored.values()))
            scorer.wait_for(lambda s: (s.counts["rejected"], s.counts["readings"]) == target, 60)
            scorer.wait_for(lambda s: s.counts["needs_published"] == s.counts["needs_raised"])
            scored = Samples.parse(service.metrics.text())
        finally:
            scorer.stop()
        log = broker.log_path.read_text()

    assert service.counts["needs_raised"] > 0  # there were PUBACKs to wait for
    assert log.count(f"as {service.client_id} ") == 1  # one session throughout
    assert service.counts["received"] == want
    assert scored.by("careloop_score_rejected_total", "reason") == expected.scorer_rejected
    assert scored.by("careloop_score_readings_scored_total", "kind") == expected.scored
