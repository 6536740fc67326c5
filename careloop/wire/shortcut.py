"""The checked shortcut in front of the contract: a plain data message's envelope, fast.

:func:`careloop.wire.decode` (pydantic) is the validation truth, and per message it costs
more than everything else ingest or the scorer does with one. Both first try this shortcut:
parse with the same JSON parser pydantic uses (``pydantic_core.from_json``) and check the
plain, common case by hand. Whenever anything is unusual (a null, an unknown key,
``"v": true``, a number where an id belongs, a value out of range) it gives up (None) and
the message goes through the contract, so:

* a message the shortcut accepts is one the contract accepts;
* every rejection, and its reason, comes from the contract itself.

This module checks the envelope; the readings are each user's (ingest's compiled line
shapes, :mod:`ingest.shapes`; the scorer's vitals shapes, :mod:`models.runtime.fastvitals`).
``tests/ingest/test_decoder.py`` checks ingest's with hypothesis on valid and mangled
messages, ``tests/runtime/test_fastvitals.py`` the scorer's.
"""

from __future__ import annotations

import re
from typing import Any

import pydantic_core

from careloop.wire.schemas import MAX_READINGS, MAX_TS_MS, MIN_TS_MS
from careloop.wire.topics import ID_PATTERN, Topic

# pydantic checks patterns with Rust's regex, where ``$`` is the very end of the text; in
# Python's ``re`` it also matches before a final newline, so use fullmatch without anchors.
_STRICT_ID = re.compile(ID_PATTERN.removeprefix("^").removesuffix("$"))
_ENVELOPE = frozenset({"v", "device", "resident", "seq", "ts", "readings"})
_ENVELOPE_REQUIRED = frozenset({"device", "resident", "seq", "ts", "readings"})
_CACHE_LIMIT = 100_000


def strict_id(value: str) -> bool:
    """Whether ``value`` is an id exactly as the contract's (Rust-regex) pattern means it."""
    return _STRICT_ID.fullmatch(value) is not None


class Ids:
    """Ids already seen valid (bounded: emptied when full, for garbage); one per thread."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def __call__(self, value: Any) -> bool:
        """Whether ``value`` is a string and a valid id."""
        if type(value) is not str:
            return False
        if value in self._seen:
            return True
        if not strict_id(value):
            return False
        if len(self._seen) >= _CACHE_LIMIT:
            self._seen.clear()
        self._seen.add(value)
        return True


def plain_envelope(topic: Topic, payload: bytes, ids: Ids) -> dict[str, Any] | None:
    """The parsed message if its envelope is plainly valid for ``topic`` (a data kind; the
    caller checks the payload's size first), else None: let the contract decide.

    Checked: a JSON object with exactly the envelope's keys (``v`` optional), ``v`` the int
    1, ``device`` the topic's device, ids valid, ``seq`` an int >= 0, ``ts`` an int in the
    contract's window, ``readings`` a list of 1 to ``MAX_READINGS`` items (not the items).
    """
    try:
        obj = pydantic_core.from_json(payload)
    except ValueError:
        return None
    if type(obj) is not dict:
        return None
    keys = obj.keys()
    if not (keys <= _ENVELOPE and keys >= _ENVELOPE_REQUIRED):
        return None
    v = obj.get("v", 1)
    device, resident, seq, ts, readings = (
        obj["device"],
        obj["resident"],
        obj["seq"],
        obj["ts"],
        obj["readings"],
    )
    if (
        type(v) is not int
        or v != 1
        or device != topic.device
        or not ids(device)
        or not ids(resident)
        or type(seq) is not int
        or seq < 0
        or type(ts) is not int
        or not MIN_TS_MS <= ts < MAX_TS_MS
        or type(readings) is not list
        or not 1 <= len(readings) <= MAX_READINGS
    ):
        return None
    return obj
