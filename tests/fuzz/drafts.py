"""A message before it goes on the wire, and how it is written as bytes.

A :class:`Draft` is the sender, the topic levels and the JSON body of one message. The
mutations and hostile cases edit drafts (fields, topic levels) or ask for raw JSON text the
``json`` module cannot write (``NaN``, ``1e309``, nesting hundreds deep) through
placeholders, or change the written bytes afterwards (truncation, invalid UTF-8). Topics
of drafts are joined here by hand on purpose: :class:`careloop.wire.Topic` refuses the
invalid levels some mutations need, which is the point of sending them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from careloop.wire.topics import PREFIX
from tests.fuzz.fleet import Member

#: Placeholder values replaced by raw JSON text after encoding.
RAW = "@@raw{}@@"


@dataclass(slots=True)
class Draft:
    """One message being built: topic levels, body, and edits to its text."""

    sender: Member
    kind: str
    body: dict[str, Any]
    site: str = ""
    device: str = ""
    topic_kind: str = ""
    #: Raw JSON text for each placeholder value in the body.
    raw: dict[str, str] = field(default_factory=dict)
    #: Applied to the encoded bytes (truncation, invalid UTF-8...).
    post: Callable[[bytes], bytes] | None = None

    def __post_init__(self) -> None:
        self.site = self.site or self.sender.site
        self.device = self.device or self.sender.device
        self.topic_kind = self.topic_kind or self.kind

    @property
    def readings(self) -> list[Any]:
        """The body's readings (a mutation may have replaced them: then empty)."""
        found = self.body.get("readings")
        return found if isinstance(found, list) else []

    def placeholder(self, text: str) -> str:
        """A value to put in the body that is written as ``text`` (raw JSON)."""
        key = RAW.format(len(self.raw))
        self.raw[key] = text
        return key

    @property
    def topic(self) -> str:
        return f"{PREFIX}/{self.site}/{self.device}/{self.topic_kind}"

    def encode(self, rng: random.Random) -> bytes:
        """The body as JSON bytes, in one of the layouts devices use."""
        style = rng.random()
        ascii_only = rng.random() < 0.5
        if style < 0.75:
            text = json.dumps(self.body, separators=(",", ":"), ensure_ascii=ascii_only)
        elif style < 0.92:
            text = json.dumps(self.body, ensure_ascii=ascii_only)
        else:
            text = json.dumps(self.body, indent=rng.choice([1, 2, "\t"]), ensure_ascii=ascii_only)
        for key, raw in self.raw.items():
            text = text.replace(json.dumps(key), raw)
        if rng.random() < 0.03:
            text = rng.choice([" ", "\n", "\r\n", "\t"]) + text + rng.choice(["", " ", "\n"])
        data = text.encode()
        return self.post(data) if self.post is not None else data


def shuffled(rng: random.Random, mapping: dict[str, Any]) -> dict[str, Any]:
    """``mapping`` with its keys in a random order (devices may send any order)."""
    items = list(mapping.items())
    rng.shuffle(items)
    return dict(items)
