"""Fuzz payloads for the wire, each with the verdict ingest and the scorer must reach.

Three families, built by one seeded :class:`Generator` (same seed, same bytes):

* **valid**: messages from registered devices for their own residents, drawn from the
  measure tables with their edges, in every layout and key order devices use; a few
  reach the far ends of the timestamp window (year 2000, year 2099);
* **mutated**: one valid message with exactly one thing broken (:mod:`tests.fuzz.mutations`);
* **hostile**: messages meant to fool the registry or the limits (:mod:`tests.fuzz.hostile`).

Every payload says what must happen to it: ``ingest`` is ``"stored"`` or the exact
dead-letter reason (``WireError.reason``, ``spoofed``, ``unknown_device``), and ``scorer``
is ``"scored"`` or the scorer's rejection reason; a stored payload lists the points InfluxDB
must then hold. The verdicts come from how each payload was built, never from the code
under test.

Time: readings start at :data:`T0` (in the past) and each device's clock only moves
forward, so no two valid readings of a device share a timestamp (InfluxDB would keep one).
The scorer refuses readings more than ``max_clock_skew`` ahead of its clock; the only
readings that far ahead here are the year-2099 ones, which assumes a test machine's clock
between :data:`T0` and 2090.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from careloop.wire import MAX_PAYLOAD_BYTES, MAX_READINGS
from careloop.wire.schemas import MAX_TS_MS, MIN_TS_MS
from tests.fuzz.drafts import Draft, shuffled
from tests.fuzz.fleet import Fleet, Member
from tests.fuzz.values import REQUIRED, TABLES, reading, stored_fields

Family = Literal["valid", "mutated", "hostile"]
FAMILIES: tuple[Family, ...] = ("valid", "mutated", "hostile")
STORED = "stored"
SCORED = "scored"
#: The scorer's verdict on a topic it does not subscribe to (a kind level it never scores).
UNSEEN = "unseen"
#: Kinds the scorer subscribes to (models.runtime.service.SCORED_KINDS).
SCORER_KINDS = frozenset({"vitals", "event", "utterance", "motion", "status"})
#: The scorer's reason for readings stamped too far ahead of its clock.
TOO_FAR_AHEAD = "too_far_ahead:ts"

#: 2025-11-24 16:00 UTC: every ordinary reading is after it, and in the past.
T0 = 1_764_000_000_000
#: Readings at or after this (2090-01-01) are "far in the future" for the scorer.
FUTURE_MS = 3_786_912_000_000
#: Share of each family after the warm-up.
SHARES: dict[Family, float] = {"valid": 0.45, "mutated": 0.4, "hostile": 0.15}
KINDS = ("vitals", "event", "utterance")
#: Mostly vitals, as devices send: each event or utterance is scored on its own (it
#: flushes the vitals before it), which is what costs the scorer time.
KIND_WEIGHTS = (0.92, 0.04, 0.04)


@dataclass(frozen=True, slots=True)
class Payload:
    """One MQTT message to publish and what must become of it."""

    family: Family
    case: str
    kind: str
    topic: str
    body: bytes
    #: ``"stored"`` or the dead-letter reason.
    ingest: str
    #: ``"scored"`` or the reason the scorer refuses it.
    scorer: str
    site: str
    device: str
    resident: str
    #: ``(event type or "", field, n)``: the points InfluxDB must hold for it.
    points: tuple[tuple[str, str, int], ...] = ()
    readings: int = 0


class Generator:
    """Builds payloads from one seeded random stream; same seed, same bytes."""

    def __init__(self, seed: int, fleet: Fleet) -> None:
        self.rng = random.Random(seed)
        self.fleet = fleet
        registered = fleet.registered
        self._index = {m.device: i for i, m in enumerate(registered)}
        self._clock = {m.device: T0 + i for i, m in enumerate(registered)}
        self._edge: Counter[str] = Counter()
        self._seq: Counter[str] = Counter()

    # -- time and counters -------------------------------------------------------------
    def ts(self, device: str) -> int:
        """The device's next reading time: its clock only moves forward."""
        self._clock[device] = self._clock.get(device, T0) + self.rng.randint(1, 20_000)
        return self._clock[device]

    def edge_ts(self, device: str, future: bool) -> int:
        """A unique time per device at the far end of the contract's window."""
        self._edge[device] += 1
        offset = self._index[device] * 1_000_000 + self._edge[device]
        return MAX_TS_MS - 1 - offset if future else MIN_TS_MS + offset

    def seq(self, device: str) -> int:
        self._seq[device] += 1
        return self._seq[device]

    def count(self) -> int:
        """How many readings a valid message carries: mostly a few, rarely hundreds."""
        pick = self.rng.random()
        if pick < 0.65:
            return 1
        if pick < 0.99:
            return self.rng.randint(2, 4)
        if pick < 0.99995:
            return self.rng.randint(5, 12)
        return self.rng.randint(31, MAX_READINGS)  # a device's backlog after an outage

    def kind(self) -> str:
        return self.rng.choices(KINDS, KIND_WEIGHTS)[0]

    # -- drafts ------------------------------------------------------------------------
    def draft(
        self, sender: Member, kind: str | None = None, n: int | None = None, when: str = ""
    ) -> Draft:
        """A valid message from ``sender`` for its own resident.

        ``when``: "" for ordinary time, ``past``/``future`` for the window's far ends.
        """
        rng = self.rng
        kind = kind or self.kind()
        n = n or self.count()
        readings = []
        for _ in range(n):
            ts = self.edge_ts(sender.device, when == "future") if when else self.ts(sender.device)
            r = reading(rng, kind, ts)
            readings.append(shuffled(rng, r) if rng.random() < 0.2 else r)
        stamp = max(r["ts"] for r in readings)
        if not when and rng.random() < 0.2:
            stamp += rng.randint(0, 5_000)  # sent a moment after the last reading
        body: dict[str, Any] = {"v": 1, "device": sender.device, "resident": sender.resident}
        body.update(seq=self.seq(sender.device), ts=stamp, readings=readings)
        if rng.random() < 0.3:
            del body["v"]  # optional: 1 by default
        if rng.random() < 0.02:
            body["seq"] = rng.randint(2**63, 10**30)  # no upper bound in the contract
        if rng.random() < 0.03:
            body["kind"] = kind  # the contract's own (excluded) field, with its one value
        if rng.random() < 0.03:
            self._add_nulls(kind, readings)
        return Draft(sender, kind, shuffled(rng, body) if rng.random() < 0.1 else body)

    def _add_nulls(self, kind: str, readings: list[dict[str, Any]]) -> None:
        """Explicit nulls for absent optional fields (valid; they store nothing)."""
        for r in readings:
            for m in TABLES[kind]:
                if m.name not in r and m.name not in REQUIRED[kind] and self.rng.random() < 0.3:
                    r[m.name] = None

    def fit(self, d: Draft) -> bytes:
        """Encode ``d``, dropping readings from the end until it is within the size limit."""
        body = d.encode(self.rng)
        while len(body) > MAX_PAYLOAD_BYTES and len(d.readings) > 1:
            del d.readings[max(1, len(d.readings) * 9 // 10) :]
            d.body["ts"] = max(r["ts"] for r in d.readings)
            body = d.encode(self.rng)
        return body

    # -- payloads ----------------------------------------------------------------------
    def stored(self, family: Family, case: str, d: Draft, body: bytes | None = None) -> Payload:
        """A payload both services must accept: its points, and the scorer's verdict."""
        body = self.fit(d) if body is None else body
        points: Counter[tuple[str, str]] = Counter()
        stamps = [d.body["ts"]]
        for r in d.readings:
            stamps.append(r["ts"])
            event_type, fields = stored_fields(d.kind, r)
            points.update((event_type, f) for f in fields)
        ahead = any(ts >= FUTURE_MS for ts in stamps)
        return Payload(
            family, case, d.kind, d.topic, body, STORED, TOO_FAR_AHEAD if ahead else SCORED,
            d.site, d.device, str(d.body["resident"]),
            tuple((t, f, n) for (t, f), n in sorted(points.items())), len(d.readings),
        )  # fmt: skip

    def rejected(
        self, family: Family, case: str, d: Draft, reason: str, body: bytes | None = None
    ) -> Payload:
        """A payload both services must refuse with ``reason`` (or, over the size limit,
        for its size: the contract checks that before anything else, so a mutation that
        also made the message too large, e.g. a huge string, gets that verdict)."""
        body = d.encode(self.rng) if body is None else body
        if len(body) > MAX_PAYLOAD_BYTES:
            reason = "too_large:payload"
        resident = d.body.get("resident")
        scorer = reason if d.topic_kind in SCORER_KINDS else UNSEEN
        return Payload(
            family, case, d.kind, d.topic, body, reason, scorer, d.site, d.device,
            resident if isinstance(resident, str) else "", readings=len(d.readings),
        )  # fmt: skip

    def valid(self, sender: Member | None = None) -> Payload:
        """A valid payload; a few sit at the far ends of the timestamp window."""
        rng = self.rng
        sender = sender or rng.choice(self.fleet.active)
        pick = rng.random()
        if pick < 0.004:
            d = self.draft(sender, n=rng.randint(1, 5), when="past")
            return self.stored("valid", "year_2000", d)
        if pick < 0.008:
            d = self.draft(sender, n=rng.randint(1, 5), when="future")
            return self.stored("valid", "year_2099", d)
        if pick < 0.012:
            d = self.draft(sender, n=rng.randint(2, 6))
            d.readings[-1]["ts"] = self.edge_ts(sender.device, future=True)
            return self.stored("valid", "one_reading_in_2099", d)
        return self.stored("valid", "plain", self.draft(sender))
