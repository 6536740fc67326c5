"""Mutated payloads: a valid message with exactly one thing broken, and the reason it earns.

Each mutation takes a fresh valid message from a registered device (active or silent) and
breaks one field, one topic level, or its text. With a single fault the contract's first
error is that fault, so the reason (``WireError.reason``: the pydantic error type and the
field name) is known from the construction alone. Where the same fault is written in
several ways (``"72"``, ``true``, ``[72]`` for a number), the reason depends only on the
kind of field it hits (:data:`WRONG_TYPE`, :data:`NON_FINITE`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from careloop.wire import TABLES, VITALS
from careloop.wire.measures import KNOWN_FIELDS
from careloop.wire.schemas import MAX_TS_MS, MIN_TS_MS
from tests.fuzz.drafts import Draft
from tests.fuzz.fleet import SITES
from tests.fuzz.payloads import Generator, Payload
from tests.fuzz.values import REQUIRED

#: What each envelope field is, for the reason its breakage earns.
ENVELOPE = {"v": "v", "device": "id", "resident": "id", "seq": "int", "ts": "int"}
#: A value of the wrong JSON type, per kind of field.
WRONG_VALUES: dict[str, list[Any]] = {
    "float": ["72", "72.5", True, False, [72], {"value": 72}, "", "NaN"],
    "int": ["5", True, False, 1.5, 5.0, [5], {"n": 5}],
    "bool": [1, 0, "true", "false", 1.5, [True], {}],
    "enum": [3, True, ["lying"], {}, 1.5],
    "str": [5, True, ["x"], {"x": "y"}, 1.5],
    "id": [5, True, ["r01"], {}, None, 1.5],
    "v": ["1", None, [1], {}, 1.5, False],
    "readings": [{"ts": MIN_TS_MS}, "x", 5, None, True],
}
#: The pydantic error type of a wrong-type value, per kind of field.
WRONG_TYPE = {
    "float": "float_type", "int": "int_type", "bool": "bool_type", "enum": "literal_error",
    "str": "string_type", "id": "string_type", "v": "literal_error", "readings": "list_type",
}  # fmt: skip
#: The same for a non-finite number (a float field wants a *finite* one).
NON_FINITE = {**WRONG_TYPE, "float": "finite_number"}
NON_FINITE_TOKENS = ("NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1E400", "-1.5e99999")
PAST = (MIN_TS_MS - 1, MIN_TS_MS - 31_536_000_000, 0, -1, 1_764_000_000, -(10**15))
FUTURE = (MAX_TS_MS, MAX_TS_MS + 1, 10**15, 2**63, 2**64, 10**30, 1_764_000_000_000_000)
BAD_IDS = ("", "r 1", "-r1", "r1\n", "r" * 65, "r1/x", "räsident", "r1\x00", ".r1", "r1,x=y")
#: Bad ids that are still valid MQTT topic levels (no "/", no control characters).
BAD_TOPIC_IDS = tuple(i for i in BAD_IDS if not any(c in i for c in "/\x00\n"))
BAD_KINDS = ("vitalz", "Vitals", "VITALS", "vitals ", "", "needs", "readings", "evént")
BAD_SITES = ("fz north", "sité", "-north", "s" * 65, "", "a,b=c", "fz-north\u00a0", ".x")
INVALID_UTF8 = (b"\xff", b"\xfe", b"\xc0\xaf", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\x80")
LONE_SURROGATES = ("\\ud800", "\\udfff", "\\ud83dx", "\\ude00\\ud83d", "r\\udc00")
#: The smallest valid reading of each kind (to make too many of them).
MINIMAL: dict[str, dict[str, Any]] = {
    "vitals": {"steps": 1}, "event": {"type": "door"}, "utterance": {"language": "en"},
}  # fmt: skip
HUGE_CHARS = (("x", 1), ("é", 6), ("我", 6), ("😀", 12))
EXTRA_NAMES = ("selfie", "__proto__", "constructor", "Resident", "ts ", "", "x_y", "ΤΣ")
#: Keys the contract knows (so the reason names them) but not in these places.
FOREIGN_ENVELOPE = ("state", "battery", "firmware", "id", "action", "alert", "reason", "site")


def base(g: Generator, kind: str | None = None) -> Draft:
    """A small valid message from any registered device, without the optional ``kind``."""
    sender = g.rng.choice(g.fleet.registered)
    d = g.draft(sender, kind, n=g.rng.randint(1, 4))
    d.body.pop("kind", None)
    return d


def field_type(kind: str, name: str) -> str:
    """The kind of a reading field: its table type, ``int`` for ``ts``."""
    if name == "ts":
        return "int"
    return next(m.type for m in TABLES[kind] if m.name == name)


def target(g: Generator, d: Draft) -> tuple[dict[str, Any], str, str]:
    """Where to break something: (the object, the field name, its kind of field)."""
    rng = g.rng
    if rng.random() < 0.35:
        name = rng.choice([*ENVELOPE, "readings"])
        return d.body, name, ENVELOPE.get(name, "readings")
    r = rng.choice(d.readings)
    name = rng.choice(["ts", *(m.name for m in TABLES[d.kind])])
    return r, name, field_type(d.kind, name)


def removed(g: Generator, d: Draft) -> str:
    rng = g.rng
    if rng.random() < 0.4:
        name = rng.choice(["device", "resident", "seq", "ts", "readings"])
        del d.body[name]
        return f"missing:{name}"
    r = rng.choice(d.readings)
    if d.kind == "vitals" and rng.random() < 0.5:
        for m in VITALS:
            r.pop(m.name, None)
        return "value_error:readings"  # "a vitals reading needs at least one measurement"
    name = rng.choice(["ts", *REQUIRED[d.kind]])
    del r[name]
    return f"missing:{name}"


def wrong_type(g: Generator, d: Draft) -> str:
    rng = g.rng
    if rng.random() < 0.15:
        d.readings[rng.randrange(len(d.readings))] = rng.choice([5, "x", [1], None, True])
        return "model_type:readings"
    obj, name, what = target(g, d)
    choices = list(WRONG_VALUES[what])
    if obj is not d.body and name in ("ts", *REQUIRED[d.kind]):
        choices.append(None)  # null only breaks a required field
    obj[name] = rng.choice(choices)
    return f"{WRONG_TYPE[what]}:{name}"


def out_of_range(g: Generator, d: Draft) -> str:
    rng = g.rng
    pick = rng.random()
    if pick < 0.1:
        name = rng.choice(["device", "resident"])
        d.body[name] = rng.choice(BAD_IDS)
        return f"string_pattern_mismatch:{name}"
    if pick < 0.15:
        d.body["seq"] = rng.choice([-1, -(10**20)])
        return "greater_than_equal:seq"
    if pick < 0.2:
        d.body["v"] = rng.choice([0, 2, -1, 255])
        return "literal_error:v"
    if pick < 0.25:
        d.body["kind"] = rng.choice([k for k in ("vitals", "event", "utterance") if k != d.kind])
        return "literal_error:kind"
    if pick < 0.3:
        if rng.random() < 0.5:
            d.body["readings"] = []
            return "too_short:readings"
        ts = d.readings[0]["ts"]
        more = rng.randint(501, 560) - len(d.readings)
        d.readings.extend({"ts": ts, **MINIMAL[d.kind]} for _ in range(more))
        return "too_long:readings"
    if d.kind == "vitals" and pick < 0.38:
        r = rng.choice(d.readings)
        r["systolic_bp"] = systolic = rng.choice([50, 90.5, 120, 159.5, 160])
        r["diastolic_bp"] = rng.choice([systolic, min(systolic + 0.5, 160), 160])
        return "value_error:readings"  # diastolic must be below systolic
    r = rng.choice(d.readings)
    m = rng.choice([m for m in TABLES[d.kind] if m.type != "bool"])
    if m.type == "enum":
        r[m.name] = rng.choice(["flying", "Lying", "lying ", "", "door", "a", "sos"])
        if r[m.name] in m.choices:
            r[m.name] = "flying"
        return f"literal_error:{m.name}"
    if m.type == "str":
        longest = m.max_length or 1
        if rng.random() < 0.3:
            r[m.name] = ""
            return f"string_too_short:{m.name}"
        r[m.name] = "y" * rng.randint(longest + 1, longest + 50)
        return f"string_too_long:{m.name}"
    lo, hi = float(m.lo or 0), float(m.hi or 0)
    over: list[Any]
    under: list[Any]
    if m.type == "int":  # strict: a float in an int field is a wrong type, not a range error
        over, under = [int(hi) + 1, 10**12, 10**400], [int(lo) - 1, -(10**12)]
    else:  # an int is fine in a float field (10**400 is no finite float: non_finite)
        over = [int(hi) + 1, hi + 1, math.nextafter(hi, math.inf), 1e300]
        under = [int(lo) - 1, lo - 1, math.nextafter(lo, -math.inf), -1e300]
    if rng.random() < 0.5:
        r[m.name] = rng.choice(over)
        return f"less_than_equal:{m.name}"
    r[m.name] = rng.choice(under)
    return f"greater_than_equal:{m.name}"


def non_finite(g: Generator, d: Draft) -> str:
    obj, name, what = target(g, d)
    token = g.rng.choice(NON_FINITE_TOKENS)
    if what == "float" and g.rng.random() < 0.2:
        token = "1" + "0" * 400  # an integer no float can hold
    obj[name] = d.placeholder(token)
    return f"{NON_FINITE[what]}:{name}"


def huge_string(g: Generator, d: Draft) -> str:
    rng = g.rng
    char, cost = rng.choice(HUGE_CHARS)  # cost: bytes per character when \u-escaped
    huge = char * max(1_000, rng.choice([1_000, 5_000, 20_000, 60_000]) // cost)
    del d.readings[1:]
    r = d.readings[0]
    pick = rng.random()
    if pick < 0.25:
        name = rng.choice(["device", "resident"])
        d.body[name] = huge
        return f"string_pattern_mismatch:{name}"
    if pick < 0.5:
        names = [m.name for m in TABLES[d.kind] if m.type in ("str", "float")]
        name = rng.choice(names)
        r[name] = huge
        m = next(m for m in TABLES[d.kind] if m.name == name)
        return f"string_too_long:{name}" if m.type == "str" else f"float_type:{name}"
    obj = d.body if rng.random() < 0.5 else r
    if pick < 0.75:
        name = rng.choice(EXTRA_NAMES)
        obj[name] = huge
        return extra_reason(name, obj is d.body)
    obj[huge] = 1
    return "extra_forbidden:other"


def deep_nesting(g: Generator, d: Draft) -> str:
    rng = g.rng
    obj, name, what = target(g, d)
    deep = rng.random() < 0.4
    as_list = rng.random() < 0.5
    depth = rng.randint(400, 20_000 if as_list else 10_000) if deep else rng.randint(2, 100)
    text = "[" * depth + "]" * depth if as_list else '{"a":' * depth + "1" + "}" * depth
    obj[name] = d.placeholder(text)
    if deep:
        return "json_invalid:payload"  # past the parser's recursion limit
    if what == "readings":
        return "model_type:readings" if as_list else "list_type:readings"
    return f"{WRONG_TYPE[what]}:{name}"


def invalid_utf8(g: Generator, d: Draft) -> str:
    rng = g.rng
    bad = rng.choice(INVALID_UTF8)

    def insert(data: bytes) -> bytes:
        if rng.random() < 0.1:
            return b"\xff" + bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
        # between two ASCII bytes, so the bad bytes can never complete a character
        spots = [i for i in range(1, len(data)) if data[i - 1] < 0x80 and data[i] < 0x80]
        at = rng.choice(spots)
        return data[:at] + bad + data[at:]

    d.post = insert
    return "json_invalid:payload"


def lone_surrogate(g: Generator, d: Draft) -> str:
    obj, name, _ = target(g, d)
    obj[name] = d.placeholder(f'"{g.rng.choice(LONE_SURROGATES)}"')
    return "json_invalid:payload"


def truncated(g: Generator, d: Draft) -> str:
    rng = g.rng
    d.post = lambda data: data[: rng.randrange(0, data.rindex(b"}"))]
    return "json_invalid:payload"


def extra_field(g: Generator, d: Draft) -> str:
    rng = g.rng
    value = rng.choice([1, "x", None, [], {"a": 1}, True, 1.5])
    if rng.random() < 0.4:
        name = rng.choice([*EXTRA_NAMES, *FOREIGN_ENVELOPE])
        d.body[name] = value
        return extra_reason(name, True)
    own = {"ts", *(m.name for m in TABLES[d.kind])}
    foreign = {m.name for t in TABLES.values() for m in t} - own
    name = rng.choice([*EXTRA_NAMES, *sorted(foreign), "device", "seq", "kind"])
    rng.choice(d.readings)[name] = value
    return extra_reason(name, False)


def extra_reason(name: str, envelope: bool) -> str:
    """The reason of an unknown key: named if the contract knows the name, else "other";
    an empty key in the envelope has no path at all and is reported as the payload's."""
    if name == "" and envelope:
        return "extra_forbidden:payload"
    return f"extra_forbidden:{name if name in KNOWN_FIELDS else 'other'}"


