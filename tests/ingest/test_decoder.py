"""The fast decoder accepts and rejects exactly what the wire contract does, with the same
lines and the same reasons (hypothesis, on valid and mangled messages).

The shortcut compiles one function per reading shape and caches float texts, so every
property is checked both with a fresh decoder and with one decoder shared by all examples
(whose caches then hold whatever earlier examples left in them)."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careloop.wire import TABLES, Topic, WireError, decode
from ingest import Decoder, message_lines
from tests.wire.strategies import READINGS, ids

TS = 1_764_000_000_000
KINDS = sorted(READINGS)
#: One decoder for every example of a test run: caches warm with earlier examples' shapes.
SHARED = Decoder()


def _table_edges() -> list[Any]:
    """Every table's own edges: each bound as int and float, just outside it, lengths."""
    out: list[Any] = [0.0, -0.0, 0, math.nan, math.inf, -math.inf, 2**64, -(2**64)]
    for table in TABLES.values():
        for m in table:
            for bound in (m.lo, m.hi):
                if bound is not None:
                    b = float(bound)
                    out += [int(bound), b, -b, math.nextafter(b, -math.inf)]
                    out += [math.nextafter(b, math.inf), int(bound) - 1, int(bound) + 1]
            if m.max_length is not None:
                out += ["é" * m.max_length, "x" * (m.max_length + 1)]
            out += list(m.choices)
    return out


