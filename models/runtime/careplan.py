"""Care plans: what should happen for a resident, and when it did not.

A resident's :class:`~people.profile.CareProfile` (people data, owned by :mod:`people`)
lists :class:`~people.profile.Expectation` items ("daily check-up around 09:30",
"medication after breakfast", "video call with grandson every Wednesday at 18:00"),
each fulfilled by an event type on the wire (``checkup_done``, ``medication_taken``,
``video_call``). For every occurrence the planner raises a **reminder** ``remind_before_min``
before its window closes if it has not happened yet, and a **need** (``missed_care_plan``)
when the window closes without it. Occurrences before the resident was first seen are never
judged, so a restart or a new resident does not flood the board with old misses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from careloop.wire.needs import Evidence
from models.runtime.findings import Finding
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

    def tick(self, slot: int, profile: CareProfile, now: int, first_seen: int) -> list[Finding]:
        """Reminders and misses due at ``now`` for one resident."""
        if not profile.expectations or first_seen <= 0:
            return []
        off = profile.utc_offset_min * _MIN
        today = (now + off) // _DAY
        out: list[Finding] = []
        for exp, prog in zip(profile.expectations, self._of(slot, profile), strict=True):
            for day in (today - 1, today):
                if not exp.occurs_on(day):
                    continue
                opens = day * _DAY + exp.open_min * _MIN - off
                closes = opens + exp.window_min * _MIN
                if opens < first_seen or now < opens:
                    continue
                # early by up to half the window still counts (a check-up a bit ahead of time)
                done = any(opens - exp.window_min * _MIN // 2 <= d < closes for d in prog.done)
                if done:
                    continue
                remind_at = closes - exp.remind_before_min * _MIN
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
        minutes = exp.window_min
        if reminder:
            left = max(0, (closes - now) // _MIN)
            summary = (
                f"Reminder: {exp.name} is due (from {exp.at}, {minutes} min window) and has "
                f"not happened yet; {left} min left."
            )
        else:
            summary = (
                f"Missed: {exp.name} was due at {exp.at} and did not happen within {minutes} min."
            )
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
