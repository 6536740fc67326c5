"""Causal features from the RFID reads themselves (antenna, RSSI, phase, channel).

The older adults' data was recorded with a battery-less tag read by fixed antennas; how the tag
is heard moves when its wearer moves, often before the slow accelerometer shows it. These
features describe that, without naming which antenna is where (so they do not learn one
room's layout):

* **phase change**: a still tag keeps its backscatter phase on one antenna and one frequency
  channel (within ~0.1 rad); walking shifts it by a random amount. Each read is compared with
  the last read on the same antenna and channel, if that is at most :data:`REFERENCE_S` old;
* **RSSI change** against the last read on the same antenna (same age limit), the antenna
  switch rate, and the RSSI level and spread;
* **read rate**, absolute and relative to the stream's rate so far.

A read that repeats the previous row in every field is the same read logged again and is
dropped before any statistic. These features exist only for that reader infrastructure:
careloop's own devices send accelerometer windows (``docs/evaluation/adl.md``), so the shipped
model does not use them; the evaluation reports both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

WINDOWS_S = (2.0, 5.0, 15.0, 60.0)
REFERENCE_S = 30.0
BIG_PHASE_RAD = 1.0

_CURRENT = ("phase_change", "phase_ref", "phase_big", "rssi_change", "rssi_ref", "switch", "rssi")
RFID_FEATURES: tuple[str, ...] = tuple(f"read_{c}" for c in _CURRENT) + tuple(
    f"{name}{w:g}"
    for w in WINDOWS_S
    for name in (
        "phase_change",
        "phase_big",
        "phase_ref_share",
        "rssi_change",
        "switch_rate",
        "rssi_mean",
        "rssi_sd",
        "read_rate",
        "read_relrate",
    )
)


def _previous_same(keys: NDArray[np.int64]) -> NDArray[np.intp]:
    """Index of the previous read with the same key (-1 if none)."""
    out = np.full(len(keys), -1, dtype=np.intp)
    last: dict[int, int] = {}
    for i, key in enumerate(keys.tolist()):
        out[i] = last.get(key, -1)
        last[key] = i
    return out


def rfid_features(
    t_s: NDArray[Any],
    antenna: NDArray[Any],
    rssi: NDArray[Any],
    phase: NDArray[Any],
    frequency: NDArray[Any],
) -> F64:
    """:data:`RFID_FEATURES` for every row of one stream (rows sorted by time)."""
    t = np.asarray(t_s, dtype=float)
    ant = np.asarray(antenna, dtype=np.int64)
    rs, ph, fq = (np.asarray(v, dtype=float) for v in (rssi, phase, frequency))
    fields = np.column_stack([ant, rs, ph, fq])
    repeat = np.r_[False, np.all(fields[1:] == fields[:-1], axis=1)]
    keep = np.flatnonzero(~repeat)
    tr, an, rk, pk = t[keep], ant[keep], rs[keep], ph[keep]
    channel = an * 100_000 + np.round(fq[keep] * 4).astype(np.int64)

    prev = _previous_same(channel)
    phase_ref = (prev >= 0) & (tr - tr[np.maximum(prev, 0)] <= REFERENCE_S)
    dphase = np.abs(np.angle(np.exp(1j * (pk - pk[np.maximum(prev, 0)]))))
    dphase = np.where(phase_ref, dphase, 0.0)
    prev_ant = _previous_same(an)
    rssi_ref = (prev_ant >= 0) & (tr - tr[np.maximum(prev_ant, 0)] <= REFERENCE_S)
    drssi = np.where(rssi_ref, np.abs(rk - rk[np.maximum(prev_ant, 0)]), 0.0)
    switch = np.r_[0.0, (an[1:] != an[:-1]).astype(float)]
    per_read = np.column_stack(
        [dphase, phase_ref, phase_ref & (dphase > BIG_PHASE_RAD), drssi, rssi_ref, switch, rk]
    ).astype(float)

    zero = np.zeros((1, per_read.shape[1]))
    s1 = np.vstack([zero, np.cumsum(per_read, axis=0)])
    s2 = np.vstack([zero, np.cumsum(per_read**2, axis=0)])
    latest = np.searchsorted(keep, np.arange(len(t)), side="right") - 1
    hi = latest + 1
    overall = hi / np.maximum(t - t[0], 10.0)
    cols: list[F64] = [per_read[latest]]
    for w in WINDOWS_S:
        lo = np.searchsorted(tr, t - w, side="right")
        n = (hi - lo).astype(float)
        total = s1[hi] - s1[lo]
        with_phase = np.maximum(total[:, 1], 1.0)
        with_rssi = np.maximum(total[:, 4], 1.0)
        mean_rssi = total[:, 6] / np.maximum(n, 1.0)
        var_rssi = (s2[hi, 6] - s2[lo, 6]) / np.maximum(n, 1.0) - mean_rssi**2
        cols.append(
            np.column_stack(
                [
                    total[:, 0] / with_phase,
                    total[:, 2] / with_phase,
                    total[:, 1] / np.maximum(n, 1.0),
                    total[:, 3] / with_rssi,
                    total[:, 5] / np.maximum(n, 1.0),
                    mean_rssi,
                    np.sqrt(np.maximum(var_rssi, 0.0)),
                    n / w,
                    n / w / overall,
                ]
            )
        )
    return np.hstack(cols)
