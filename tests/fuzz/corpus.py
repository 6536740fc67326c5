"""The whole fuzz corpus: the seeded payload list and what the services must end up with.

:func:`generate` lays out the payloads (a warm-up of one ordinary message per active device,
then the three families shuffled together); :class:`Expected` adds up their verdicts into
what can be compared with the services afterwards: points per InfluxDB series and field,
dead letters by reason (and one by one), the scorer's rejections and readings, and the
residents the scorer may hold.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ingest.deadletters import MAX_PAYLOAD, MAX_TOPIC
from tests.fuzz.fleet import Fleet
from tests.fuzz.hostile import hostile
from tests.fuzz.mutations import mutated
from tests.fuzz.payloads import SCORED, SHARES, STORED, UNSEEN, Family, Generator, Payload

#: An InfluxDB series as the fuzz test counts it: (measurement, site, resident, device,
#: event type or "").
Series = tuple[str, str, str, str, str]
#: A dead letter as it can be matched to its payload: topic and payload cut to what the
#: store keeps, the reason, the full size.
Letter = tuple[str, str, bytes, int]


def generate(seed: int, total: int, fleet: Fleet | None = None) -> list[Payload]:
    """``total`` payloads: first one ordinary valid message per active device (the
    warm-up: every active resident is known before anything hostile arrives), then the
    three families shuffled together in the proportions of :data:`SHARES`."""
    fleet = fleet or Fleet.build()
    g = Generator(seed, fleet)
    out = [g.stored("valid", "warm_up", g.draft(m)) for m in fleet.active]
    left = total - len(out)
    plan: list[Family] = []
    for family in ("mutated", "hostile"):
        plan += [family] * round(left * SHARES[family])
    plan += ["valid"] * (left - len(plan))
    g.rng.shuffle(plan)
    for family in plan:
        if family == "valid":
            out.append(g.valid())
        elif family == "mutated":
            out.append(mutated(g))
        else:
            out.append(hostile(g))
    return out


def letter(topic: str, reason: str, payload: bytes, size: int) -> Letter:
    """A dead letter's identity, cut the way :class:`ingest.DeadLetter` cuts it."""
    return topic[:MAX_TOPIC], reason[:MAX_TOPIC], bytes(payload[:MAX_PAYLOAD]), size


@dataclass
class Expected:
    """What the services must have done with a list of payloads."""

    total: int = 0
    families: Counter[str] = field(default_factory=Counter)
    cases: Counter[str] = field(default_factory=Counter)
    stored_messages: int = 0
    stored_readings: int = 0
    points: dict[Series, Counter[str]] = field(default_factory=dict)
    dead: Counter[str] = field(default_factory=Counter)
    letters: Counter[Letter] = field(default_factory=Counter)
    scorer_rejected: Counter[str] = field(default_factory=Counter)
    scored: Counter[str] = field(default_factory=Counter)
    #: Payloads on topics the scorer does not subscribe to.
    unseen: int = 0
    residents: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def of(cls, payloads: list[Payload]) -> Expected:
        e = cls()
        for p in payloads:
            e.add(p)
        return e

    def add(self, p: Payload) -> None:
        self.total += 1
        self.families[p.family] += 1
        self.cases[f"{p.family}/{p.case}"] += 1
        if p.ingest == STORED:
            self.stored_messages += 1
            self.stored_readings += p.readings
            for event_type, name, n in p.points:
                series = (p.kind, p.site, p.resident, p.device, event_type)
                self.points.setdefault(series, Counter())[name] += n
        else:
            self.dead[p.ingest] += 1
            self.letters[letter(p.topic, p.ingest, p.body, len(p.body))] += 1
        if p.scorer == SCORED:
            self.scored[p.kind] += p.readings
            self.residents.add((p.site, p.resident))
        elif p.scorer == UNSEEN:
            self.unseen += 1
        else:
            self.scorer_rejected[p.scorer] += 1

    def summary(self) -> dict[str, Any]:
        """The counts worth quoting, as plain JSON-able values."""
        return {
            "total": self.total,
            "families": dict(self.families),
            "stored_messages": self.stored_messages,
            "stored_readings": self.stored_readings,
            "dead_lettered": sum(self.dead.values()),
            "dead_lettered_by_reason": dict(self.dead.most_common()),
            "scorer_received": self.total - self.unseen,
            "scorer_rejected_by_reason": dict(self.scorer_rejected.most_common()),
            "scorer_readings_by_kind": dict(self.scored),
            "scorer_residents": len(self.residents),
            "cases": dict(sorted(self.cases.items())),
        }