def wrong_topic(g: Generator, d: Draft) -> str:
    rng = g.rng
    pick = rng.random()
    if pick < 0.35:
        d.topic_kind = rng.choice([k for k in (*TABLES, "status") if k != d.kind])
        if d.topic_kind == "status":
            return "missing:state"
        if d.topic_kind != "vitals":
            return f"missing:{REQUIRED[d.topic_kind][0]}"
        allowed = {"ts", *(m.name for m in VITALS)}
        first = next(k for k in d.readings[0] if k not in allowed)
        return f"extra_forbidden:{first}"
    if pick < 0.55:
        d.topic_kind = rng.choice(BAD_KINDS)
        return "bad_topic:kind"
    if pick < 0.75:
        d.site = rng.choice(BAD_SITES)
        return "bad_id:site"
    if pick < 0.85:
        d.device = rng.choice(BAD_TOPIC_IDS)
        return "bad_id:device"
    d.site = rng.choice([s for s in SITES if s != d.sender.site])
    return "spoofed"  # a registered device, its own resident, another registered site


def timestamp(g: Generator, d: Draft) -> str:
    rng = g.rng
    obj = d.body if rng.random() < 0.3 else rng.choice(d.readings)
    if rng.random() < 0.5:
        obj["ts"] = rng.choice(PAST)
        return "greater_than_equal:ts"
    obj["ts"] = rng.choice(FUTURE)
    return "less_than:ts"


MUTATIONS: dict[str, Callable[[Generator, Draft], str]] = {
    f.__name__: f
    for f in (
        removed, wrong_type, out_of_range, non_finite, huge_string, deep_nesting,
        invalid_utf8, lone_surrogate, truncated, extra_field, wrong_topic, timestamp,
    )
}  # fmt: skip


def mutated(g: Generator) -> Payload:
    """One mutated payload (a mutation chosen uniformly) and the reason it must get."""
    name = g.rng.choice(list(MUTATIONS))
    d = base(g)
    reason = MUTATIONS[name](g, d)
    return g.rejected("mutated", name, d, reason)
