"""One compiled check-and-format function per reading shape, for the fast decoder.

A reading's *shape* is its message kind and its keys, in the order the device sent them.
Devices send the same few shapes over and over, so :func:`compile_shape` turns a shape,
once, into a small Python function ``line(reading, prefix) -> str | None`` that checks
every field of a reading of exactly that shape with the contract's rules and formats its
line of line protocol in one f-string, or returns None when the contract must decide. The
per-field loop with a type dispatch it replaces was 60 % of the MQTT thread's time with ten
readings per message.

What a compiled function proves is deliberately narrow (the decoder's module docstring says
why that is safe): exact JSON types (``type(v) is int``, so ``true`` is not a number),
finite values inside the table's closed range, enum choices, string lengths, timestamps in
the contract's window, and the vitals cross-field rule. Anything else returns None and the
message goes through :func:`careloop.wire.decode`. A float is written as ``repr(value)``,
an int value of a float field as ``repr(float(value))``: exactly what
:func:`~ingest.lineproto.format_value` writes.

Safety of the generated source: it is built from the measure tables only. A shape is
compiled only once all its keys are known table fields; names must be identifiers, bounds
finite ints or floats (written with ``repr``, which round-trips), choices and constants
plain strings written with ``repr``. Nothing from a payload reaches the source text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from careloop.wire import TABLES
from careloop.wire.schemas import MAX_TS_MS, MIN_TS_MS
from ingest.lineproto import CONSTANT_FIELDS, FIELDS, TAG_FIELDS, escape_tag, quote

#: Float texts kept per field (a field's values beyond it are formatted every time).
FLOAT_TEXT_LIMIT = 4096

#: ``line(reading, prefix)``: the reading's line, or None to let the contract decide.
LineFunction = Callable[[dict[str, Any], str], "str | None"]

#: Fields a reading of each kind must carry (besides ``ts``).
REQUIRED: dict[str, tuple[str, ...]] = {
    "vitals": (),
    "event": ("type",),
    "utterance": ("language",),
}
#: Fields a reading may carry that are checked but not stored (utterance text).
CHECK_ONLY: dict[str, dict[str, tuple[int, int]]] = {"utterance": {"text": (1, 500)}}
#: The choices of each kind's tag field (event ``type``).
TAG_CHOICES: dict[str, tuple[str, ...]] = {
    kind: m.choices
    for kind, table in TABLES.items()
    for m in table
    if m.name in TAG_FIELDS.get(kind, ())
}


def refuse(reading: dict[str, Any], prefix: str) -> None:
    """The function of a shape the shortcut never takes (unknown keys, a missing field...)."""
    return None


def compile_shape(
    kind: str, keys: tuple[str, ...], float_texts: dict[str, dict[float, str]]
) -> LineFunction:
    """The check-and-format function of readings of ``kind`` with exactly ``keys``.

    ``float_texts`` holds, per float field, the text of values already seen (filled by the
    compiled functions, each field's bounded by :data:`FLOAT_TEXT_LIMIT`); share it between
    the shapes of one decoder. :func:`refuse` if the shape itself needs the contract: a key
    the tables do not know, a missing required field, a vitals reading without any
    measurement, or a table entry the generated code cannot check exactly.
    """
    namespace: dict[str, Any] = {"quote": quote}
    source = _source(kind, keys, namespace, float_texts)
    if source is None:
        return refuse
    exec(compile(source, f"<ingest shape {kind}>", "exec"), namespace)
    function: LineFunction = namespace["line"]
    return function


def _number(value: object) -> str | None:
    """``value`` as exact Python source if it is a finite int or float bound, else None."""
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return repr(value)
    return None


def _source(
    kind: str,
    keys: tuple[str, ...],
    namespace: dict[str, Any],
    float_texts: dict[str, dict[float, str]],
) -> str | None:
    """The Python source of ``line(r, prefix)`` for this shape, or None (use the contract).

    Objects the source refers to by name (the float text caches) are put in ``namespace``.
    """
    fields = FIELDS.get(kind)
    if fields is None or kind not in REQUIRED:
        return None
    check_only = CHECK_ONLY.get(kind, {})
    tags = TAG_FIELDS.get(kind, ())
    allowed = {"ts", *fields, *check_only, *tags}
    if "ts" not in keys or not set(keys) <= allowed or len(set(keys)) != len(keys):
        return None
    if any(name not in keys for name in REQUIRED[kind]):
        return None
    if kind == "vitals" and len(keys) < 2:
        return None  # "at least one measurement": leave the message to the contract
    if not all(name.isidentifier() for name in allowed):
        return None
    body = [
        'ts = r["ts"]',
        f"if type(ts) is not int or not {MIN_TS_MS} <= ts < {MAX_TS_MS}:",
        "    return None",
    ]
    names: dict[str, str] = {}  # field -> local variable holding its (formatted) value
    for name, (shortest, longest) in check_only.items():
        if name in keys:
            body += [
                f"v = r[{name!r}]",
                f"if type(v) is not str or not {shortest} <= len(v) <= {longest}:",
                "    return None",
            ]
    head = "{prefix}"
    for tag in tags:
        choices = TAG_CHOICES[kind]
        if not choices or not all(_literal(c) and escape_tag(c) == c for c in choices):
            return None
        var = names[tag] = f"v{len(names)}"
        body += [
            f"{var} = r[{tag!r}]",
            f"if type({var}) is not str or {var} not in {_set_literal(choices)}:",
            "    return None",
        ]
        head += f",{tag}={{{var}}}"
    parts: list[str] = []
    for spec in fields.values():  # table order, as message_lines writes them
        if spec.name not in keys:
            continue
        var = names[spec.name] = f"v{len(names)}"
        body.append(f"{var} = r[{spec.name!r}]")
        if spec.type == "float":
            lo, hi = _number(spec.lo), _number(spec.hi)
            if lo is None or hi is None:
                return None
            cache = f"c{len(namespace)}"
            namespace[cache] = float_texts.setdefault(spec.name, {})
            body += [
                f"if type({var}) is float:",
                f"    if not {lo} <= {var} <= {hi}:",
                "        return None",
                f"elif type({var}) is int and {lo} <= {var} <= {hi}:",
                f"    {var} = float({var})",
                "else:",
                "    return None",
                # repr() of a float is its line-protocol text; most readings repeat a few
                # hundred values, and a dict hit costs a quarter of repr(). Zero is never
                # cached: -0.0 == 0.0 (same key) but the two print differently.
                f"t{var} = {cache}.get({var})",
                f"if t{var} is None:",
                f"    t{var} = repr({var})",
                f"    if {var} and len({cache}) < {FLOAT_TEXT_LIMIT}:",
                f"        {cache}[{var}] = t{var}",
            ]
            parts.append(f"{spec.name}={{t{var}}}")
        elif spec.type == "int":
            lo, hi = _number(spec.lo), _number(spec.hi)
            if lo is None or hi is None:
                return None
            body += [f"if type({var}) is not int or not {lo} <= {var} <= {hi}:", "    return None"]
            parts.append(f"{spec.name}={{{var}}}i")
        elif spec.type == "bool":
            body += [
                f"if {var} is True:",
                f'    {var} = "true"',
                f"elif {var} is False:",
                f'    {var} = "false"',
                "else:",
                "    return None",
            ]
            parts.append(f"{spec.name}={{{var}}}")
        elif spec.type == "enum":
            if not spec.choices:
                return None
            body += [
                f"if type({var}) is not str or {var} not in {_set_literal(spec.choices)}:",
                "    return None",
            ]
            parts.append(f'{spec.name}="{{{var}}}"')
        else:
            if spec.max_length is None:
                return None
            body += [
                f"if type({var}) is not str or not 1 <= len({var}) <= {spec.max_length}:",
                "    return None",
                f"{var} = quote({var})",
            ]
            parts.append(f"{spec.name}={{{var}}}")
    if "systolic_bp" in names and "diastolic_bp" in names:
        body += [f"if {names['diastolic_bp']} >= {names['systolic_bp']}:", "    return None"]
    constant = CONSTANT_FIELDS.get(kind)
    if constant is not None:
        if not _literal(constant):
            return None
        parts.append(constant)
    if not parts:
        return None
    body.append(f"return f'{head} {','.join(parts)} {{ts}}'")
    return "def line(r, prefix):\n" + "".join(f"    {statement}\n" for statement in body)


def _literal(text: str) -> bool:
    """Whether ``text`` can be written verbatim inside the generated f-string."""
    return not any(c in text for c in "{}'\\\n\r")


def _set_literal(choices: Iterable[str]) -> str:
    """A set display of ``choices`` (compiled to a frozenset constant), in a stable order."""
    return "{" + ", ".join(repr(c) for c in sorted(choices)) + "}"
