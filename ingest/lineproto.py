"""InfluxDB line protocol from validated messages, driven by the wire contract's tables.

One point per reading::

    vitals,device=term-r001,resident=r001,site=home heart_rate=72.0,steps=12i 1764000000000

* measurement: ``vitals``, ``event``, ``utterance``, ``motion`` or ``device_status``;
* tags: ``device``, ``resident``, ``site`` (sorted, as InfluxDB prefers), and for events also
  ``type``, so two events of different types in the same millisecond stay two points;
* fields: every measurement present in the reading, typed from :mod:`careloop.wire.measures`
  (floats as floats, ints with the ``i`` suffix, bools ``true``/``false``, enums and strings
  quoted and escaped). Events always carry ``n=1i`` (one occurrence), so an event with only a
  type is still a valid point and ``sum(n)`` counts events;
* time: the reading's own ``ts`` (device clock, epoch ms; written with ``precision=ms``).

A ``motion`` window (raw accelerometer samples) is stored as **one summary point**, not its
samples: ``start`` (epoch ms of the first sample), ``samples``, ``span_ms`` and
``peak_mg`` (the largest magnitude in the window, from ``peak_mg`` when sent, else from the
samples), at the window's ``ts`` (its last sample). That is ~150 bytes a window instead of
~25 a sample; the scorer reads the raw samples off MQTT, and the summaries show when a tag
was heard and how hard it was shaken (docs/wire.md).

The same series and time is the same point, so writing a redelivered message again
overwrites instead of duplicating: that is what makes at-least-once delivery safe.

Utterance ``text`` is written only for residents whose consent allows it (the ``keep_text``
lines, chosen by :mod:`ingest.intake` from :mod:`people.consent`); for everyone else only the
speech features are kept. The fast decoder never writes text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from careloop.wire import (
    TABLES,
    Measure,
    Message,
    MotionMessage,
    MotionReading,
    StatusMessage,
    Topic,
)

#: Measurement name per message kind.
MEASUREMENTS: dict[str, str] = {
    "vitals": "vitals",
    "event": "event",
    "utterance": "utterance",
    "motion": "motion",
    "status": "device_status",
}

#: Reading fields that become tags instead of fields.
TAG_FIELDS: dict[str, tuple[str, ...]] = {"event": ("type",)}

#: Reading fields ingest validates but stores only with consent (see the module docstring).
NOT_STORED: dict[str, frozenset[str]] = {"utterance": frozenset({"text"})}

#: Fields added to every point of a kind (events: one occurrence each).
CONSTANT_FIELDS: dict[str, str] = {"event": "n=1i"}

#: The status message as a declarative table, like the reading tables.
STATUS: tuple[Measure, ...] = (
    Measure("state", "enum", "", "online or offline", choices=("online", "offline")),
    Measure("seq", "int", "", "connection session counter"),
    Measure("reason", "enum", "", "why", choices=("connected", "shutdown", "lost")),
    Measure("battery", "float", "%", "battery level", 0, 100),
    Measure("firmware", "str", "", "firmware version", max_length=64),
)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one stored field is checked (by the fast decoder) and written."""

    name: str
    type: str
    lo: float | None
    hi: float | None
    choices: frozenset[str]
    max_length: int | None


def _specs(table: Iterable[Measure], skip: Iterable[str] = ()) -> dict[str, FieldSpec]:
    skipped = set(skip)
    return {
        m.name: FieldSpec(m.name, m.type, m.lo, m.hi, frozenset(m.choices), m.max_length)
        for m in table
        if m.name not in skipped
    }


#: Stored fields per kind, in table order (the order they appear in a line).
FIELDS: dict[str, dict[str, FieldSpec]] = {
    kind: _specs(table, (*TAG_FIELDS.get(kind, ()), *NOT_STORED.get(kind, ())))
    for kind, table in TABLES.items()
}
FIELDS["status"] = _specs(STATUS)
#: Stored fields per kind where the resident consented to text (``NOT_STORED`` kept too).
FIELDS_WITH_TEXT: dict[str, dict[str, FieldSpec]] = {
    kind: _specs(table, TAG_FIELDS.get(kind, ())) for kind, table in TABLES.items()
}
FIELDS_WITH_TEXT["status"] = FIELDS["status"]


