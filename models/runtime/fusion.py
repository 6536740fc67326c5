"""Fusion: findings from every rule become care needs, one per resident and kind at a time.

* **One need per (resident, kind)**: while a need is open, further findings of that kind are
  merged into it. It is re-published (``state="update"``) only when its tier rises, so a
  volunteer is paged once per episode, not once per reading.
* **Updates of the same need**: for :data:`UPDATED` kinds (what a resident says: low mood,
  agitation) each further finding while the need is open is published as an update of the
  same need (same id, evidence appended), so the alert follows what was said since.
* **Grouping across kinds**: a finding on a resident who already has an open *emergency*
  need within ``GROUP_MS`` (a fall, then a call for help a minute later) is added to that
  need's evidence as an update instead of becoming a second page.
* **One vital-sign episode, one page**: a vital-sign finding no more urgent than an open
  NEWS2 red-score need of the resident within ``GROUP_MS`` (a pulse of 140 is red at 2 min
  and "out of range" at 4 min) joins that need the same way.
* **Cooldown**: an open need is forgotten ``COOLDOWN_MS[tier]`` after its last finding; a
  new finding after that is a new episode with a new id.
* **Cleared**: a rule saying its condition ended (moving again after a fall) publishes
  ``state="cleared"``; the alert service decides what that means for its alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from careloop.wire.needs import MAX_ARGS, NEED_KINDS, TIER_RANK, Evidence, NeedMessage
from models.runtime.findings import Finding
from models.runtime.residents import Slots
from models.state import State, StateReader

_MIN = 60_000
GROUP_MS = 15 * _MIN
COOLDOWN_MS: dict[str, int] = {
    "emergency": 60 * _MIN,
    "important": 6 * 60 * _MIN,
    "general": 12 * 60 * _MIN,
    "emotional": 12 * 60 * _MIN,
}
#: Kinds that are never grouped into another need (they are their own action).
_SOLO = {"care_plan_reminder", "missed_care_plan", "device_silent"}
#: Kinds whose every further finding updates the open need (the speech component emits
#: them only for clear signals, so these are a handful per episode).
UPDATED = frozenset({"low_mood", "agitation"})
#: Vital-sign kinds that join an open red-score need when no more urgent than it.
_VITAL_KINDS = {
    "heart_rate_abnormal",
    "fever",
    "vitals_deteriorating",
    "deterioration_risk",
    "hypoxia",
    "hypertensive_crisis",
    "vitals_critical",
}


@dataclass(slots=True)
class OpenNeed:
    id: str
    kind: str
    tier: str
    onset: int
    last: int
    evidence: list[Evidence] = field(default_factory=list)
    summary: str = ""
    #: ``summary`` as catalog text (models/runtime/findings.py ``Said``), or None.
    summary_key: str | None = None
    summary_args: dict[str, Any] = field(default_factory=dict)

    def say(self, f: Finding) -> None:
        """Take ``f``'s words (a new tier, fresher evidence)."""
        self.summary, self.summary_key, self.summary_args = f.summary, f.said.key, f.said.args

    def also(self, f: Finding) -> None:
        """``f`` merged into this need: its words appended (English), its kind named (catalog
        text: ``also``, see careloop/i18n/summary.py)."""
        self.summary = f"{self.summary} Also: {f.summary}"[:600]
        kinds = [k for k in str(self.summary_args.get("also", "")).split(",") if k]
        also = ",".join([*kinds, f.kind])
        if f.kind not in kinds and len(also) <= 64 and len(self.summary_args) < MAX_ARGS:
            self.summary_args = {**self.summary_args, "also": also}


