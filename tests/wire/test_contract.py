"""The wire contract: valid messages round-trip, invalid ones fail with field and rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careloop.wire import (
    MAX_PAYLOAD_BYTES,
    MAX_READINGS,
    VITALS,
    Topic,
    WireError,
    data_message,
    decode,
    encode,
    status_message,
    subscription,
)
from tests.wire.strategies import READINGS, ids

TS = 1_764_000_000_000


def payload(readings: list[dict[str, Any]] | None = None, **envelope: Any) -> bytes:
    body = {
        "v": 1,
        "device": "term-r001",
        "resident": "r001",
        "seq": 1,
        "ts": TS,
        "readings": readings if readings is not None else [{"ts": TS, "heart_rate": 72}],
    }
    body.update(envelope)
    return json.dumps(body).encode()


VITALS_TOPIC = "careloop/v1/home/term-r001/vitals"


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(sorted(READINGS)),
    data=st.data(),
    seq=st.integers(0, 2**53),
    device=ids,
    resident=ids,
    site=ids,
)
def test_every_valid_message_round_trips(kind, data, seq, device, resident, site):
    readings = data.draw(st.lists(READINGS[kind], min_size=1, max_size=5))
    msg = data_message(kind, device=device, resident=resident, seq=seq, ts=TS, readings=readings)
    topic, back = decode(Topic(site, device, kind), encode(msg))
    assert back == msg
    assert topic.kind == kind
    assert [r.model_dump(exclude_none=True) for r in back.readings] == readings


@given(
    site=ids, device=ids, kind=st.sampled_from(["vitals", "event", "utterance", "status", "cmd"])
)
def test_topics_round_trip(site, device, kind):
    topic = Topic(site, device, kind)
    assert Topic.parse(str(topic)) == topic
    assert str(topic) == f"careloop/v1/{site}/{device}/{kind}"


def test_status_round_trips():
    msg = status_message(
        device="term-r001", resident="r001", seq=3, ts=TS, state="offline", reason="lost"
    )
    _, back = decode("careloop/v1/home/term-r001/status", encode(msg))
    assert back == msg


@pytest.mark.parametrize("measure", [m for m in VITALS if m.lo is not None], ids=lambda m: m.name)
def test_each_range_is_enforced(measure):
    for bad in (measure.lo - 1, measure.hi + 1):
        value = int(bad) if measure.type == "int" else float(bad)
        with pytest.raises(WireError) as err:
            decode(VITALS_TOPIC, payload([{"ts": TS, measure.name: value}]))
        assert err.value.field == f"readings.0.{measure.name}"
        assert "than or equal" in err.value.rule
    ok = int(measure.lo) if measure.type == "int" else float(measure.lo)
    decode(VITALS_TOPIC, payload([{"ts": TS, measure.name: ok}]))


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (b"{not json", "payload", "json_invalid"),
        (b"[]", "payload", "model_type"),
        (payload([{"ts": TS, "heart_rate": "72"}]), "readings.0.heart_rate", "float_type"),
        (
            payload([{"ts": TS, "supplemental_oxygen": 1}]),
            "readings.0.supplemental_oxygen",
            "bool_type",
        ),
        (payload([{"ts": TS, "consciousness": "X"}]), "readings.0.consciousness", "literal_error"),
        (payload([{"ts": TS, "steps": 1.5}]), "readings.0.steps", "int_type"),
        (payload([{"ts": TS, "pulse": 70}]), "readings.0.pulse", "extra_forbidden"),
        (payload([{"heart_rate": 70}]), "readings.0.ts", "missing"),
        (payload([{"ts": TS}]), "readings.0", "value_error"),
        (payload([{"ts": TS, "systolic_bp": 80, "diastolic_bp": 95}]), "readings.0", "value_error"),
        (payload([]), "readings", "too_short"),
        (payload([{"ts": TS, "heart_rate": 70}] * (MAX_READINGS + 1)), "readings", "too_long"),
        (payload(ts=12), "ts", "greater_than_equal"),
        (payload(seq=-1), "seq", "greater_than_equal"),
        (payload(v=2), "v", "literal_error"),
        (payload(device="term-r002"), "device", "spoofed"),
        (payload(resident="bad/id"), "resident", "string_pattern_mismatch"),
        (
            b'{"v":1,"device":"term-r001","resident":"r001","seq":1,"ts":1764000000000,'
            b'"readings":[{"ts":1764000000000,"heart_rate":NaN}]}',
            "readings.0.heart_rate",
            None,
        ),
    ],
)
def test_bad_payloads_name_field_and_rule(body, field, code):
    with pytest.raises(WireError) as err:
        decode(VITALS_TOPIC, body)
    assert err.value.field == field
    if code is not None:
        assert err.value.code == code
    assert err.value.rule
    assert str(err.value).startswith(f"{field}: ")


def test_oversized_payload_is_rejected_before_parsing():
    with pytest.raises(WireError) as err:
        decode(VITALS_TOPIC, b" " * (MAX_PAYLOAD_BYTES + 1))
    assert (err.value.field, err.value.code) == ("payload", "too_large")


@pytest.mark.parametrize(
    "topic",
    [
        "careloop/v1/home/term-r001",
        "careloop/v2/h/d/vitals",
        "careloop/v1/home/term-r001/selfie",
        "careloop/v1/h/+/vitals",
        "careloop/v1/h/d/vitals/extra",
        "",
    ],
)
def test_bad_topics_are_rejected(topic):
    with pytest.raises(WireError) as err:
        decode(topic, payload())
    assert err.value.field.startswith("topic")


def test_reason_labels_stay_bounded():
    """Random keys from a device must not create new metric labels."""
    reasons = set()
    for key in ("a", "b", "zz", "heart_rate_x"):
        with pytest.raises(WireError) as err:
            decode(VITALS_TOPIC, payload([{"ts": TS, key: 1}]))
        reasons.add(err.value.reason)
    assert reasons == {"extra_forbidden:other"}


def test_subscription_filters():
    assert subscription() == "careloop/v1/+/+/+"
    assert subscription(site="home", kind="vitals") == "careloop/v1/home/+/vitals"
    assert subscription(share="ingest") == "$share/ingest/careloop/v1/+/+/+"
    with pytest.raises(WireError):
        subscription(site="a/b")
    with pytest.raises(WireError):
        subscription(kind="selfie")


def test_stored_readings_are_wrapped_into_a_valid_message():
    """encode_stored (the edge agent's way out) gives the same message as the contract's
    own encoder for the same readings, without revalidating each reading."""
    import json

    from careloop.wire import data_message, decode, encode, encode_stored

    readings = [
        {"ts": 1_767_600_000_000, "heart_rate": 72.0, "spo2": 97.0},
        {"ts": 1_767_600_005_000, "heart_rate": 75.5, "posture": "sitting"},
    ]
    stored = [json.dumps(r, separators=(",", ":")) for r in readings]
    raw = encode_stored(device="t-1", resident="r-1", seq=9, ts=1_767_600_006_000, readings=stored)
    _, message = decode("careloop/v1/s1/t-1/vitals", raw)
    built = data_message(
        "vitals", device="t-1", resident="r-1", seq=9, ts=1_767_600_006_000, readings=readings
    )
    assert message == built
    assert json.loads(raw) == json.loads(encode(built))
