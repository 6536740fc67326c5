"""Hypothesis strategies that build valid readings straight from the measure tables."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from careloop.wire import EVENT, UTTERANCE, VITALS, Measure
from careloop.wire.schemas import MAX_TS_MS, MIN_TS_MS

ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.\-]{0,20}\Z")
timestamps = st.integers(MIN_TS_MS, MAX_TS_MS - 1)


def value(m: Measure) -> st.SearchStrategy[Any]:
    if m.type == "float":
        return st.floats(m.lo, m.hi, allow_nan=False, allow_infinity=False)
    if m.type == "int":
        return st.integers(int(m.lo or 0), int(m.hi or 0))
    if m.type == "bool":
        return st.booleans()
    if m.type == "enum":
        return st.sampled_from(m.choices)
    return st.text(min_size=1, max_size=m.max_length or 20)


@st.composite
def vitals_reading(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.sets(st.sampled_from([m.name for m in VITALS]), min_size=1))
    reading = {"ts": draw(timestamps)}
    for m in VITALS:
        if m.name in names:
            reading[m.name] = draw(value(m))
    sys_bp, dia_bp = reading.get("systolic_bp"), reading.get("diastolic_bp")
    if sys_bp is not None and dia_bp is not None and dia_bp >= sys_bp:
        del reading["diastolic_bp"]
        if len(reading) == 1:
            reading["heart_rate"] = 70.0
    return reading


@st.composite
def table_reading(draw: st.DrawFn, table: tuple[Measure, ...], required: str) -> dict[str, Any]:
    reading = {"ts": draw(timestamps)}
    for m in table:
        if m.name == required or draw(st.booleans()):
            reading[m.name] = draw(value(m))
    return reading


READINGS = {
    "vitals": vitals_reading(),
    "event": table_reading(EVENT, "type"),
    "utterance": table_reading(UTTERANCE, "language"),
}