table_edges = st.sampled_from(_table_edges())

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=4,
)
#: Values near every rule's edge: range ends, lookalike types, ids with a trailing newline.
edge_values = st.sampled_from(
    [0, 1, -1, 1.0, 0.5, 20, 250, 250.0000001, 19.999999, 1e308, 10_000, 10_001, True, False,
     None, "", "x", "72", "A", "lying", "door", "zh", "r1\n", "r 1", "a" * 65, "a" * 501,
     [], {}, TS, TS + 0.5, 946_684_800_000 - 1, 4_102_444_800_000]
)  # fmt: skip
field_names = st.sampled_from(
    sorted({m.name for table in TABLES.values() for m in table} | {"ts", "kind", "selfie"})
)
envelope_keys = st.sampled_from(["v", "device", "resident", "seq", "ts", "readings", "kind", "x"])


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid message, then sometimes one or more mutations of its JSON or its text."""
    kind = draw(st.sampled_from([*KINDS, "status"]))
    device = draw(ids)
    site = draw(ids)
    body: dict[str, Any] = {"v": 1, "device": device, "resident": draw(ids), "seq": 1, "ts": TS}
    if kind == "status":
        body.update(state=draw(st.sampled_from(["online", "offline"])))
    else:
        body["readings"] = draw(st.lists(READINGS[kind], min_size=1, max_size=4))
    for _ in range(draw(st.integers(0, 3))):
        target = body
        listed = body.get("readings")
        readings = [r for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []
        if readings and draw(st.booleans()):
            target = draw(st.sampled_from(readings))
            key = draw(field_names)
        else:
            key = draw(envelope_keys)
        action = draw(st.sampled_from(["set", "set", "edge", "table", "delete"]))
        if action == "delete":
            target.pop(key, None)
        elif action == "table":
            target[key] = draw(table_edges)
        else:
            target[key] = draw(edge_values if action == "edge" else json_values)
    if draw(st.booleans()):  # devices may send a reading's keys in any order
        shuffle = random.Random(draw(st.integers(0, 2**16))).shuffle
        listed = body.get("readings")
        for r in listed if isinstance(listed, list) else []:
            if isinstance(r, dict):
                items = list(r.items())
                shuffle(items)
                r.clear()
                r.update(items)
    text = json.dumps(body, ensure_ascii=draw(st.booleans()))
    mangle = draw(st.sampled_from(["none", "none", "none", "dup", "cut", "spoof"]))
    if mangle == "dup":  # a duplicate key: the last one wins in both parsers
        text = text[:-1] + ', "v": ' + json.dumps(draw(edge_values)) + "}"
    elif mangle == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif mangle == "spoof":
        device = device + "x"
    return str(Topic(site, device, kind)), text.encode()


def reference(topic: str, payload: bytes) -> tuple:
    try:
        parsed, message = decode(topic, payload)
    except WireError as exc:
        return ("error", exc.reason, str(exc))
    return ("ok", message.device, message.resident, message_lines(parsed, message))


def fast(decoder: Decoder, topic: str, payload: bytes) -> tuple:
    try:
        d = decoder.decode(topic, payload)
    except WireError as exc:
        return ("error", exc.reason, str(exc))
    return ("ok", d.device, d.resident, d.lines)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=messages())
def test_fast_decoder_matches_the_contract(case):
    topic, payload = case
    expected = reference(topic, payload)
    assert fast(Decoder(), topic, payload) == expected
    assert fast(SHARED, topic, payload) == expected


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), data=st.data(), site=ids, device=ids, resident=ids)
def test_valid_messages_take_the_shortcut(kind, data, site, device, resident):
    readings = data.draw(st.lists(READINGS[kind], min_size=1, max_size=5))
    body = {"v": 1, "device": device, "resident": resident, "seq": 7, "ts": TS}
    payload = json.dumps({**body, "readings": readings}).encode()
    decoder = Decoder()
    topic = str(Topic(site, device, kind))
    got = fast(decoder, topic, payload)
    assert got == reference(topic, payload)
    assert decoder.fast == 1, "a plain valid message fell back to the slow path"
    taken = SHARED.fast
    assert fast(SHARED, topic, payload) == got
    assert SHARED.fast == taken + 1


@pytest.mark.parametrize(
    "payload",
    [
        b'{"v":true,"device":"d","resident":"r","seq":1,"ts":1764000000000,'
        b'"readings":[{"ts":1764000000000,"heart_rate":72}]}',
        b'{"v":1.0,"device":"d","resident":"r","seq":1,"ts":1764000000000,'
        b'"readings":[{"ts":1764000000000,"heart_rate":72}]}',
        b'{"device":"d","resident":"r","seq":1,"ts":1764000000000,"kind":"vitals",'
        b'"readings":[{"ts":1764000000000,"heart_rate":null,"spo2":97}]}',
        b'{"device":"d","resident":"r","seq":1,"ts":1764000000000,'
        b'"readings":[{"ts":1764000000000,"heart_rate":300,"heart_rate":72}]}',
        b'{"device":"d","resident":"r\\n","seq":1,"ts":1764000000000,'
        b'"readings":[{"ts":1764000000000,"heart_rate":72}]}',
        b'{"device":"d","resident":"r","seq":123456789012345678901234567890,'
        b'"ts":1764000000000,"readings":[{"ts":1764000000000,"heart_rate":NaN}]}',
        b'{"device":"d","resident":"r","seq":1,"ts":1764000000000,'
        b'"readings":[{"ts":1764000000000,"systolic_bp":120,"diastolic_bp":120}]}',
    ],
)
def test_corner_cases_agree(payload):
    topic = "careloop/v1/site/d/vitals"
    assert fast(Decoder(), topic, payload) == reference(topic, payload)


@pytest.mark.parametrize(
    ("systolic", "diastolic", "valid"),
    [
        (100.0, 99.0, True),  # as text "99.0" > "100.0": the rule compares numbers
        (99.0, 100.0, False),
        (100, 99.5, True),
        (120, 120.0, False),
        (250.5, 25, True),
        (60, 160, False),
    ],
)
def test_the_blood_pressure_rule_compares_numbers(systolic, diastolic, valid):
    topic = "careloop/v1/site/d/vitals"
    for decoder in (Decoder(), SHARED):
        for reading in (
            {"ts": TS, "systolic_bp": systolic, "diastolic_bp": diastolic},
            {"diastolic_bp": diastolic, "ts": TS, "heart_rate": 70, "systolic_bp": systolic},
        ):
            body = {"device": "d", "resident": "r", "seq": 1, "ts": TS, "readings": [reading]}
            payload = json.dumps(body).encode()
            got = fast(decoder, topic, payload)
            assert got == reference(topic, payload)
            assert (got[0] == "ok") is valid


def test_cached_float_texts_keep_the_sign_of_zero_and_every_digit():
    """The same decoder sees 0.0 then -0.0 (equal as dict keys), and many distinct values."""
    decoder = Decoder()
    topic = "careloop/v1/site/d/vitals"
    values = [0.0, -0.0, 0, 0.0, -0.0, 1.5, 1, 1.0, 19.999999999999996, 0.1 + 0.2, 5e-324]
    values += [i / 300 for i in range(6001)]  # more than one field's cache holds
    for value in values:
        reading = {"ts": TS, "activity": value, "steps": 0}
        body = {"device": "d", "resident": "r", "seq": 1, "ts": TS, "readings": [reading]}
        payload = json.dumps(body).encode()
        assert fast(decoder, topic, payload) == reference(topic, payload), value
    assert decoder.slow == 0
