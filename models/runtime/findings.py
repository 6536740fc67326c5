"""A finding: one rule's verdict about one resident, before fusion makes it a need."""

from __future__ import annotations

from dataclasses import dataclass, field

from careloop.i18n.summary import render_summary
from careloop.wire.needs import Evidence

Arg = str | int | float


@dataclass(frozen=True, slots=True)
class Said:
    """What a finding says to a volunteer: a ``summary.`` catalog key and its arguments
    (numbers, times, identifiers; never the resident's words), rendered in each reader's
    language (:mod:`careloop.i18n.summary`). ``english`` is the wire's ``summary``, made
    from the English catalog, so the wording lives in one place."""

    key: str
    args: dict[str, Arg] = field(default_factory=dict)

    @property
    def english(self) -> str:
        text = render_summary("en", self.key, self.args)
        if not text:  # a key the catalogs lack: a programming error, loud in the tests
            raise KeyError(f"no English summary for {self.key!r} with {sorted(self.args)}")
        return text[:600]


def said(key: str, **args: Arg) -> Said:
    """``said("summary.fall_cleared")``: a finding's words as a catalog key and arguments."""
    return Said(key, args)


@dataclass(slots=True)
class Finding:
    """``slot`` is the resident's row; ``kind``/``tier`` as in :mod:`careloop.wire.needs`.

    ``cleared`` says the condition behind an earlier finding of this kind has gone (the
    resident got up after a fall); ``reminder`` marks a care-plan nudge before a miss.
    ``said`` is the explanation as catalog text; ``summary`` its English rendering.
    """

    slot: int
    kind: str
    tier: str
    ts: int
    onset: int
    score: float
    said: Said
    evidence: list[Evidence] = field(default_factory=list)
    cleared: bool = False
    reminder: bool = False

    @property
    def summary(self) -> str:
        return self.said.english
