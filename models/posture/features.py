"""Causal posture features from an irregularly sampled 3-axis accelerometer.

The wearable in the older adults' data is a battery-less RFID tag: its accelerometer updates
about once or twice a second, with gaps of seconds to minutes, and every RFID read repeats the
latest value (a trial read 20 times a second still holds about one new sample a second). So:

* **samples, not reads**: a row whose three axes equal the previous row's is the same sample
  read again and is dropped before any statistic (:func:`distinct_samples`);
* **windows in seconds, not samples**: every statistic is over the samples of the last ``w``
  seconds, with rates in samples per second, so a device sending at 1 Hz or 4 Hz sees the
  same scale; the sampling rate itself (relative to the device's own recent rate) is a feature,
  because the tag is read more often when it moves;
* **only the past**: the features at time ``t`` use samples with time <= ``t`` and at most
  :data:`HISTORY_S` (+ :data:`MAX_GAP_S` for the first sample's predecessor) seconds old, so a
  device's bounded buffer gives exactly the features the model was trained on.

Per sample: the three axes, the magnitude, the **tilt** (angle between the sensor's vertical
axis and gravity: ~0-40° upright, ~90° lying), the **jump** (vector change from the previous
sample) and the **turn** (angle between successive gravity directions). Per query time: the
latest sample, its age and the gap before it; over each of :data:`WINDOWS_S`, the means and SDs
of those, the sample rate (absolute and relative to the history), the largest jump and turn
and the jump per second; the latest sample and the shortest window's means minus each longer
window's means (a stand-up shows as a change against the last minute); and the seconds since
the last lying-like sample, upright sample, big jump and big turn (capped at the history).

**A fixed delay** (:func:`delayed_features`): the posture at time ``t`` is answered ``delay``
seconds later, from the features at ``t`` and the same features at ``t + delay``. Walks here
last about two seconds and the sensor updates about once a second, so the first sample of a
walk looks like a sitter leaning forward; a few seconds later the walk (or its absence) shows.
Cross-validation chose 4 s (docs/evaluation/adl.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.base import ModelError

F64 = NDArray[np.float64]

#: Seconds of samples a feature may use (the per-device buffer keeps this much).
HISTORY_S = 180.0
#: Window lengths in seconds.
WINDOWS_S = (3.0, 8.0, 20.0, 60.0, 180.0)
#: A jump or turn is measured against the previous sample only if it is at most this old.
MAX_GAP_S = 30.0
#: Tilt at or above which a sample looks like lying (degrees).
LYING_TILT_DEG = 55.0
BIG_JUMP_G = 0.3
BIG_TURN_DEG = 20.0
_CHANNELS = ("frontal", "vertical", "lateral", "magnitude", "tilt", "jump", "turn")
_AXES = 5  # the first five channels: posture, not movement


def _names() -> tuple[str, ...]:
    names = [f"now_{c}" for c in _CHANNELS] + ["age_s", "gap_s"]
    for w in WINDOWS_S:
        names += [f"mean{w:g}_{c}" for c in _CHANNELS] + [f"sd{w:g}_{c}" for c in _CHANNELS]
        names += [f"rate{w:g}", f"relrate{w:g}", f"maxjump{w:g}", f"maxturn{w:g}"]
        names += [f"jumprate{w:g}"]
    for w in WINDOWS_S[1:]:
        names += [f"now_minus_mean{w:g}_{c}" for c in _CHANNELS[:_AXES]]
        names += [f"mean{WINDOWS_S[0]:g}_minus_mean{w:g}_{c}" for c in _CHANNELS[:_AXES]]
    names += ["since_lying_s", "since_upright_s", "since_jump_s", "since_turn_s"]
    return tuple(names)


#: Names of the columns :func:`motion_features` returns, in order.
MOTION_FEATURES = _names()


def delayed_names(delay_s: float) -> tuple[str, ...]:
    """Column names of :func:`delayed_features` (the motion features alone for no delay)."""
    if delay_s <= 0:
        return MOTION_FEATURES
    return MOTION_FEATURES + tuple(f"lead{delay_s:g}_{n}" for n in MOTION_FEATURES)


def new_samples(acc: F64) -> NDArray[np.bool_]:
    """Per row: False if it repeats the previous row's acceleration (the same sample re-read)."""
    return np.r_[True, np.any(np.diff(acc, axis=0) != 0, axis=1)] if len(acc) else np.ones(0, bool)


def distinct_samples(t_s: F64, acc: F64) -> tuple[F64, F64]:
    """Drop rows that repeat the previous row's acceleration (the same sample read again)."""
    if len(t_s) == 0:
        return t_s, acc
    new = new_samples(acc)
    return t_s[new], acc[new]


def _range_max(x: F64, lo: NDArray[np.intp], hi: NDArray[np.intp]) -> F64:
    """max(x[lo:hi]) per query (0 for an empty range), by a sparse table: O(n log n)."""
    n = len(x)
    out = np.zeros(len(lo))
    if n == 0:
        return out
    table = [x]
    while 2 ** len(table) <= n:
        prev, half = table[-1], 2 ** (len(table) - 1)
        table.append(np.maximum(prev[:-half], prev[half:]))
    filled = hi > lo
    level = np.zeros(len(lo), dtype=int)
    level[filled] = np.floor(np.log2(hi[filled] - lo[filled])).astype(int)
    for q in np.unique(level[filled]):
        rows = filled & (level == q)
        out[rows] = np.maximum(table[q][lo[rows]], table[q][hi[rows] - 2**q])
    return out


