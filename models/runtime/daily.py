"""Slow decline: each resident's day summed in arrays, judged at day's end by the CUSUM.

The per-reading work (which readings count towards resting heart rate, daytime activity and
night in bed) is :func:`models.decline.daily_terms` over the whole round; when a resident's
care day changes, the closed day goes to that resident's
:class:`~models.decline.DeclineDetector` (one small object per resident, made on the first
closed day), which owns the baseline and the CUSUM.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from careloop.wire.needs import Evidence
from models.decline import AGGREGATES, DeclineDetector, care_day, daily_terms
from models.runtime.columns import VitalsBatch
from models.runtime.findings import Finding, said
from models.runtime.table import Field
from models.state import State, StateReader, nest, stack

_MIN = 60_000
#: CUSUM (baseline SDs accumulated over days) at which a decline becomes a need.
THRESHOLD = 5.0


def fields() -> tuple[Field, ...]:
    return (
        Field("day", np.int32, (), -1),
        Field("day_sum", np.float32, (len(AGGREGATES),), 0.0),
        Field("day_cnt", np.float32, (len(AGGREGATES),), 0.0),
    )


class DailyComponent:
    """Accumulates days; keeps one DeclineDetector per resident that has closed a day."""

    def __init__(self) -> None:
        self.detectors: dict[int, DeclineDetector] = {}
        self.raised: dict[int, int] = {}

    def state(self) -> State:
        """Every resident's DeclineDetector stacked (one row each), and the last need days."""
        slots = sorted(self.detectors)
        detectors = [self.detectors[s].state() for s in slots]
        doc, arrays = nest({}, {"detector": stack(detectors, DeclineDetector().state())})
        raised = sorted(self.raised.items())
        arrays |= {
            "slot": np.array(slots, dtype=np.int64),
            "raised_slot": np.array([s for s, _ in raised], dtype=np.int64),
            "raised_day": np.array([d for _, d in raised], dtype=np.int64),
        }
        return doc, arrays

    def load_state(self, state: StateReader, residents: int) -> None:
        """Take back :meth:`state` on a fresh component (``residents`` slots in the engine)."""
        rows = state.scope("detector").rows()
        detectors: dict[int, DeclineDetector] = {}
        for slot, row in zip(state.indices("slot", residents, len(rows)), rows, strict=True):
            detectors[slot] = det = DeclineDetector()
            det.load_state(row)
        raised = state.indices("raised_slot", residents)
        days = state.array("raised_day", np.int64, (len(raised),)).tolist()
        self.detectors = detectors
        self.raised = dict(zip(raised, days, strict=True))

    def step(self, t: Any, b: VitalsBatch, offset_min: NDArray[np.int64]) -> list[Finding]:
        r, ts = b.resident, b.ts
        day = care_day(ts, offset_min).astype(np.int32)
        prev = t["day"][r]
        out: list[Finding] = []
        closing = (prev >= 0) & (day > prev)
        for i in np.nonzero(closing)[0].tolist():
            out.extend(self._close(t, int(r[i]), int(prev[i]), int(ts[i])))
        changed = day != prev
        if changed.any():
            rows = r[changed]
            t["day_sum"][rows] = 0.0
            t["day_cnt"][rows] = 0.0
        t["day"][r] = np.maximum(prev, day)
        hour = ((ts + offset_min * _MIN) % (1440 * _MIN)) / (60 * _MIN)
        sums, counts = daily_terms(
            hour.astype(np.float64),
            b.col("heart_rate").astype(np.float64),
            b.col("activity").astype(np.float64),
            b.col("bed_occupied").astype(np.float64),
            rest_met=1.4,
        )
        current = day >= prev
        t["day_sum"][r] += np.where(current[:, None], sums, 0.0).astype(np.float32)
        t["day_cnt"][r] += np.where(current[:, None], counts, 0.0).astype(np.float32)
        return out

    def _close(self, t: Any, slot: int, day: int, ts: int) -> list[Finding]:
        det = self.detectors.get(slot)
        if det is None:
            det = self.detectors[slot] = DeclineDetector()
        det.close_day(
            day, t["day_sum"][slot].astype(np.float64), t["day_cnt"][slot].astype(np.float64)
        )
        score = det.score_one({})
        if score < THRESHOLD or self.raised.get(slot, -10) >= day - 3:
            return []
        self.raised[slot] = day
        evidence = det.evidence()
        worst = sorted(evidence.items(), key=lambda kv: -kv[1])
        shown = [(name, v) for name, v in worst if v >= 1.0][:3]
        args = {f"{name}_cusum": round(v, 1) for name, v in shown}
        return [
            Finding(
                slot,
                "slow_decline",
                "general",
                ts,
                ts - 3 * 1440 * _MIN,
                float(score),
                said(
                    "summary.slow_decline",
                    parts=",".join(f"decline:{name}" for name, _ in shown),
                    **args,
                ),
                [
                    Evidence(
                        measure=name,
                        value=round(v, 2),
                        rule=f"one-sided CUSUM of daily aggregates >= {THRESHOLD}",
                    )
                    for name, v in worst
                ],
            )
        ]
