"""The scorer's shortcut for its common message: plainly valid vitals, straight to readings.

Nearly everything a scorer receives is a vitals message of a few plain readings, and full
validation (:func:`careloop.wire.decode`, pydantic) plus turning its reading models back
into dicts cost the scorer more per message than the rest of its receive path. So
:class:`FastVitals` first tries the contract's shortcut (:mod:`careloop.wire.shortcut`:
``pydantic_core.from_json`` and the envelope) and then checks each reading with a function
compiled, once, for its *shape* (its keys, in order; devices send the same few over and
over). What a compiled check proves is deliberately narrow: exact JSON types (``type(v) is
int``, so ``true`` is not a number), finite values inside the table's closed range, enum
choices, the timestamp window, and the vitals cross-field rule (diastolic below systolic).
Anything else (another kind, a null, an unknown key) is None: the caller decodes the message
with the contract, which also names every rejection's reason. So a message this accepts is
one the contract accepts, with the same values (``tests/runtime/test_fastvitals.py``).

Safety of the generated source: it is built from the measure table only; names must be
identifiers, bounds finite numbers written with ``repr`` (which round-trips) and choices
plain strings written with ``repr``. Nothing from a payload reaches the source text.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from careloop.wire import MAX_PAYLOAD_BYTES, VITALS, Topic, WireError
from careloop.wire.schemas import MAX_TS_MS, MIN_TS_MS
from careloop.wire.shortcut import Ids, plain_envelope

#: ``check(reading)``: whether the reading is plainly valid (False: ask the contract).
Check = Callable[[dict[str, Any]], bool]

_FIELDS = {m.name: m for m in VITALS}
#: Compiled shapes and parsed topics kept (devices send a handful of shapes; bounds for garbage).
_SHAPE_LIMIT = 4096
_TOPIC_LIMIT = 100_000


def refuse(reading: dict[str, Any]) -> bool:
    """The check of a shape the shortcut never takes (an unknown key, no measurement...)."""
    return False


class FastVitals:
    """Plainly valid vitals messages, decoded without the contract (engine thread only)."""

    def __init__(self) -> None:
        self._ids = Ids()
        self._topics: dict[str, Topic] = {}
        self._checks: dict[tuple[str, ...], Check] = {}
        #: Messages taken by the shortcut, and left to the contract (tests and tuning).
        self.fast = 0
        self.slow = 0

    def decode(self, topic: str, payload: bytes) -> tuple[Topic, dict[str, Any]] | None:
        """``(topic, message)`` of a plainly valid vitals message (its readings checked,
        as parsed JSON), or None: anything else is the contract's to decide."""
        parsed = self._topic(topic)
        if parsed is None or parsed.kind != "vitals" or len(payload) > MAX_PAYLOAD_BYTES:
            self.slow += 1
            return None
        obj = plain_envelope(parsed, payload, self._ids)
        if obj is None or not self._readings(obj["readings"]):
            self.slow += 1
            return None
        self.fast += 1
        return parsed, obj

    def _topic(self, topic: str) -> Topic | None:
        parsed = self._topics.get(topic)
        if parsed is None:
            try:
                parsed = Topic.parse(topic)
            except WireError:
                return None
            if len(self._topics) >= _TOPIC_LIMIT:
                self._topics.clear()
            self._topics[topic] = parsed
        return parsed

    def _readings(self, readings: list[Any]) -> bool:
        checks = self._checks
        for r in readings:
            if type(r) is not dict:
                return False
            keys = tuple(r)
            check = checks.get(keys)
            if check is None:
                if len(checks) >= _SHAPE_LIMIT:
                    checks.clear()
                check = checks[keys] = compile_check(keys)
            if not check(r):
                return False
        return True


def compile_check(keys: tuple[str, ...]) -> Check:
    """The check of vitals readings with exactly ``keys`` (:func:`refuse` if the shape
    itself needs the contract: an unknown key, no measurement, a field it cannot check)."""
    source = _source(keys)
    if source is None:
        return refuse
    namespace: dict[str, Any] = {}
    exec(compile(source, "<score vitals shape>", "exec"), namespace)
    check: Check = namespace["check"]
    return check


def _number(value: object) -> str | None:
    """``value`` as exact Python source if it is a finite int or float bound, else None."""
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return repr(value)
    return None


def _source(keys: tuple[str, ...]) -> str | None:
    """The Python source of ``check(r)`` for this shape, or None (use the contract)."""
    if "ts" not in keys or len(keys) < 2 or len(set(keys)) != len(keys):
        return None  # a vitals reading needs a timestamp and at least one measurement
    if not all(name == "ts" or name in _FIELDS for name in keys):
        return None
    body = [
        'v = r["ts"]',
        f"if type(v) is not int or not {MIN_TS_MS} <= v < {MAX_TS_MS}:",
        "    return False",
    ]
    names: dict[str, str] = {}
    for name in keys:
        if name == "ts":
            continue
        if not name.isidentifier():
            return None
        spec = _FIELDS[name]
        var = names[name] = f"v{len(names)}"
        body.append(f"{var} = r[{name!r}]")
        if spec.type in ("float", "int"):
            lo, hi = _number(spec.lo), _number(spec.hi)
            if lo is None or hi is None:
                return None
            # strict float takes an int too; strict int takes no float; bool is neither
            kinds = "(float, int)" if spec.type == "float" else "(int,)"
            body += [
                f"if type({var}) not in {kinds} or not {lo} <= {var} <= {hi}:",
                "    return False",
            ]
        elif spec.type == "bool":
            body += [f"if {var} is not True and {var} is not False:", "    return False"]
        elif spec.type == "enum":
            if not spec.choices or not all(type(c) is str for c in spec.choices):
                return None
            choices = "{" + ", ".join(repr(c) for c in sorted(spec.choices)) + "}"
            body += [f"if type({var}) is not str or {var} not in {choices}:", "    return False"]
        else:
            return None  # no vitals field is free text; leave any such shape to the contract
    if "systolic_bp" in names and "diastolic_bp" in names:
        body += [f"if {names['diastolic_bp']} >= {names['systolic_bp']}:", "    return False"]
    body.append("return True")
    return "def check(r):\n" + "".join(f"    {line}\n" for line in body)
