"""The scorer's vitals shortcut accepts only what the wire contract accepts, with the same
values as the engine sees them (hypothesis, on valid and mangled messages of every kind),
and takes the plain messages devices actually send."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, given, settings

from careloop.wire import Topic, WireError, decode
from models.runtime.columns import encode_readings
from models.runtime.fastvitals import FastVitals, compile_check, refuse
from tests.ingest.test_decoder import messages

TS = 1_764_000_000_000
#: One shortcut for every example of a run: its caches warm with earlier examples' shapes.
SHARED = FastVitals()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=messages())
def test_what_the_shortcut_takes_the_contract_takes_with_the_same_values(
    message: tuple[str, bytes],
) -> None:
    topic, payload = message
    for fast in (FastVitals(), SHARED):
        got = fast.decode(topic, payload)
        if got is None:
            continue
        parsed, obj = got
        try:
            checked, reference = decode(topic, payload)
        except WireError as exc:  # pragma: no cover - the failure this test looks for
            raise AssertionError(f"the shortcut took what the contract refuses: {exc}") from exc
        assert parsed == checked and checked.kind == "vitals"
        assert (obj["device"], obj["resident"], obj["ts"]) == (
            reference.device,  # type: ignore[union-attr]
            reference.resident,  # type: ignore[union-attr]
            reference.ts,
        )
        ours = obj["readings"]
        theirs = [dict(r) for r in reference.readings]  # type: ignore[union-attr]
        a = encode_readings([0] * len(ours), ours)
        b = encode_readings([0] * len(theirs), theirs)
        assert np.array_equal(a.ts, b.ts)
        assert np.array_equal(a.x, b.x, equal_nan=True)


def payload(**reading: object) -> bytes:
    body = {"v": 1, "device": "term-1", "resident": "r1", "seq": 1, "ts": TS}
    return json.dumps(body | {"readings": [{"ts": TS, **reading}]}).encode()


VITALS = str(Topic("home", "term-1", "vitals"))


def test_plain_vitals_take_the_shortcut_and_anything_unusual_goes_to_the_contract() -> None:
    fast = FastVitals()
    plain = payload(heart_rate=72, spo2=97.0, posture="sitting", steps=3, bed_occupied=False)
    got = fast.decode(VITALS, plain)
    assert got is not None and got[1]["readings"][0]["heart_rate"] == 72
    for unusual in (
        payload(heart_rate=None),  # valid, but a null: the contract's
        payload(heart_rate=True),  # a bool is not a number
        payload(heart_rate=251.0),  # out of range
        payload(steps=1.0),  # a float is not an int
        payload(posture="floating"),
        payload(systolic_bp=120.0, diastolic_bp=120.0),  # diastolic must be below systolic
        payload(selfie=1),  # not a field
        payload(),  # no measurement
        b"{not json",
    ):
        assert fast.decode(VITALS, unusual) is None
    # other kinds, bad topics: always the contract's
    assert fast.decode(str(Topic("home", "term-1", "event")), plain) is None
    assert fast.decode("careloop/v1/home/term-1", plain) is None
    assert (fast.fast, fast.slow) == (1, 11)


def test_a_shape_the_shortcut_cannot_check_is_refused_outright() -> None:
    assert compile_check(("ts",)) is refuse  # no measurement
    assert compile_check(("ts", "heart_rate", "selfie")) is refuse
    assert compile_check(("heart_rate",)) is refuse  # no timestamp
    check = compile_check(("ts", "heart_rate"))
    assert check({"ts": TS, "heart_rate": 60.5}) is True
    assert check({"ts": TS + 0.5, "heart_rate": 60.5}) is False  # a float timestamp