def escape_tag(value: str) -> str:
    """Escape a tag value (or key): commas, equals signs and spaces get a backslash.

    Tag values are ids and enum choices the contract already restricted to
    ``[A-Za-z0-9_.-]``, so this only matters if that rule is ever relaxed.
    """
    if "," in value or "=" in value or " " in value:
        return value.replace(",", r"\,").replace("=", r"\=").replace(" ", r"\ ")
    return value


def quote(value: str) -> str:
    r"""A string field value: quoted, with ``\`` and ``"`` escaped.

    Newlines (and carriage returns) are written as the two characters ``\n`` (``\r``): one
    line of line protocol is one point, so a spooled batch can be split line by line.
    """
    if "\\" in value or '"' in value or "\n" in value or "\r" in value:
        value = (
            value.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\\\n")
            .replace("\r", "\\\\r")
        )
    return f'"{value}"'


def format_value(spec: FieldSpec, value: Any) -> str:
    """One field value in line protocol, typed by its table entry."""
    if spec.type == "float":
        return repr(float(value))
    if spec.type == "int":
        return f"{value}i"
    if spec.type == "bool":
        return "true" if value else "false"
    if spec.type == "enum":
        return f'"{value}"'
    return quote(value)


def head(kind: str, site: str, resident: str, device: str) -> str:
    """Measurement and the per-device tags: the start of every line of one device."""
    return (
        f"{MEASUREMENTS[kind]},device={escape_tag(device)},resident={escape_tag(resident)},"
        f"site={escape_tag(site)}"
    )


def line(
    kind: str,
    prefix: str,
    values: Mapping[str, Any],
    ts: int,
    fields: Mapping[str, Mapping[str, FieldSpec]] = FIELDS,
) -> str | None:
    """One point from a reading's values (None values skipped); None if nothing to store."""
    if kind in TAG_FIELDS:
        for tag in TAG_FIELDS[kind]:
            prefix = f"{prefix},{tag}={escape_tag(str(values[tag]))}"
    parts = [
        f"{spec.name}={format_value(spec, values[spec.name])}"
        for spec in fields[kind].values()
        if values.get(spec.name) is not None
    ]
    if kind in CONSTANT_FIELDS:
        parts.append(CONSTANT_FIELDS[kind])
    if not parts:
        return None
    return f"{prefix} {','.join(parts)} {ts}"


def message_lines(topic: Topic, message: Message, *, keep_text: bool = False) -> list[str]:
    """Every point of a validated message (the reference the fast decoder must match).

    ``keep_text`` also writes the fields of :data:`NOT_STORED` (utterance text): only for a
    resident who consented to it.
    """
    fields = FIELDS_WITH_TEXT if keep_text else FIELDS
    kind = topic.kind
    if kind not in MEASUREMENTS:
        return []
    prefix = head(kind, topic.site, message.resident, message.device)  # type: ignore[union-attr]  # cmd was excluded above
    if isinstance(message, StatusMessage):
        point = line(kind, prefix, message.__dict__, message.ts, fields)
        return [point] if point is not None else []
    if isinstance(message, MotionMessage):
        return [motion_line(prefix, w) for w in message.readings]
    out = []
    for reading in message.readings:  # type: ignore[union-attr]  # data kinds carry readings
        values = reading.__dict__
        point = line(kind, prefix, values, values["ts"], fields)
        if point is not None:
            out.append(point)
    return out


def motion_line(prefix: str, window: MotionReading) -> str:
    """A motion window's summary point (see the module docstring): never its samples."""
    if window.peak_mg is not None:
        peak = max(window.peak_mg)
    else:
        peak = round(max(math.sqrt(x * x + y * y + z * z) for x, y, z in window.acc_mg))
    return (
        f"{prefix} start={window.start}i,samples={len(window.t_ms)}i,"
        f"span_ms={window.t_ms[-1]}i,peak_mg={peak}i {window.ts}"
    )
