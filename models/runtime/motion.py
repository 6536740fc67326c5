"""Posture, lying and fall candidates from worn tags' ``motion`` windows (docs/runtime.md).

One :class:`~models.posture.PostureTracker` per device (a resident may wear more than one
tag; their samples must never be mixed), fed by the device's raw accelerometer windows.
Each window gives a :class:`~models.posture.PostureReading` (posture 4 s before the window's
last sample, lying, confidence, and a fall candidate over the buffered samples), which
reaches the rest of the scorer the way a terminal's own readings do:

* the **posture** becomes a vitals reading ``{"ts", "posture"}`` scored with the others, so
  inactivity, lying out of bed and night walking read it like a terminal's ``posture``;
* a **fall candidate** (a sharp impact out of upright, then at least 10 s lying still:
  :class:`~models.posture.FallRule`) opens the same confirmation window as a
  ``fall_detected`` event, at the impact's time (:meth:`ActivityComponent.fall`). Still
  lying (or no readings) for the resident's ``fall_confirm_s`` after the impact makes it the
  ``fall`` emergency; **not lying** in a later window (sitting or walking) before that is
  "fell and got up", the general ``fall_check_in``, and after the emergency it clears it
  (:meth:`ActivityComponent.got_up`). A candidate is evidence, never an alarm by itself.

A candidate stays in the buffer while the person lies still, so it is found again in the
next windows: only a later impact than the last one reported opens a new fall. A candidate
while a fall is already pending (the terminal's ``fall_detected`` came first) corroborates
it and changes nothing: the confirmation clock keeps running from the first report.

Memory is bounded: a tracker keeps at most 1,024 samples (16 bytes each) and none older than
the features need (~ 3.5 min); a device not heard from for :data:`IDLE_MS` is dropped at the
next tick. Trackers are not in the snapshot: after a restart each device's buffer refills
within a window or two (the pending fall itself is in the engine's table, which is).

Without a usable posture model (missing file, damaged, another version) the scorer runs on
its rules and says so (``careloop_score_posture_model`` 0, :attr:`MotionComponent.status`):
windows give no sitting or walking, but the fall rule needs no model, so a candidate still
opens the fall, and lying or not is read from the tilt of the window's last sample
(:func:`~models.posture.window.rule_reading`; a lying window is scored as ``posture``
lying, which confirms the fall).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from models.base import ModelError
from models.posture import FallRule, PostureModel, PostureReading, PostureTracker
from models.posture import load_posture_model as _load_file
from models.runtime.activity import ActivityComponent
from models.runtime.findings import Finding

log = logging.getLogger(__name__)

#: A device's tracker is dropped when its newest sample is this old (reading time, ms).
IDLE_MS = 10 * 60_000


@lru_cache(maxsize=4)
def _cached(path: Path | None) -> PostureModel:
    return _load_file(path)


def resolve_posture(model: PostureModel | Path | None) -> tuple[PostureModel | None, str]:
    """The posture model and a one-line status; ``None`` = the shipped artefact. A file that
    cannot be used is logged and leaves motion to the fall rule alone (no posture)."""
    if isinstance(model, PostureModel):
        return model, "on: posture model given"
    try:
        loaded = _cached(None if model is None else Path(model))
    except ModelError as exc:
        log.warning("posture model off, motion windows read by the fall rule only: %s", exc)
        return None, f"off: {exc} (rules only)"
    version = loaded.meta.get("version")
    return loaded, f"on: {loaded.meta.get('format')} v{version}, {loaded.n_nodes} nodes"


@dataclass
class _Device:
    tracker: PostureTracker
    #: The latest fall candidate's impact already reported (epoch ms), 0 = none.
    onset: int = 0
    #: The newest sample's time (epoch ms), for :meth:`MotionComponent.expire`.
    newest: int = 0


class MotionComponent:
    """Every worn tag's tracker; :meth:`window` scores one motion window."""

    def __init__(self, model: PostureModel | None, status: str, rule: FallRule | None = None):
        self.model = model
        #: "on: <model>" or "off: <why> (rules only)".
        self.status = status
        self.rule = rule or FallRule()
        self.devices: dict[tuple[int, str], _Device] = {}
        #: Windows scored by the model, windows read by the fall rule alone (no model),
        #: windows the model refused.
        self.scored = 0
        self.unscored = 0
        self.refused = 0

    @property
    def enabled(self) -> bool:
        return self.model is not None

    def window(
        self, table: Any, activity: ActivityComponent, slot: int, device: str,
        window: Mapping[str, Any],
    ) -> tuple[list[Finding], dict[str, Any] | None]:  # fmt: skip
        """One window (a validated ``motion`` reading, as a mapping): the findings it makes
        (got up after a fall) and the posture reading to score as vitals, or None."""
        dev = self.devices.get((slot, device))
        if dev is None:
            tracker = PostureTracker(self.model, self.rule, rules_only=self.model is None)
            dev = self.devices[(slot, device)] = _Device(tracker)
        t = np.asarray(window["t_ms"], dtype=np.float64) + float(window["start"])
        acc = np.asarray(window["acc_mg"], dtype=np.float64) / 1000.0
        peak = window.get("peak_mg")
        try:
            reading = dev.tracker.update(
                t, acc, None if peak is None else np.asarray(peak, dtype=np.float64) / 1000.0
            )
        except ModelError:  # the contract's limits are the model's: should never happen
            self.refused += 1
            return [], None
        if reading is None:  # nothing newer than what the tracker has (a redelivery)
            return [], None
        dev.newest = int(window["ts"])
        found = self._evidence(table, activity, slot, dev, reading)
        if self.model is None:  # the fall rule and tilt only: lying is all it can say
            self.unscored += 1
            return found, ({"ts": reading.ts, "posture": "lying"} if reading.lying else None)
        self.scored += 1
        return found, _posture(reading)

    def _evidence(
        self, table: Any, activity: ActivityComponent, slot: int, dev: _Device, r: PostureReading
    ) -> list[Finding]:
        onset = r.fall_onset_ms
        if r.fall_candidate and onset is not None and onset > dev.onset:
            dev.onset = onset
            if int(table["fall_ts"][slot]) <= 0:  # else it confirms the fall already pending
                activity.fall(table, slot, onset, None, source="motion")
            return []
        if not r.lying:
            return activity.got_up(table, slot, r.ts)
        return []

    def forget(self, slot: int) -> None:
        """Drop a resident's trackers (erasure, retention)."""
        for key in [k for k in self.devices if k[0] == slot]:
            del self.devices[key]

    def expire(self, now: int) -> None:
        """Drop the trackers of devices not heard from for :data:`IDLE_MS`."""
        for key in [k for k, d in self.devices.items() if now - d.newest >= IDLE_MS]:
            del self.devices[key]

    def nbytes(self) -> int:
        """Bytes held for all devices: buffers plus the tracker and bookkeeping objects."""
        return sum(device_nbytes(d) for d in self.devices.values())


def device_nbytes(dev: _Device) -> int:
    """One device's bytes: sample arrays (data and headers) and the small objects around."""
    tr = dev.tracker
    arrays = (tr._t, tr._acc, tr._peak)  # the tracker's own buffers, measured
    return (
        sum(sys.getsizeof(a) for a in arrays)
        + sys.getsizeof(tr)
        + sys.getsizeof(tr.__dict__)
        + sys.getsizeof(dev)
        + sys.getsizeof(dev.__dict__)
    )


def _posture(r: PostureReading) -> dict[str, Any]:
    """The posture as a vitals reading (at the time the model answers for)."""
    return {"ts": r.ts, "posture": r.posture}
