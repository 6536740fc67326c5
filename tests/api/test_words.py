"""A resident's words do not leak to staff screens without consent: the device status page
keeps no utterance text and shows devices only under the resident the registry names, and
dead letters keep no quoted values (admins' payload previews withhold words)."""

from __future__ import annotations

import json
import time

from careloop.wire import Topic, data_message, encode
from ingest import DeadLetter, DeadLetterStore
from people import Device, DeviceRegistry
from tests.api.conftest import T0, World
from tests.helpers.mqtt import MqttTestClient

WORDS = "I feel so lonely since my wife died"


def _publish(api: World, device: str, resident: str, kind: str, reading: dict) -> None:
    msg = data_message(kind, device=device, resident=resident, seq=1, ts=reading["ts"],
                       readings=[reading])  # fmt: skip
    client = MqttTestClient(api.broker.host, api.broker.port).connect()
    try:
        client.publish(str(Topic(api.site_a, device, kind)), encode(msg))  # type: ignore[arg-type]
    finally:
        client.close()


def test_the_status_page_keeps_no_words_and_trusts_the_registry(api: World) -> None:
    with DeviceRegistry(api.settings.paths.people) as registry:
        registry.add([Device("voice-w1", api.site_a, "r1", "voice")])
    utterance = {"ts": T0, "language": "en", "text": WORDS, "speech_rate": 4.0, "energy_db": -20.0}
    _publish(api, "voice-w1", "r1", "utterance", utterance)
    # the same registered device claims another resident: not shown, and not as r2
    _publish(api, "voice-w1", "r2", "utterance", {**utterance, "ts": T0 + 1000})
    _publish(api, "voice-ghost", "r3", "utterance", {**utterance, "ts": T0 + 2000})
    deadline = time.monotonic() + 10
    with api.client("coord_a") as c:
        while True:
            snap = c.get("/status").json()
            seen = {d["device"]: d for d in snap["devices"]}
            if "voice-w1" in seen and snap["rejected"] >= 2:
                break
            assert time.monotonic() < deadline, snap
            time.sleep(0.1)
        page = c.get("/devices").text
    device = seen["voice-w1"]
    assert device["resident"] == "r1" and "utterance.speech_rate" in device["latest"]
    assert "utterance.text" not in device["latest"]
    assert "voice-ghost" not in seen
    assert WORDS not in json.dumps(snap) and WORDS not in page


def test_dead_letters_keep_no_quoted_values_and_admins_see_no_words(api: World) -> None:
    from careloop.wire import WireError, decode

    bad = json.dumps(
        {"v": 1, "device": "voice-w2", "resident": "r1", "seq": 1, "ts": T0,
         "readings": [{"ts": T0, "language": "en", "text": WORDS, "speech_rate": 9999.0}]}
    ).encode()  # fmt: skip
    topic = str(Topic(api.site_a, "voice-w2", "utterance"))
    try:
        decode(topic, bad)
    except WireError as exc:
        error = exc
    assert "9999" in str(error) and "9999" not in error.description  # what ingest now keeps
    with DeadLetterStore(api.settings.paths.deadletters) as store:
        store.add([DeadLetter.make(topic, error.reason, error.description, bad)])
    with api.client("admin") as c:
        items = c.get("/api/v1/deadletters", params={"per_page": 100}).json()["items"]
    with api.client("coord_a") as c:
        staff = c.get("/api/v1/deadletters", params={"per_page": 100}).json()["items"]
    mine = [i for i in items if i["topic"] == topic]
    assert mine and "(words withheld)" in (mine[0]["payload_preview"] or "")
    assert WORDS not in json.dumps(items) and WORDS not in json.dumps(staff)
    assert all("9999" not in i["detail"] for i in staff if i["topic"] == topic)


def test_the_status_page_forgets_an_erased_resident(api: World) -> None:
    """Erasure reaches the status page's memory: the device and its latest values go."""
    with DeviceRegistry(api.settings.paths.people) as registry:
        registry.add([Device("voice-w3", api.site_a, "r1", "voice")])
    _publish(api, "voice-w3", "r1", "utterance",
             {"ts": T0, "language": "en", "speech_rate": 4.0, "energy_db": -20.0})  # fmt: skip

    def devices(c: object) -> set[str]:
        return {d["device"] for d in c.get("/status").json()["devices"]}  # type: ignore[attr-defined]

    deadline = time.monotonic() + 10
    with api.client("coord_a") as c:
        while "voice-w3" not in devices(c):
            assert time.monotonic() < deadline, "the device never showed on the status page"
            time.sleep(0.1)
        erased = c.post(f"/api/v1/residents/{api.site_a}/r1/erasure")
        assert erased.status_code == 201, erased.text
        while "voice-w3" in devices(c):
            assert time.monotonic() < deadline, "the erased resident's device is still shown"
            time.sleep(0.1)


def test_the_status_page_shows_a_motion_window_without_its_samples(api: World) -> None:
    with DeviceRegistry(api.settings.paths.people) as registry:
        registry.add([Device("tag-w1", api.site_a, "r1")])
    t = [0, 500, 1000]
    window = {"ts": T0 + 1000, "start": T0, "t_ms": t, "acc_mg": [[0, 1000, 0]] * 3,
              "peak_mg": [1000] * 3, "rate_hz": 2.0}  # fmt: skip
    _publish(api, "tag-w1", "r1", "motion", window)
    deadline = time.monotonic() + 10
    with api.client("coord_a") as c:
        while "tag-w1" not in {d["device"] for d in c.get("/status").json()["devices"]}:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        [tag] = [d for d in c.get("/status").json()["devices"] if d["device"] == "tag-w1"]
    assert tag["latest"] == {"motion.ts": T0 + 1000, "motion.start": T0, "motion.rate_hz": 2.0}
