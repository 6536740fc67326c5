"""Message -> line protocol, fast: a checked shortcut in front of the wire contract.

:func:`careloop.wire.decode` (pydantic) is the validation truth. It costs about as much as
everything else ingest does per message, so :class:`Decoder` first tries a shortcut: parse
with the same JSON parser pydantic uses and check the plain envelope
(:mod:`careloop.wire.shortcut`, shared with the scorer), then check the readings with the
measure tables and build the lines in the same pass. Whenever anything
is unusual (a null, an unknown key, ``"v": true``, a value out of range, a type that strict
mode might or might not take) the shortcut gives up and the message goes through
``careloop.wire.decode`` + :func:`~ingest.lineproto.message_lines` instead. So:

* a message the shortcut accepts is one the contract accepts, with identical lines;
* every rejection, and its reason, comes from the contract itself.

``tests/ingest/test_decoder.py`` checks both with hypothesis on valid and mangled messages.
A reading is checked and formatted by one function compiled for its *shape* (kind and keys,
in order; :mod:`ingest.shapes`): devices send the same few shapes over and over, so the
per-reading work is one call with no per-field dispatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from careloop.wire import MAX_PAYLOAD_BYTES, TABLES, Topic, decode
from careloop.wire.shortcut import Ids, plain_envelope
from ingest.lineproto import head, message_lines
from ingest.shapes import LineFunction, compile_shape

_CACHE_LIMIT = 100_000
#: Compiled shapes kept per decoder (devices send a handful; the bound is for garbage).
_SHAPE_LIMIT = 4096


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


class Decoder:
    """Validate messages and turn them into lines; keeps small caches, one per thread."""

    def __init__(self) -> None:
        self._topics: dict[str, Topic] = {}
        self._id = Ids()
        self._heads: dict[tuple[str, str, str, str], str] = {}
        #: Per kind: the compiled function of each reading shape seen (see ingest.shapes).
        self._shapes: dict[str, dict[tuple[str, ...], LineFunction]] = {k: {} for k in TABLES}
        self._compiled = 0
        self._float_texts: dict[str, dict[float, str]] = {}
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
        # the shortcut knows the measure-table kinds; motion windows always take the contract
        if parsed is not None and parsed.kind in TABLES and len(payload) <= MAX_PAYLOAD_BYTES:
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
    def _fast(self, topic: Topic, payload: bytes) -> Decoded | None:
        """Lines for a plain, valid message, or None to let the contract decide."""
        obj = plain_envelope(topic, payload, self._id)
        if obj is None:
            return None
        device, resident, readings = obj["device"], obj["resident"], obj["readings"]
        kind = topic.kind
        key = (kind, topic.site, resident, device)
        prefix = self._heads.get(key)
        if prefix is None:
            if len(self._heads) >= _CACHE_LIMIT:
                self._heads.clear()
            prefix = self._heads[key] = head(*key)
        lines = self._lines(kind, prefix, readings)
        if lines is None:
            return None
        return Decoded(topic, device, resident, lines, readings[0]["ts"])

    def _lines(self, kind: str, prefix: str, readings: list[Any]) -> list[str] | None:
        """The lines of all readings, or None as soon as one reading needs the contract."""
        shapes = self._shapes[kind]
        out: list[str] = []
        for r in readings:
            if type(r) is not dict:
                return None
            keys = tuple(r)
            line = shapes.get(keys)
            if line is None:
                line = self._compile(kind, keys)
            text = line(r, prefix)
            if text is None:
                return None
            out.append(text)
        return out

    def _compile(self, kind: str, keys: tuple[str, ...]) -> LineFunction:
        """Compile and cache one shape (the cache is emptied when full: garbage shapes)."""
        if self._compiled >= _SHAPE_LIMIT:
            for shapes in self._shapes.values():
                shapes.clear()
            self._compiled = 0
        line = self._shapes[kind][keys] = compile_shape(kind, keys, self._float_texts)
        self._compiled += 1
        return line
