"""Movement and routine: falls confirmed by stillness, not getting up, night wandering,
inactivity, and a silent device told apart from a still person.

All of it reads the movement fields of vitals readings (``steps``, ``activity``,
``posture``, ``bed_occupied``), vectorised over residents, plus two timers evaluated by
:meth:`ActivityComponent.tick` because their evidence is an *absence* of readings:

* **fall**: a ``fall_detected`` event opens a confirmation window; no steps, no upright
  posture and no exertion for the resident's ``fall_confirm_s`` afterwards makes it an
  emergency. Moving again before that is a general check-in instead (and clears the
  emergency if it was raised): :mod:`models.runtime.falls`.
Every threshold a resident's care profile can set (night window, daytime, still-time limits,
walking minutes, wake-up margin, fall confirmation) comes from
:class:`~models.runtime.thresholds.Thresholds`, per resident; the constants below are the
ones no profile changes.

* **device silence**: no vitals from the resident's terminal for ``SILENT_MS``, or its last
  will saying ``offline``: the *device* needs a look (general), which is not the same as
  the *person* being inactive (readings keep coming, none of them moving).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from careloop.wire.needs import Evidence
from models.runtime.columns import STANDING, WALKING, VitalsBatch
from models.runtime.falls import fall_check_in, fall_cleared, fall_confirmed, hhmm, wandering
from models.runtime.findings import Finding, said
from models.runtime.table import Field
from models.runtime.thresholds import Thresholds, in_window

_MIN = 60_000
_HOUR = 60 * _MIN
_DAY = 24 * _HOUR
SILENT_MS = 15 * _MIN
OFFLINE_MS = 5 * _MIN
#: Moving = a step, an upright posture, or this much exertion (MET).
MOVING_MET = 2.0
WAKE_PRIOR_MIN = 7.5 * 60
#: Night walking minutes are leaky, with a half-life of 15 min.
_WALK_DECAY_PER_MIN = 0.5 ** (1 / 15)

#: Status codes kept per resident terminal.
ONLINE, OFFLINE_LOST, OFFLINE_SHUTDOWN = 0, 1, 2


def fields() -> tuple[Field, ...]:
    return (
        Field("first_seen", np.int64, (), 0),
        Field("last_seen", np.int64, (), 0),
        Field("last_move", np.int64, (), 0),
        Field("status", np.int8, (), ONLINE),
        Field("status_ts", np.int64, (), 0),
        Field("silent_raised", np.bool_, (), False),
        Field("in_bed", np.int8, (), -1),
        Field("out_of_bed_since", np.int64, (), 0),
        Field("lying_out_since", np.int64, (), 0),
        Field("got_up_day", np.int32, (), -1),
        Field("wake_mean", np.float32, (), WAKE_PRIOR_MIN),
        Field("wake_var", np.float32, (), 30.0**2),
        Field("wake_n", np.float32, (), 0.0),
        Field("late_raised_day", np.int32, (), -1),
        Field("still_raised", np.bool_, (), False),
        Field("fall_ts", np.int64, (), 0),
        Field("fall_conf", np.float32, (), np.nan),
        Field("fall_raised", np.bool_, (), False),
        Field("night_walk", np.float32, (), 0.0),
        Field("walk_ts", np.int64, (), 0),
        Field("wander_raised", np.int64, (), 0),
    )


class ActivityComponent:
    """Per round of vitals readings; :meth:`tick` for the timers; events via :meth:`fall`."""

    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        #: Slots whose pending fall came from a motion window's fall candidate (wording
        #: only; not in the snapshot: after a restart it reads as a fall event).
        self.from_motion: set[int] = set()

    def step(self, t: Any, b: VitalsBatch, offset_min: NDArray[np.int64]) -> list[Finding]:
        r, ts = b.resident, b.ts
        steps, act, posture = b.col("steps"), b.col("activity"), b.col("posture")
        bed = b.col("bed_occupied")
        with np.errstate(invalid="ignore"):
            moving = (
                (steps > 0) | (posture == WALKING) | (posture == STANDING) | (act >= MOVING_MET)
            )
        local = ts + offset_min * _MIN
        day = (local // _DAY).astype(np.int32)
        minute = ((local % _DAY) // _MIN).astype(np.float32)
        out: list[Finding] = []
        th = self.thresholds

        first = t["first_seen"][r]
        t["first_seen"][r] = np.where(first == 0, ts, first)
        t["last_seen"][r] = ts
        t["status"][r] = ONLINE
        t["silent_raised"][r] = False
        last_move = np.where(moving | (t["last_move"][r] == 0), ts, t["last_move"][r])
        t["last_move"][r] = last_move

        # -- fall confirmation: a pending fall and this reading after it -------------------
        fall_ts = t["fall_ts"][r]
        pending = (fall_ts > 0) & (ts >= fall_ts)
        if pending.any():
            moved = pending & moving
            for i in np.nonzero(moved)[0].tolist():
                out += self.got_up(t, int(r[i]), int(ts[i]))
            confirm = th.get("fall_confirm_s", r)
            due = pending & ~moving & ~t["fall_raised"][r] & (ts - fall_ts >= confirm)
            for i in np.nonzero(due)[0].tolist():
                out.append(self._fall_confirmed(t, int(r[i]), int(ts[i]), "still"))

        # -- bed: getting up in the morning, learning the usual time -------------------------
        known = ~np.isnan(bed)
        was = t["in_bed"][r]
        now_in = np.where(known, bed > 0, was == 1)
        t["in_bed"][r] = np.where(known, now_in.astype(np.int8), was)
        out_since = t["out_of_bed_since"][r]
        t["out_of_bed_since"][r] = np.where(now_in, 0, np.where(out_since == 0, ts, out_since))
        # the first 10 min out of bed after 03:00 on a day counts as getting up
        up_long = ~now_in & (out_since > 0) & (ts - out_since >= 10 * _MIN)
        morning = (minute >= 180) & (minute < 13 * 60)
        new_up = up_long & morning & (t["got_up_day"][r] != day)
        if new_up.any():
            rows = r[new_up]
            got_up_min = minute[new_up] - 10.0
            mean, var, n = t["wake_mean"][rows], t["wake_var"][rows], t["wake_n"][rows]
            alpha = np.maximum(1.0 / (n + 1.0), 1.0 / 14.0)
            delta = got_up_min - mean
            # winsorised so a morning in bed does not teach a late "usual"
            delta = np.clip(delta, -3 * np.sqrt(var) - 10, 3 * np.sqrt(var) + 10)
            t["wake_mean"][rows] = mean + alpha * delta
            t["wake_var"][rows] = (1 - alpha) * (var + alpha * delta * delta)
            t["wake_n"][rows] = n + 1
            t["got_up_day"][rows] = day[new_up]
        # still in bed well past the usual time
        sd = np.sqrt(t["wake_var"][r])
        late_at = t["wake_mean"][r] + np.maximum(th.get("late_margin_min", r), 4 * sd)
        late = (
            now_in
            & (t["wake_n"][r] >= 3)
            & (t["got_up_day"][r] != day)
            & (minute >= late_at)
            & (minute < 14 * 60)
            & (t["late_raised_day"][r] != day)
        )
        for i in np.nonzero(late)[0].tolist():
            slot = int(r[i])
            t["late_raised_day"][slot] = day[i]
            usual = float(t["wake_mean"][slot])
            out.append(
                Finding(
                    slot,
                    "not_out_of_bed",
                    "important",
                    int(ts[i]),
                    int(ts[i]) - int((minute[i] - usual) * _MIN),
                    float((minute[i] - usual) / max(float(sd[i]), 5.0)),
                    said(
                        "summary.not_out_of_bed",
                        time=hhmm(minute[i]),
                        usual=hhmm(usual),
                        sd=round(float(sd[i])),
                        count=int(t["wake_n"][slot]),
                    ),
                    [
                        Evidence(
                            measure="bed_occupied",
                            value=True,
                            baseline=round(usual, 1),
                            baseline_scale=round(float(sd[i]), 1),
                            unit="min",
                            rule="in bed later than usual wake time + max(margin, 4 SD)",
                            ts=int(ts[i]),
                        )
                    ],
                )
            )

        # -- night wandering: walking minutes out of bed at night (leaky) -------------------
        night = in_window(minute, th.get("night_start", r), th.get("night_end", r))
        walk_ts = t["walk_ts"][r]
        dt_min = np.where(walk_ts > 0, np.clip((ts - walk_ts) / _MIN, 0, 10), 0).astype(np.float32)
        walking = night & ~now_in & moving
        acc = t["night_walk"][r] * (_WALK_DECAY_PER_MIN**dt_min) + np.where(walking, dt_min, 0)
        t["night_walk"][r] = acc
        t["walk_ts"][r] = ts
        wander = (
            night & (acc >= th.get("night_walk_min", r)) & (ts - t["wander_raised"][r] > 6 * _HOUR)
        )
        for i in np.nonzero(wander)[0].tolist():
            slot = int(r[i])
            t["wander_raised"][slot] = ts[i]
            out.append(
                wandering(slot, int(ts[i]), "walking", float(acc[i]), minutes=round(float(acc[i])))
            )

        # -- inactivity: still out of bed in the day, or lying still out of bed -------------
        posture_lying = posture == 0
        lying_out = posture_lying & ~now_in & ~moving
        lo_since = t["lying_out_since"][r]
        lo_since = np.where(lying_out, np.where(lo_since == 0, ts, lo_since), 0)
        t["lying_out_since"][r] = lo_since
        daytime = in_window(minute, th.get("day_start", r), th.get("day_end", r))
        still_day, lying_out_ms = th.get("still_day_min", r), th.get("lying_out_min", r)
        # stillness counts from the later of the last movement and getting out of bed
        still_from = np.maximum(last_move, t["out_of_bed_since"][r])
        still_for = ts - still_from
        lying_long = (lo_since > 0) & (ts - lo_since >= lying_out_ms)
        still = (~now_in & daytime & (still_for >= still_day)) | lying_long
        still_raised = t["still_raised"][r]
        t["still_raised"][r] = np.where(moving, False, still_raised | still)
        for i in np.nonzero(still & ~still_raised)[0].tolist():
            slot = int(r[i])
            lying = bool(lying_long[i])
            mins = int((ts[i] - (lo_since[i] if lying else still_from[i])) // _MIN)
            what = "summary.inactivity_what." + ("lying" if lying else "still")
            out.append(
                Finding(
                    slot,
                    "inactivity",
                    "important",
                    int(ts[i]),
                    int(ts[i]) - mins * _MIN,
                    mins / 60.0,
                    said("summary.inactivity", what_msg=what, minutes=mins),
                    [
                        Evidence(
                            measure="last_movement",
                            value=float(mins),
                            unit="min",
                            rule="lying out of bed, or out of bed and still in the daytime, "
                            "longer than the resident's limits (default 30 min, 4 h)",
                            ts=int(ts[i]),
                        )
                    ],
                )
            )
        return out

    # -- events and timers ---------------------------------------------------------------------
    def fall(
        self, t: Any, slot: int, ts: int, confidence: float | None, source: str = "event"
    ) -> None:
        """A ``fall_detected`` event (or a motion ``source``'s fall candidate, at its
        impact): start the confirmation window."""
        t["fall_ts"][slot] = ts
        t["fall_conf"][slot] = np.nan if confidence is None else confidence
        t["fall_raised"][slot] = False
        if source == "motion":
            self.from_motion.add(slot)
        else:
            self.from_motion.discard(slot)

    def got_up(self, t: Any, slot: int, ts: int) -> list[Finding]:
        """Moving (or, from a worn tag, no longer lying) at ``ts`` after a pending fall: the
        general check-in, and the emergency cleared if it was raised; [] if none pending."""
        fell = int(t["fall_ts"][slot])
        if fell <= 0 or ts < fell:
            return []
        source = "motion" if slot in self.from_motion else "event"
        out = [fall_cleared(slot, ts, fell)] if t["fall_raised"][slot] else []
        out.append(fall_check_in(slot, ts, fell, float(t["fall_conf"][slot]), source))
        t["fall_ts"][slot] = 0
        t["fall_raised"][slot] = False
        self.from_motion.discard(slot)
        return out

    def exit_door(self, t: Any, slot: int, ts: int, offset_min: int) -> list[Finding]:
        """An exit door opening: wandering when it is the resident's night."""
        minute = ((ts + offset_min * _MIN) % _DAY) // _MIN
        th = self.thresholds
        if not in_window(minute, th.get("night_start", slot), th.get("night_end", slot)):
            return []
        if ts - int(t["wander_raised"][slot]) <= 6 * _HOUR:
            return []
        t["wander_raised"][slot] = ts
        return [wandering(slot, ts, "door", 3.0, time=hhmm(minute))]

    def status(self, t: Any, slot: int, ts: int, state: str, reason: str | None) -> None:
        """A terminal's birth or last will."""
        if state == "online":
            t["status"][slot] = ONLINE
        else:
            t["status"][slot] = OFFLINE_SHUTDOWN if reason == "shutdown" else OFFLINE_LOST
        t["status_ts"][slot] = ts

    def tick(self, t: Any, rows: int, now: int) -> list[Finding]:
        """Timers whose evidence is silence: falls without readings, silent devices."""
        out: list[Finding] = []
        last = t["last_seen"][:rows]
        fall_ts = t["fall_ts"][:rows]
        confirm = self.thresholds.upto("fall_confirm_s", rows)
        stale_fall = (
            (fall_ts > 0)
            & ~t["fall_raised"][:rows]
            & (now - fall_ts >= 2 * confirm)
            & (last < fall_ts + confirm)
        )
        for slot in np.nonzero(stale_fall)[0].tolist():
            out.append(self._fall_confirmed(t, slot, now, "silent"))
        status = t["status"][:rows]
        silent = (last > 0) & (now - last >= SILENT_MS)
        offline = (status != ONLINE) & (now - t["status_ts"][:rows] >= OFFLINE_MS)
        due = (silent | offline) & ~t["silent_raised"][:rows]
        for slot in np.nonzero(due)[0].tolist():
            t["silent_raised"][slot] = True
            mins = int((now - last[slot]) // _MIN)
            st = int(status[slot])
            said_why = {ONLINE: "online", OFFLINE_LOST: "lost", OFFLINE_SHUTDOWN: "shutdown"}[st]
            out.append(
                Finding(
                    slot,
                    "device_silent",
                    "general",
                    now,
                    int(last[slot]),
                    mins / 60.0,
                    said(
                        "summary.device_silent",
                        why_msg=f"summary.device_why.{said_why}",
                        minutes=mins,
                    ),
                    [
                        Evidence(
                            measure="last_reading",
                            value=float(mins),
                            unit="min",
                            rule="no vitals for 15 min, or offline for 5 min",
                            ts=int(last[slot]),
                        )
                    ],
                )
            )
        return out

    def _fall_confirmed(self, t: Any, slot: int, ts: int, how: str) -> Finding:
        t["fall_raised"][slot] = True
        confirm = int(np.asarray(self.thresholds.get("fall_confirm_s", slot)))
        fell, conf = int(t["fall_ts"][slot]), float(t["fall_conf"][slot])
        source = "motion" if slot in self.from_motion else "event"
        return fall_confirmed(slot, ts, fell, conf, how, confirm, source)
