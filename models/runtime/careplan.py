"""Care plans: what should happen for a resident, and when it did not.

A resident's :class:`~people.profile.CareProfile` (people data, owned by :mod:`people`)
lists :class:`~people.profile.Expectation` items ("daily check-up around 09:30",
"medication after breakfast", "video call with grandson every Wednesday at 18:00"),
each fulfilled by an event type on the wire (``checkup_done``, ``medication_taken``,
``video_call``), of any period (daily, weekly, every 90 days with a 14-day window, yearly).
For every occurrence the planner raises a **reminder** ``remind_before_min`` before its
window closes (at the earliest when it opens) if it has not happened yet, and a **need**
(``missed_care_plan``) when the window closes without it. The alert service speaks the
reminder on the resident's device (alerts/reminders.py); the resident's spoken "I took it"
(:func:`careloop.i18n.confirm.is_confirmation`) after a reminder fulfils the occurrence like
the event would. Occurrences before the resident was first seen are never judged, so a
restart or a new resident does not flood the board with old misses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from careloop.i18n.confirm import confirmed_event, is_confirmation
from careloop.wire.needs import Evidence
from models.runtime.findings import Finding, said
from models.state import State, StateReader, ragged
from people.profile import CareProfile, Expectation

_MIN = 60_000
_DAY = 1440 * _MIN
#: Fulfilling events remembered per expectation (the newest).
_REMEMBERED = 8


@dataclass(slots=True)
class _Progress:
    """Per resident and expectation: the last fulfilling event and what was already said."""

    done: list[int] = field(default_factory=list)
    #: Local day of the last occurrence reminded about / flagged as missed.
    reminded: int = -(2**31)
    missed: int = -(2**31)


class CarePlanner:
    """Reminders and misses for every resident with a care plan."""

    def __init__(self) -> None:
        self.progress: dict[int, list[_Progress]] = {}

    def state(self) -> State:
        """One row per resident and expectation, in order: the days already reminded about
        and flagged, and the remembered fulfilling events."""
        rows = [(slot, p) for slot in sorted(self.progress) for p in self.progress[slot]]
        arrays = {
            "slot": np.array([s for s, _ in rows], dtype=np.int64),
            "reminded": np.array([p.reminded for _, p in rows], dtype=np.int64),
            "missed": np.array([p.missed for _, p in rows], dtype=np.int64),
            **ragged("done", [p.done for _, p in rows], np.int64),
        }
        return {}, arrays

    def load_state(self, state: StateReader, residents: int) -> None:
        """Take back :meth:`state` (``residents`` slots in the engine); all checked first."""
        slots = state.indices("slot", residents, unique=False)
        n = len(slots)
        reminded = state.array("reminded", np.int64, (n,)).tolist()
        missed = state.array("missed", np.int64, (n,)).tolist()
        done = state.ragged("done", np.int64, n, _REMEMBERED)
        progress: dict[int, list[_Progress]] = {}
        for i, slot in enumerate(slots):
            progress.setdefault(slot, []).append(
                _Progress(done[i].tolist(), reminded[i], missed[i])
            )
        self.progress = progress

    def _of(self, slot: int, profile: CareProfile) -> list[_Progress]:
        got = self.progress.get(slot)
        if got is None or len(got) != len(profile.expectations):
            got = self.progress[slot] = [_Progress() for _ in profile.expectations]
        return got

    def event(self, slot: int, profile: CareProfile, event_type: str, ts: int) -> None:
        """An event arrived: remember it for the expectations it fulfils."""
        for exp, prog in zip(profile.expectations, self._of(slot, profile), strict=True):
            if exp.event == event_type:
                prog.done.append(ts)
                del prog.done[:-_REMEMBERED]

    def confirm(self, slot: int, profile: CareProfile, text: str | None, ts: int) -> int:
        """The resident said they did it ("吃過藥了", "I took it"): every occurrence already
        reminded about and not yet done counts as done (only those of the named event when
        the words name one: "吃過藥了" confirms the medicine, not the check-up). Returns how
        many it closed; words that are no confirmation close nothing."""
        if not text or not profile.expectations or not is_confirmation(text):
            return 0
        named = confirmed_event(text)
        off = profile.utc_offset_min * _MIN
        today = (ts + off) // _DAY
        closed = 0
        for exp, prog in zip(profile.expectations, self._of(slot, profile), strict=True):
            if named is not None and exp.event != named:
                continue
            for day in exp.occurrences(today):
                opens = day * _DAY + exp.open_min * _MIN - off
                closes = opens + exp.window_ms
                waiting = prog.reminded == day and prog.missed < day and opens <= ts < closes
                if waiting and not any(opens <= d < closes for d in prog.done):
                    prog.done.append(ts)
                    del prog.done[:-_REMEMBERED]
                    closed += 1
        return closed

    def tick(self, slot: int, profile: CareProfile, now: int, first_seen: int) -> list[Finding]:
        """Reminders and misses due at ``now`` for one resident."""
        if not profile.expectations or first_seen <= 0:
            return []
        off = profile.utc_offset_min * _MIN
        today = (now + off) // _DAY
        out: list[Finding] = []
        for exp, prog in zip(profile.expectations, self._of(slot, profile), strict=True):
            for day in exp.occurrences(today):
                opens = day * _DAY + exp.open_min * _MIN - off
                closes = opens + exp.window_ms
                if opens < first_seen or now < opens:
                    continue
                # early by up to half the window still counts (a check-up a bit ahead of time)
                done = any(opens - exp.window_ms // 2 <= d < closes for d in prog.done)
                if done:
                    continue
                remind_at = max(opens, closes - exp.remind_before_min * _MIN)
                if exp.remind_before_min > 0 and remind_at <= now < closes and prog.reminded < day:
                    prog.reminded = day
                    out.append(self._finding(slot, exp, now, opens, closes, reminder=True))
                if now >= closes and prog.missed < day:
                    prog.missed = day
                    out.append(self._finding(slot, exp, now, opens, closes, reminder=False))
        return out

    def _finding(
        self, slot: int, exp: Expectation, now: int, opens: int, closes: int, *, reminder: bool
    ) -> Finding:
        minutes = exp.window_ms // _MIN
        if reminder:
            left = max(0, (closes - now) // _MIN)
            summary = said(
                "summary.care_plan_reminder", name=exp.name[:64], at=exp.at, window=minutes,
                left=left,
            )  # fmt: skip
        else:
            summary = said("summary.missed_care_plan", name=exp.name[:64], at=exp.at,
                           window=minutes)  # fmt: skip
        return Finding(
            slot,
            "care_plan_reminder" if reminder else "missed_care_plan",
            exp.tier,
            now,
            opens,
            0.5 if reminder else 1.0,
            summary,
            [
                Evidence(
                    measure=exp.event,
                    value=False,
                    rule=f"care plan: {exp.name[:60]} at {exp.at}, window {minutes} min",
                    ts=opens,
                )
            ],
            reminder=reminder,
        )
