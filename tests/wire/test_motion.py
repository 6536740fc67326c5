"""The ``motion`` kind: raw accelerometer windows, every rule of docs/wire.md enforced."""

from __future__ import annotations

import json
from typing import Any

import pytest

from careloop.wire import (
    DATA_KINDS,
    UPLINK_KINDS,
    MotionMessage,
    Topic,
    WireError,
    data_message,
    decode,
    encode,
)
from careloop.wire.measures import MOTION_MAX_SAMPLES

START = 1_764_104_400_000
TOPIC = "careloop/v1/home/tag-r001/motion"


def window(n: int = 4, step: int = 500, **changes: Any) -> dict[str, Any]:
    t = [i * step for i in range(n)]
    w: dict[str, Any] = {
        "ts": START + t[-1],
        "start": START,
        "t_ms": t,
        "acc_mg": [[10, 990, -20]] * n,
        "peak_mg": [1000] * n,
        "rate_hz": 2.0,
    }
    w.update(changes)
    return {k: v for k, v in w.items() if v is not None}


def payload(*windows: dict[str, Any]) -> bytes:
    body = {"v": 1, "device": "tag-r001", "resident": "r001", "seq": 7, "ts": START + 60_000}
    return json.dumps({**body, "readings": list(windows) or [window()]}).encode()


def rejected(w: dict[str, Any]) -> WireError:
    with pytest.raises(WireError) as info:
        decode(TOPIC, payload(w))
    return info.value


def test_a_valid_window_decodes_and_round_trips() -> None:
    topic, msg = decode(TOPIC, payload(window(), window(rate_hz=None, peak_mg=None)))
    assert topic == Topic("home", "tag-r001", "motion")
    assert isinstance(msg, MotionMessage)
    assert msg.readings[0].acc_mg[2] == [10, 990, -20]
    assert msg.readings[1].peak_mg is None
    assert decode(TOPIC, encode(msg))[1] == msg


def test_motion_is_an_uplink_data_kind_and_producers_can_build_it() -> None:
    assert "motion" in UPLINK_KINDS and "motion" in DATA_KINDS
    msg = data_message("motion", device="t1", resident="r1", seq=0, ts=START, readings=[window()])
    assert isinstance(msg, MotionMessage)


def test_the_largest_window_is_accepted_and_one_more_sample_is_not() -> None:
    n = MOTION_MAX_SAMPLES
    full = window(n, step=200, peak_mg=None, rate_hz=None)
    assert len(payload(full)) < 64 * 1024
    decode(TOPIC, payload(full))
    err = rejected(window(n + 1, step=200, peak_mg=None))
    assert err.reason == "too_long:t_ms"


@pytest.mark.parametrize(
    ("changes", "reason", "says"),
    [
        ({"t_ms": [5, 500, 1000, 1500], "ts": START + 1500}, "value_error:t_ms", "start at 0"),
        ({"t_ms": [0, 1000, 500, 1500], "ts": START + 1500}, "value_error:t_ms", "not decrease"),
        ({"ts": START + 1501}, "value_error:t_ms", "ts - start (1501 ms)"),
        ({"t_ms": [0, 1, 2, 300_001], "ts": START + 300_001}, "less_than_equal:t_ms", "300000"),
        ({"t_ms": [], "acc_mg": []}, "too_short:t_ms", "at least 1"),
        ({"acc_mg": [[1, 2, 3]] * 3}, "value_error:acc_mg", "one value per t_ms sample (4)"),
        ({"acc_mg": [[1, 2, 3]] * 3 + [[1, 2, 16_001]]}, "less_than_equal:acc_mg", "16000"),
        ({"acc_mg": [[1, 2, 3]] * 3 + [[-16_001, 2, 3]]}, "greater_than_equal:acc_mg", ""),
        ({"acc_mg": [[1, 2]] * 4}, "too_short:acc_mg", "at least 3"),
        ({"acc_mg": [[1, 2, 3, 4]] * 4}, "too_long:acc_mg", "at most 3"),
        ({"acc_mg": [[1.0, 2, 3]] * 4}, "int_type:acc_mg", "integer"),
        ({"peak_mg": [1, 2, 3]}, "value_error:peak_mg", "one value per t_ms sample"),
        ({"peak_mg": [1, 2, 3, -1]}, "greater_than_equal:peak_mg", ""),
        ({"peak_mg": [1, 2, 3, 16_001]}, "less_than_equal:peak_mg", ""),
        ({"rate_hz": 0.05}, "greater_than_equal:rate_hz", "0.1"),
        ({"rate_hz": 51.0}, "less_than_equal:rate_hz", "50"),
        ({"start": None}, "missing:start", "required"),
        ({"acc_mg": None}, "missing:acc_mg", "required"),
        ({"heart_rate": 70}, "extra_forbidden:heart_rate", "not a field"),
    ],
)
def test_every_rule_has_its_own_error(changes: dict[str, Any], reason: str, says: str) -> None:
    err = rejected(window(**changes))
    assert err.reason == reason
    assert says in err.description
    assert err.field.startswith("readings.0.")


def test_a_window_on_another_kinds_topic_is_refused() -> None:
    with pytest.raises(WireError):
        decode("careloop/v1/home/tag-r001/vitals", payload(window()))
