"""Batches: the unit that is written, spooled and acknowledged together.

The MQTT thread adds every message it receives to the open batch: good messages as lines of
line protocol, rejected ones as dead letters, and, for both, the packet id to acknowledge.
A batch is sealed when it holds ``max_messages`` messages or ``max_readings`` lines, when it
is ``max_delay`` old, or when the connection drops (a packet id means nothing on another
connection, so a batch never spans two). Sealed batches go to the writer threads; their
messages are acknowledged only after the writer made the whole batch durable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ingest.deadletters import DeadLetter


@dataclass(slots=True)
class Batch:
    """Messages received together on one connection (``generation``)."""

    seq: int
    generation: int
    created: float = field(default_factory=time.monotonic)
    #: Packet ids of QoS 1 messages, to PUBACK once the batch is durable.
    acks: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    #: For each message with lines: the index in ``lines`` just after its last line...
    bounds: list[int] = field(default_factory=list)
    #: ...and its topic and raw payload, to dead-letter it if InfluxDB refuses its points.
    sources: list[tuple[str, bytes]] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    messages: int = 0
    #: Device time (epoch ms) of the oldest reading, for the lag metric.
    oldest_ts: int | None = None
    #: Set by the writer once everything in the batch is durable (or dead-lettered).
    done: bool = False
    #: Progress markers so a writer retrying after a full spool does no step twice.
    dead_stored: bool = False
    #: With several InfluxDB shards: the batch's lines cut by shard (:mod:`ingest.router`),
    #: each part marked ``done`` once durable, so a retry rewrites no shard's part.
    parts: dict[str, Batch] | None = None

    def add(
        self, mid: int, qos: int, topic: str, payload: bytes, lines: list[str], ts: int
    ) -> None:
        """A valid message and its points."""
        self.messages += 1
        if qos:
            self.acks.append(mid)
        if lines:
            self.lines.extend(lines)
            self.bounds.append(len(self.lines))
            self.sources.append((topic, payload))
        if self.oldest_ts is None or ts < self.oldest_ts:
            self.oldest_ts = ts

    def reject(self, mid: int, qos: int, letter: DeadLetter) -> None:
        """A message to dead-letter."""
        self.messages += 1
        if qos:
            self.acks.append(mid)
        self.dead.append(letter)

    def skip(self, mid: int, qos: int) -> None:
        """A message that is not for ingest: acknowledged, nothing stored."""
        self.messages += 1
        if qos:
            self.acks.append(mid)

    def units(self) -> list[tuple[list[str], tuple[str, bytes]]]:
        """The lines of each message with its source, for splitting a refused write."""
        out = []
        start = 0
        for end, source in zip(self.bounds, self.sources, strict=True):
            out.append((self.lines[start:end], source))
            start = end
        return out

    def part(self, units: list[tuple[list[str], tuple[str, bytes]]]) -> Batch:
        """A batch of some of this one's messages' lines (no acks, no dead letters: those
        stay with this batch)."""
        part = Batch(self.seq, self.generation, self.created)
        for lines, source in units:
            part.lines.extend(lines)
            part.bounds.append(len(part.lines))
            part.sources.append(source)
        return part

    def body(self) -> bytes:
        """The /write body."""
        return "\n".join(self.lines).encode()

    def __bool__(self) -> bool:
        return self.messages > 0
