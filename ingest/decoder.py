"""Message -> line protocol, fast: a checked shortcut in front of the wire contract.

:func:`careloop.wire.decode` (pydantic) is the validation truth. It costs about as much as
everything else ingest does per message, so :class:`Decoder` first tries a shortcut: parse
with the same JSON parser pydantic uses (``pydantic_core.from_json``), check the plain,
common case with the measure tables, and build the lines in the same pass. Whenever anything
is unusual (a null, an unknown key, ``"v": true``, a value out of range, a type that strict
mode might or might not take) the shortcut gives up and the message goes through
``careloop.wire.decode`` + :func:`~ingest.lineproto.message_lines` instead. So:

* a message the shortcut accepts is one the contract accepts, with identical lines;
* every rejection, and its reason, comes from the contract itself.

``tests/ingest/test_decoder.py`` checks both with hypothesis on valid and mangled messages.
Checks are planned once per *shape* (kind and the keys of a reading, in order): devices send
the same few shapes over and over, so the per-reading work is a short loop over the plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pydantic_core

from careloop.wire import DATA_KINDS, MAX_PAYLOAD_BYTES, MAX_READINGS, TABLES, Topic, decode
from careloop.wire.schemas import MAX_TS_MS, MIN_TS_MS
from careloop.wire.topics import ID_PATTERN
from ingest.lineproto import CONSTANT_FIELDS, FIELDS, TAG_FIELDS, head, message_lines, quote

# pydantic checks patterns with Rust's regex, where ``$`` is the very end of the text; in
# Python's ``re`` it also matches before a final newline, so use fullmatch without anchors.
_STRICT_ID = re.compile(ID_PATTERN.removeprefix("^").removesuffix("$"))
_ENVELOPE = frozenset({"v", "device", "resident", "seq", "ts", "readings"})
_ENVELOPE_REQUIRED = frozenset({"device", "resident", "seq", "ts", "readings"})
#: Fields a reading of each kind must carry (besides ``ts``).
_REQUIRED = {"vitals": (), "event": ("type",), "utterance": ("language",)}
#: Fields a reading may carry but that are checked and not stored (utterance text).
_CHECK_ONLY: dict[str, dict[str, tuple[int, int]]] = {"utterance": {"text": (1, 500)}}
#: The choices of each kind's tag field (event ``type``).
_TAG_CHOICES: dict[str, frozenset[str]] = {
    kind: frozenset(m.choices)
    for kind, table in TABLES.items()
    for m in table
    if m.name in TAG_FIELDS.get(kind, ())
}
_CACHE_LIMIT = 100_000
_PLAN_LIMIT = 4096

# Step codes of a plan, one per field.
_FLOAT, _INT, _BOOL, _ENUM, _STR, _CHECK_STR = range(6)


def strict_id(value: str) -> bool:
    """Whether ``value`` is an id exactly as the contract's (Rust-regex) pattern means it."""
    return _STRICT_ID.fullmatch(value) is not None


@dataclass(slots=True)
class Decoded:
    """A valid message as ingest needs it: who sent it and its points."""

    topic: Topic
    device: str
    resident: str
    lines: list[str]
    #: Device timestamp (epoch ms) of the first reading, for the lag metric.
    first_ts: int

    @property
    def kind(self) -> str:
        return self.topic.kind


@dataclass(frozen=True, slots=True)
class _Plan:
    steps: tuple[tuple[str, int, Any, Any], ...]
    tag: str | None
    check_bp: bool
    constant: str | None


class Decoder:
    """Validate messages and turn them into lines; keeps small caches, one per thread."""

    def __init__(self) -> None:
        self._topics: dict[str, Topic] = {}
        self._ids: set[str] = set()
        self._heads: dict[tuple[str, str, str, str], str] = {}
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan | None] = {}
        #: How many messages took the shortcut / the full contract (for tests and tuning).
        self.fast = 0
        self.slow = 0

    def topic(self, topic: str) -> Topic | None:
        """The parsed topic if it is valid (cached), else None."""
        parsed = self._topics.get(topic)
        if parsed is None:
            try:
                parsed = Topic.parse(topic)
            except ValueError:
                return None
            if len(self._topics) >= _CACHE_LIMIT:
                self._topics.clear()
            self._topics[topic] = parsed
        return parsed

    def decode(self, topic: str, payload: bytes) -> Decoded:
        """Validate and convert one message; raises :class:`~careloop.wire.WireError`."""
        parsed = self.topic(topic)
        if parsed is not None and parsed.kind in DATA_KINDS and len(payload) <= MAX_PAYLOAD_BYTES:
            result = self._fast(parsed, payload)
            if result is not None:
                self.fast += 1
                return result
        self.slow += 1
        checked, message = decode(topic, payload)
        readings = getattr(message, "readings", None)
        first = readings[0].__dict__["ts"] if readings else message.ts
        return Decoded(
            checked,
            message.device,  # type: ignore[union-attr]  # cmd topics never reach here
            message.resident,  # type: ignore[union-attr]
            message_lines(checked, message),
            first,
        )

    # -- the shortcut --------------------------------------------------------------------
    def _id(self, value: Any) -> bool:
        if type(value) is not str:
            return False
        if value in self._ids:
            return True
        if not strict_id(value):
            return False
        if len(self._ids) >= _CACHE_LIMIT:
            self._ids.clear()
        self._ids.add(value)
        return True

    def _fast(self, topic: Topic, payload: bytes) -> Decoded | None:
        """Lines for a plain, valid message, or None to let the contract decide."""
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
            or not self._id(device)
            or not self._id(resident)
            or type(seq) is not int
            or seq < 0
            or type(ts) is not int
            or not MIN_TS_MS <= ts < MAX_TS_MS
            or type(readings) is not list
            or not 1 <= len(readings) <= MAX_READINGS
        ):
            return None
        kind = topic.kind
        key = (kind, topic.site, resident, device)
        prefix = self._heads.get(key)
        if prefix is None:
            if len(self._heads) >= _CACHE_LIMIT:
                self._heads.clear()
            prefix = self._heads[key] = head(*key)
        lines = _lines(kind, prefix, readings, self._plans)
        if lines is None:
            return None
        return Decoded(topic, device, resident, lines, readings[0]["ts"])


