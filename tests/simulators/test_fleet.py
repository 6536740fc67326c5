"""Fleet: cheap payloads that the real decoder accepts, on topics built by Topic."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careloop.wire import Topic, VitalsMessage, decode
from simulators import Fleet


@settings(max_examples=20, deadline=None)
@given(step=st.integers(0, 10**7), seed=st.integers(0, 2**32))
def test_every_payload_decodes(step: int, seed: int) -> None:
    fleet = Fleet(60, seed=seed, site="load-1")
    payloads = fleet.payloads(step)
    assert len(payloads) == 60
    for i, (topic, payload) in enumerate(payloads):
        parsed, message = decode(topic, payload)
        assert parsed == Topic("load-1", fleet.devices[i], "vitals")
        assert isinstance(message, VitalsMessage)
        assert message.seq == step and message.ts == fleet.time_ms(step)
        assert message.device == fleet.devices[i] and message.resident == fleet.residents[i]


def test_seq_increases_per_device_and_values_vary() -> None:
    fleet = Fleet(200, seed=1)
    first, second = fleet.payloads(41), fleet.payloads(42)
    for (_, a), (_, b) in zip(first, second, strict=True):
        assert json.loads(b)["seq"] == json.loads(a)["seq"] + 1
    heart = {json.loads(p)["readings"][0]["heart_rate"] for _, p in first}
    assert len(heart) > 100
    assert any(json.loads(p)["readings"][0]["posture"] == "walking" for _, p in first)


def test_fleet_is_deterministic_per_seed() -> None:
    assert Fleet(50, seed=3).payloads(7) == Fleet(50, seed=3).payloads(7)
    assert Fleet(50, seed=3).payloads(7) != Fleet(50, seed=4).payloads(7)
    assert len({t for t, _ in Fleet(50, seed=3).payloads(0)}) == 50


def test_bad_fleet_arguments() -> None:
    with pytest.raises(ValueError):
        Fleet(0, seed=1)
    with pytest.raises(ValueError):
        Fleet(3, seed=1, site="bad/site")
