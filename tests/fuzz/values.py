"""Valid readings drawn from the wire contract's measure tables, edges included.

Values are built from :mod:`careloop.wire.measures` (ranges, choices, lengths), so a table
change moves the fuzz payloads with it. Every reading is valid by construction: the edges
(the bounds themselves, ``-0.0`` for a zero bound, ints in float fields, strings of exactly
the maximum length) are all inside the contract. Strings come from pools chosen to stress
escaping and storage: quotes, backslashes, control characters, astral-plane characters,
Chinese, and line-protocol look-alikes that must stay one field of one point.
"""

from __future__ import annotations

import math
import random
from typing import Any

from careloop.wire import EVENT, TABLES, UTTERANCE, VITALS, Measure

#: Reading fields ingest stores per kind (``text`` needs consent; the fuzz fleet has none).
STORED: dict[str, frozenset[str]] = {
    "vitals": frozenset(m.name for m in VITALS),
    "event": frozenset(m.name for m in EVENT) - {"type"},
    "utterance": frozenset(m.name for m in UTTERANCE) - {"text"},
}
#: Fields a reading of each kind must carry besides ``ts``.
REQUIRED: dict[str, tuple[str, ...]] = {
    "vitals": (),
    "event": ("type",),
    "utterance": ("language",),
}

WORDS = ("door opened", "battery low", "ok", "checked", "kitchen", "bedroom 2", "firmware 1.2")
#: Strings that are valid (1..n characters) but hard on every layer that copies them.
NASTY = (
    'say "hi" \\ now',
    "back\\slash\\",
    "tab\tnew\nline\rcr",
    "nul\x00byte",
    "\x01\x1b[31mred\x7f",
    "emoji 😀🆘👵🏽",
    "我想飲水",
    "唔該幫我叫姑娘",
    "头好晕",
    "\u202eright-to-left\u200b",
    "line\u2028sep\u2029para",
    "\ufeffbom\ufffe\uffff",
    '" ,evil=1 1\nvitals,resident=ghost-0,site=fz-north heart_rate=1 1',
    "a=b,c d",
    "{}[]:,",
    "\\u0000 not an escape",
)
LANGUAGES = ("en", "zh", "zh-Hant", "zh-Hans", "yue", "zh-HK", "en-GB", "x" * 16)


def text(rng: random.Random, max_length: int) -> str:
    """A valid string of 1..``max_length`` characters."""
    pick = rng.random()
    if pick < 0.4:
        value = rng.choice(WORDS)
    elif pick < 0.85:
        value = rng.choice(NASTY)
    elif pick < 0.95:
        value = "".join(rng.choice(NASTY) for _ in range(rng.randint(2, 40)))
    else:
        value = rng.choice("é我😀x") * max_length
    return value[:max_length] or "x"


def value(rng: random.Random, m: Measure) -> Any:
    """A valid value of measure ``m``; about one in ten is an edge of its range."""
    edge = rng.random() < 0.1
    if m.type == "float":
        lo, hi = float(m.lo or 0.0), float(m.hi or 0.0)
        if edge:
            return rng.choice([lo, hi, int(lo), int(hi), -0.0 if lo == 0 else lo])
        if rng.random() < 0.2:
            return rng.randint(math.ceil(lo), math.floor(hi))
        x = rng.uniform(lo, hi)
        short = round(x, rng.randint(0, 3))
        return short if rng.random() < 0.7 and lo <= short <= hi else x
    if m.type == "int":
        lo_i, hi_i = int(m.lo or 0), int(m.hi or 0)
        return rng.choice([lo_i, hi_i]) if edge else rng.randint(lo_i, hi_i)
    if m.type == "bool":
        return rng.random() < 0.5
    if m.type == "enum":
        return rng.choice(m.choices)
    if m.name == "language":
        return rng.choice(LANGUAGES)
    return text(rng, m.max_length or 20)


def reading(rng: random.Random, kind: str, ts: int) -> dict[str, Any]:
    """One valid reading of ``kind`` at ``ts``, with a random subset of its fields."""
    table = TABLES[kind]
    out: dict[str, Any] = {"ts": ts}
    if kind == "vitals":
        names = set(rng.sample([m.name for m in table], rng.randint(1, 5)))
    else:
        names = {m.name for m in table if m.name in REQUIRED[kind] or rng.random() < 0.5}
    for m in table:
        if m.name in names:
            out[m.name] = value(rng, m)
    sys_bp, dia_bp = out.get("systolic_bp"), out.get("diastolic_bp")
    if sys_bp is not None and dia_bp is not None and dia_bp >= sys_bp:
        out["diastolic_bp"] = 20  # systolic is at least 50
    return out


def stored_fields(kind: str, r: dict[str, Any]) -> tuple[str, list[str]]:
    """The event type ("" for other kinds) and the fields InfluxDB gets for reading ``r``."""
    fields = [k for k, v in r.items() if k in STORED[kind] and v is not None]
    if kind == "event":
        return str(r["type"]), [*fields, "n"]
    return "", fields