def _since(at: F64, ts: F64, flag: NDArray[np.bool_], k: NDArray[np.intp]) -> F64:
    """Seconds from each query to the latest flagged sample at or before it (capped)."""
    idx = np.flatnonzero(flag)
    if len(idx) == 0:
        return np.full(len(at), HISTORY_S)
    j = np.searchsorted(idx, k, side="right") - 1
    since = np.where(j >= 0, at - ts[idx[np.maximum(j, 0)]], HISTORY_S)
    return np.minimum(since, HISTORY_S)


def _per_sample(ts: F64, acc: F64) -> F64:
    mag = np.linalg.norm(acc, axis=1)
    unit = acc / np.maximum(mag, 1e-6)[:, None]
    tilt = np.degrees(np.arccos(np.clip(unit[:, 1], -1.0, 1.0)))
    linked = np.r_[False, np.diff(ts) <= MAX_GAP_S]  # a predecessor close enough to compare
    prev = np.vstack([acc[:1], acc[:-1]])
    jump = np.where(linked, np.linalg.norm(acc - prev, axis=1), 0.0)
    cos = np.sum(unit * np.vstack([unit[:1], unit[:-1]]), axis=1)
    turn = np.where(linked, np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))), 0.0)
    return np.column_stack([acc, mag, tilt, jump, turn])


def motion_features(t_s: NDArray[Any], acc: NDArray[Any], at_s: NDArray[Any]) -> F64:
    """:data:`MOTION_FEATURES` at each query time ``at_s`` from one device's samples.

    ``t_s`` (seconds, sorted) and ``acc`` (n x 3, g: frontal, vertical, lateral) are that
    device's readings (repeats allowed); every query time must be at or after the first one.
    """
    t_s = np.asarray(t_s, dtype=float)
    acc = np.asarray(acc, dtype=float)
    at = np.asarray(at_s, dtype=float)
    if len(t_s) == 0 or np.any(np.diff(t_s) < 0):
        raise ModelError("motion features need at least one sample, in time order")
    ts, a = distinct_samples(t_s, acc)
    k = np.searchsorted(ts, at, side="right") - 1
    if np.any(k < 0):
        raise ModelError("a query time is before the first sample")
    ch = _per_sample(ts, a)
    # the history: samples at most HISTORY_S old; the first one's jump may reach MAX_GAP_S back
    first = np.searchsorted(ts, at - HISTORY_S, side="left")
    now = ch[k]
    age = np.minimum(at - ts[k], MAX_GAP_S)
    gap = np.where(k > first, np.minimum(ts[k] - ts[np.maximum(k - 1, 0)], MAX_GAP_S), MAX_GAP_S)
    zero = np.zeros((1, ch.shape[1]))
    s1 = np.vstack([zero, np.cumsum(ch, axis=0)])
    s2 = np.vstack([zero, np.cumsum(ch**2, axis=0)])
    hi = k + 1
    span = np.maximum(np.minimum(at - ts[first], HISTORY_S), 10.0)
    history_rate = (hi - first) / span
    cols: list[F64] = [now, age[:, None], gap[:, None]]
    means: list[F64] = []
    for w in WINDOWS_S:
        lo = np.maximum(np.searchsorted(ts, at - w, side="right"), first)
        n = (hi - lo).astype(float)
        mean = (s1[hi] - s1[lo]) / np.maximum(n, 1.0)[:, None]
        sd = np.sqrt(np.maximum((s2[hi] - s2[lo]) / np.maximum(n, 1.0)[:, None] - mean**2, 0.0))
        means.append(mean)
        cols += [mean, sd]
        cols += [np.column_stack([n / w, n / w / history_rate])]
        cols += [np.column_stack([_range_max(ch[:, 5], lo, hi), _range_max(ch[:, 6], lo, hi)])]
        cols += [((s1[hi, 5] - s1[lo, 5]) / w)[:, None]]
    for mean in means[1:]:
        cols += [now[:, :_AXES] - mean[:, :_AXES], means[0][:, :_AXES] - mean[:, :_AXES]]
    since = [
        _since(at, ts, ch[:, 4] >= LYING_TILT_DEG, k),
        _since(at, ts, ch[:, 4] < LYING_TILT_DEG, k),
        _since(at, ts, ch[:, 5] >= BIG_JUMP_G, k),
        _since(at, ts, ch[:, 6] >= BIG_TURN_DEG, k),
    ]
    cols.append(np.column_stack(since))
    out = np.hstack(cols)
    if out.shape[1] != len(MOTION_FEATURES):  # pragma: no cover - a coding error, not data
        raise AssertionError("feature names and columns disagree")
    return out


def delayed_features(
    t_s: NDArray[Any], acc: NDArray[Any], at_s: NDArray[Any], delay_s: float
) -> F64:
    """:func:`delayed_names` columns: the features at ``at_s`` and at ``at_s + delay_s``.

    The second set is taken at the later time, capped at the last timestamp given (a trial's
    end); a runtime answering ``delay_s`` after the fact always has it in full. Each set sees
    only samples up to its own time, so the answer for ``t`` uses nothing after ``t + delay_s``.
    """
    at = np.asarray(at_s, dtype=float)
    if delay_s <= 0:
        return motion_features(t_s, acc, at)
    t = np.asarray(t_s, dtype=float)
    later = np.maximum(at, np.minimum(at + delay_s, t[-1])) if len(t) else at + delay_s
    both = motion_features(t, acc, np.r_[at, later])
    return np.hstack([both[: len(at)], both[len(at) :]])
