"""A need's summary as catalog text on the wire: ``summary_key`` is a ``summary.`` key and
``summary_args`` a few short values; anything else is refused with a clear error, and a need
without them (an older scorer) is as valid as before."""

from __future__ import annotations

import json
from typing import Any

import pytest

from careloop.wire import WireError
from careloop.wire.needs import MAX_ARG_CHARS, MAX_ARGS, decode_need, encode_need

TOPIC = "careloop/needs/v1/home/r1"
BASE: dict[str, Any] = {
    "v": 1, "id": "r1:fall:1", "site": "home", "resident": "r1", "kind": "fall",
    "tier": "emergency", "ts": 1_767_600_060_000, "onset": 1_767_600_000_000, "score": 0.9,
    "summary": "Fall detected and no movement for 60 s since.",
}  # fmt: skip


def _decode(**extra: Any):
    return decode_need(TOPIC, json.dumps({**BASE, **extra}))


def test_an_old_need_without_a_key_still_validates_and_round_trips():
    need = _decode()
    assert need.summary_key is None and need.summary_args is None
    assert b"summary_key" not in encode_need(need)


def test_a_keyed_need_round_trips():
    args = {"what_msg": "summary.fall_what.event", "conf": 0.9, "secs": 60}
    need = _decode(summary_key="summary.fall", summary_args=args)
    again = decode_need(TOPIC, encode_need(need))
    assert (again.summary_key, again.summary_args) == ("summary.fall", args)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"summary_key": "need.fall"}, "summary_key"),  # not the summary domain
        ({"summary_key": "summary.Fall Detected!"}, "summary_key"),  # free text
        ({"summary_key": "summary"}, "summary_key"),
        ({"summary_args": {"Bad Name": 1}}, "summary_args"),
        ({"summary_args": {"said": "x" * (MAX_ARG_CHARS + 1)}}, "summary_args"),
        ({"summary_args": {f"a{i}": i for i in range(MAX_ARGS + 1)}}, "summary_args"),
        ({"summary_args": {"words": ["a", "list"]}}, "summary_args"),
        ({"summary_args": {"nested": {"a": 1}}}, "summary_args"),
        ({"summary_args": {"flag": True}}, "summary_args"),
    ],
)
def test_a_bad_key_or_oversized_arguments_are_refused_naming_the_field(extra, field):
    with pytest.raises(WireError) as err:
        _decode(**extra)
    assert err.value.field.startswith(field), err.value
    assert err.value.rule
    assert str(err.value).startswith(f"{err.value.field}: ")