def _plan(kind: str, keys: tuple[str, ...]) -> _Plan | None:
    """How to check and write readings with exactly these keys, or None (use the contract)."""
    fields = FIELDS[kind]
    check_only = _CHECK_ONLY.get(kind, {})
    tags = TAG_FIELDS.get(kind, ())
    allowed = {"ts", *fields, *check_only, *tags}
    if "ts" not in keys or not set(keys) <= allowed or len(set(keys)) != len(keys):
        return None
    if any(name not in keys for name in _REQUIRED[kind]):
        return None
    if kind == "vitals" and len(keys) < 2:
        return None  # "at least one measurement": leave the message to the contract
    steps: list[tuple[str, int, Any, Any]] = []
    for name, (lo, hi) in check_only.items():
        if name in keys:
            steps.append((name, _CHECK_STR, lo, hi))
    for spec in fields.values():  # table order, as message_lines writes them
        if spec.name not in keys:
            continue
        if spec.type == "float":
            steps.append((spec.name, _FLOAT, spec.lo, spec.hi))
        elif spec.type == "int":
            steps.append((spec.name, _INT, spec.lo, spec.hi))
        elif spec.type == "bool":
            steps.append((spec.name, _BOOL, None, None))
        elif spec.type == "enum":
            steps.append((spec.name, _ENUM, spec.choices, None))
        else:
            steps.append((spec.name, _STR, 1, spec.max_length))
    tag = tags[0] if tags else None
    if tag is not None:
        steps.insert(0, (tag, _ENUM, _TAG_CHOICES[kind], None))
    check_bp = "systolic_bp" in keys and "diastolic_bp" in keys
    return _Plan(tuple(steps), tag, check_bp, CONSTANT_FIELDS.get(kind))


def _lines(
    kind: str,
    prefix: str,
    readings: list[Any],
    plans: dict[tuple[str, tuple[str, ...]], _Plan | None],
) -> list[str] | None:
    """The lines of all readings, or None as soon as one reading needs the contract."""
    out: list[str] = []
    for r in readings:
        if type(r) is not dict:
            return None
        shape = (kind, tuple(r))
        try:
            plan = plans[shape]
        except KeyError:
            plan = _plan(kind, shape[1])
            if len(plans) < _PLAN_LIMIT:
                plans[shape] = plan
        if plan is None:
            return None
        ts = r["ts"]
        if type(ts) is not int or not MIN_TS_MS <= ts < MAX_TS_MS:
            return None
        parts: list[str] = []
        for name, step, a, b in plan.steps:
            value = r[name]
            kind_of = type(value)
            if step == _FLOAT:
                if (kind_of is not float and kind_of is not int) or not a <= value <= b:
                    return None
                parts.append(f"{name}={float(value)!r}")
            elif step == _INT:
                if kind_of is not int or not a <= value <= b:
                    return None
                parts.append(f"{name}={value}i")
            elif step == _BOOL:
                if value is True:
                    parts.append(f"{name}=true")
                elif value is False:
                    parts.append(f"{name}=false")
                else:
                    return None
            elif step == _ENUM:
                if kind_of is not str or value not in a:
                    return None
                if name != plan.tag:
                    parts.append(f'{name}="{value}"')
            elif step == _STR:
                if kind_of is not str or not a <= len(value) <= b:
                    return None
                parts.append(f"{name}={quote(value)}")
            elif kind_of is not str or not a <= len(value) <= b:  # _CHECK_STR
                return None
        if plan.check_bp and r["diastolic_bp"] >= r["systolic_bp"]:
            return None
        if plan.constant is not None:
            parts.append(plan.constant)
        tagged = prefix if plan.tag is None else f"{prefix},{plan.tag}={r[plan.tag]}"
        out.append(f"{tagged} {','.join(parts)} {ts}")
    return out