class Fusion:
    """Turns findings into :class:`~careloop.wire.needs.NeedMessage` objects."""

    def __init__(self, directory: Slots) -> None:
        self.directory = directory
        self.open: dict[tuple[int, str], OpenNeed] = {}

    def state(self) -> State:
        """The open needs, as JSON (their evidence as on the wire)."""
        needs = [
            {
                "slot": slot,
                "kind": need.kind,
                "id": need.id,
                "tier": need.tier,
                "onset": need.onset,
                "last": need.last,
                "summary": need.summary,
                "summary_key": need.summary_key,
                "summary_args": need.summary_args,
                "evidence": [e.model_dump(mode="json") for e in need.evidence],
            }
            for (slot, _), need in self.open.items()
        ]
        return {"open": needs}, {}

    def load_state(self, state: StateReader, residents: Sequence[tuple[str, str]]) -> None:
        """Take back :meth:`state`; ``residents`` are the snapshot's ``(site, id)`` by slot.
        Each need must be one the wire contract accepts, so a doctored file cannot make a
        later update fail to publish."""
        open_needs: dict[tuple[int, str], OpenNeed] = {}
        for r in state.records("open"):
            slot = r.integer("slot", 0, len(residents) - 1)
            need = OpenNeed(
                id=r.text("id"),
                kind=r.text("kind"),
                tier=r.text("tier"),
                onset=r.integer("onset"),
                last=r.integer("last"),
                summary=r.text("summary"),
                summary_key=r.doc.get("summary_key"),  # absent in state from older versions
                summary_args=r.doc.get("summary_args") or {},
            )
            site, resident = residents[slot]
            try:
                need.evidence = [Evidence.model_validate(e) for e in r.items("evidence")]
                NeedMessage(
                    id=need.id, site=site, resident=resident, kind=need.kind, tier=need.tier,
                    ts=need.last, onset=need.onset, score=0.0, summary=need.summary,
                    summary_key=need.summary_key, summary_args=need.summary_args or None,
                    evidence=need.evidence,
                )  # fmt: skip
            except ValidationError as exc:
                r.fail(f"{r.path[:-1]} is not a valid need: {exc.errors()[0]['msg']}")
            if (slot, need.kind) in open_needs:
                r.fail(f"two open {need.kind} needs for slot {slot}")
            open_needs[(slot, need.kind)] = need
        self.open = open_needs

    def fuse(self, findings: list[Finding]) -> list[NeedMessage]:
        out: list[NeedMessage] = []
        for f in sorted(findings, key=lambda f: f.ts):
            msg = self._one(f)
            if msg is not None:
                out.append(msg)
        return out

    def _one(self, f: Finding) -> NeedMessage | None:
        key = (f.slot, f.kind)
        need = self.open.get(key)
        if need is not None and f.ts - need.last > COOLDOWN_MS[need.tier]:
            del self.open[key]
            need = None
        if f.cleared:
            if need is None:
                return None
            del self.open[key]
            return self._message(f.slot, need, f, state="cleared")
        if need is not None:
            need.last = f.ts
            if TIER_RANK[f.tier] < TIER_RANK[need.tier]:
                need.tier = f.tier
                need.evidence = (f.evidence + need.evidence)[:20]
                need.say(f)
                return self._message(f.slot, need, f, state="update")
            if f.kind in UPDATED:
                need.evidence = (need.evidence + f.evidence)[-20:]
                need.say(f)
                return self._message(f.slot, need, f, state="update")
            return None
        if f.kind not in _SOLO and not f.reminder:
            host = self._emergency_host(f) or self._red_host(f)
            if host is not None:
                host.last = f.ts
                host.evidence = (host.evidence + f.evidence)[-20:]
                host.also(f)
                return self._message(f.slot, host, f, state="update")
        resident = self.directory.residents[f.slot]
        need = OpenNeed(
            id=f"{resident.id}:{f.kind}:{f.onset}",
            kind=f.kind,
            tier=f.tier,
            onset=f.onset,
            last=f.ts,
            evidence=list(f.evidence)[:20],
        )
        need.say(f)
        if not f.reminder:
            self.open[key] = need
        return self._message(f.slot, need, f, state="open")

    def _emergency_host(self, f: Finding) -> OpenNeed | None:
        for kind in NEED_KINDS:
            need = self.open.get((f.slot, kind))
            if (
                need is not None
                and kind != f.kind
                and kind not in _SOLO
                and need.tier == "emergency"
                and f.ts - need.last <= GROUP_MS
            ):
                return need
        return None

    def _red_host(self, f: Finding) -> OpenNeed | None:
        need = self.open.get((f.slot, "vitals_red_score"))
        if (
            need is not None
            and f.kind in _VITAL_KINDS
            and TIER_RANK[f.tier] >= TIER_RANK[need.tier]
            and f.ts - need.last <= GROUP_MS
        ):
            return need
        return None

    def _message(self, slot: int, need: OpenNeed, f: Finding, *, state: str) -> NeedMessage:
        resident = self.directory.residents[slot]
        return NeedMessage(
            id=need.id,
            site=resident.site,
            resident=resident.id,
            kind=need.kind,
            tier=need.tier,
            state=state,
            reminder=f.reminder,
            ts=f.ts,
            onset=need.onset,
            score=max(0.0, float(f.score)),
            summary=(f.summary if state == "cleared" else need.summary)[:600],
            summary_key=f.said.key if state == "cleared" else need.summary_key,
            summary_args=(f.said.args if state == "cleared" else need.summary_args) or None,
            evidence=need.evidence[:20],
            language=resident.profile.language,
        )

    def expire(self, now: int) -> None:
        """Forget needs whose cooldown has passed (keeps the open set small)."""
        for key in [k for k, n in self.open.items() if now - n.last > COOLDOWN_MS[n.tier]]:
            del self.open[key]
