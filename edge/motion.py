"""A worn tag's accelerometer samples as ``motion`` readings, for the agent's outbox.

A motion-capable device's adapter reads its sensor however it must (epoch ms, acceleration
in g, frontal/vertical/lateral axes as docs/wire.md has them) and hands the samples to
:func:`motion_samples`, which cuts them into windows the contract accepts (at most 1,024
samples and 5 minutes each, times from the window's start, integers in milli-g) and returns
:class:`~edge.adapters.Sample` s. The agent then treats them like any reading: validated,
stored in the durable outbox, sent in order at QoS 1 (a run of windows travels in messages of
at most 60 KB, so one or two full windows, or many 30 s ones). The edge computes nothing
from them: posture and falls are the scorer's (docs/runtime.md says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from careloop.wire.measures import MOTION_MAX_MG, MOTION_MAX_SAMPLES, MOTION_MAX_SPAN_MS
from edge.adapters import Sample


def motion_samples(
    t_ms: Sequence[int],
    acc_g: Sequence[Sequence[float]],
    *,
    peak_g: Sequence[float] | None = None,
    rate_hz: float | None = None,
    window_ms: int = 30_000,
) -> list[Sample]:
    """Samples (epoch ms, g) cut into ``motion`` readings of about ``window_ms`` each.

    Samples are put in time order first. A window closes at ``window_ms`` (at most 5
    minutes) or 1,024 samples. Acceleration beyond ±16 g is clipped, as a saturated sensor
    would report it; non-finite values are left for the contract to refuse.
    """
    if not 0 < window_ms <= MOTION_MAX_SPAN_MS:
        raise ValueError(f"window_ms must be 1..{MOTION_MAX_SPAN_MS}")
    t = np.asarray(t_ms, dtype=np.int64)
    acc = np.asarray(acc_g, dtype=np.float64).reshape(len(t), 3)
    order = np.argsort(t, kind="stable")
    t, acc = t[order], acc[order]
    mg = np.clip(np.rint(acc * 1000.0), -MOTION_MAX_MG, MOTION_MAX_MG)
    peak = None
    if peak_g is not None:
        p = np.asarray(peak_g, dtype=np.float64)[order]
        peak = np.clip(np.rint(p * 1000.0), 0, MOTION_MAX_MG)
    out: list[Sample] = []
    i = 0
    while i < len(t):
        end = min(int(np.searchsorted(t, t[i] + window_ms, side="left")), i + MOTION_MAX_SAMPLES)
        end = max(end, i + 1)
        start = int(t[i])
        reading: dict[str, Any] = {
            "ts": int(t[end - 1]),
            "start": start,
            "t_ms": (t[i:end] - start).tolist(),
            "acc_mg": mg[i:end].astype(np.int64).tolist(),
        }
        if peak is not None:
            reading["peak_mg"] = peak[i:end].astype(np.int64).tolist()
        if rate_hz is not None:
            reading["rate_hz"] = float(rate_hz)
        out.append(Sample("motion", reading))
        i = end
    return out
