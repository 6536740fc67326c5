"""What the runtime calls: a window of raw accelerometer samples -> posture, lying, fall.

:func:`classify_window` is stateless: it reads one window (timestamps in ms, acceleration in
g as frontal/vertical/lateral, irregular sampling allowed) and answers for the time the
model's fixed delay before the window's last sample (the shipped model: 4 s; the posture at
``t`` is known once ``t + 4 s`` has been seen; the fall rule needs no delay and reads the whole
window). :class:`PostureTracker` is the streaming form, one per device: it keeps the last
:data:`~models.posture.features.HISTORY_S` (+ 30 s + the delay) seconds of samples, at most
``max_samples`` of them, so its memory is bounded whatever the device sends, and it gives the
features the model was trained on (those use no older sample).

The posture model is the shipped artefact (:mod:`models.posture.artifact`), loaded once per
path. Posture comes out both as the data set's label and as careloop's ``posture`` field.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.base import ModelError
from models.posture.artifact import PostureModel, load_posture_model
from models.posture.falls import FallRule
from models.posture.features import HISTORY_S, MAX_GAP_S, delayed_features
from models.posture.labels import ADL_LABELS, CARELOOP_POSTURE, LYING

#: The most samples one window may carry (see the wire proposal in docs/evaluation/adl.md).
MAX_WINDOW_SAMPLES = 1024
#: Plausible acceleration range of a body-worn sensor (g); beyond it the window is refused.
MAX_ABS_G = 16.0


@dataclass(frozen=True)
class PostureReading:
    """The posture at ``ts`` (the window's last sample minus ``delay_ms``), fall at its end."""

    ts: int
    delay_ms: int
    label: str
    posture: str
    confidence: float
    p_lying: float
    lying: bool
    fall_candidate: bool
    fall_onset_ms: int | None
    samples: int


@lru_cache(maxsize=4)
def _cached_model(path: Path | None) -> PostureModel:
    return load_posture_model(path)


def _validated(
    t_ms: NDArray[Any], acc_g: NDArray[Any], peak_g: NDArray[Any] | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
    t = np.asarray(t_ms, dtype=float)
    a = np.asarray(acc_g, dtype=float)
    if t.ndim != 1 or a.shape != (len(t), 3):
        raise ModelError("a window needs n timestamps and n x 3 accelerations")
    if not 1 <= len(t) <= MAX_WINDOW_SAMPLES:
        raise ModelError(f"a window holds 1 to {MAX_WINDOW_SAMPLES} samples, not {len(t)}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(a))):
        raise ModelError("window timestamps and accelerations must be finite")
    if np.any(np.diff(t) < 0):
        raise ModelError("window timestamps must not go backwards")
    if np.any(np.abs(a) > MAX_ABS_G):
        raise ModelError(f"acceleration beyond ±{MAX_ABS_G:g} g is a sensor fault")
    peak = None
    if peak_g is not None:
        peak = np.asarray(peak_g, dtype=float)
        if peak.shape != t.shape or not np.all(np.isfinite(peak)):
            raise ModelError("peak_g needs one finite value per sample")
    return t, a, peak


def classify_window(
    t_ms: NDArray[Any],
    acc_g: NDArray[Any],
    *,
    peak_g: NDArray[Any] | None = None,
    model: PostureModel | None = None,
    rule: FallRule | None = None,
) -> PostureReading:
    """Posture, confidence and lying ``model.delay_s`` before the window's last sample.

    The fall candidate is checked over the whole window. A window shorter than the delay is
    answered for its first sample. ``model`` defaults to the shipped artefact; ``rule`` to
    :class:`FallRule` defaults.
    """
    t, a, peak = _validated(t_ms, acc_g, peak_g)
    model = model if model is not None else _cached_model(None)
    rule = rule if rule is not None else FallRule()
    t_s = t / 1000.0
    # the answered time in ms (exact for integer timestamps), then seconds as in training
    at_ms = max(t[-1] - round(model.delay_s * 1000.0), t[0])
    feats = delayed_features(t_s, a, np.array([at_ms / 1000.0]), model.delay_s)
    proba = model.predict_proba(feats)[0]
    best = int(np.argmax(proba))
    label = model.classes[best]
    p_lying = float(proba[model.classes.index(LYING)]) if LYING in model.classes else 0.0
    fall = rule.check(t_s, a, peak)
    return PostureReading(
        ts=round(at_ms),
        delay_ms=round(t[-1] - at_ms),
        label=ADL_LABELS[label],
        posture=CARELOOP_POSTURE[label],
        confidence=float(proba[best]),
        p_lying=p_lying,
        lying=label == LYING,
        fall_candidate=fall is not None,
        fall_onset_ms=None if fall is None else round(fall.onset_s * 1000.0),
        samples=len(t),
    )


class PostureTracker:
    """One device's bounded sample buffer; :meth:`update` classifies after each window.

    Samples not newer than the last kept one (a redelivered window, a clock step back) are
    dropped. The buffer never holds more than ``max_samples`` samples nor any older than
    ``HISTORY_S + MAX_GAP_S`` + the model's delay seconds before the newest. Samples are
    kept as the wire carries them, whole milliseconds and milli-g (16 bytes a sample, not
    40 as floats): a tag at 2 Hz holds ~7 KB, not ~17 KB.
    """

    def __init__(
        self,
        model: PostureModel | None = None,
        rule: FallRule | None = None,
        max_samples: int = MAX_WINDOW_SAMPLES,
        *,
        rules_only: bool = False,
    ) -> None:
        if max_samples < 1:
            raise ModelError("max_samples must be >= 1")
        self.model = model
        self.rule = rule
        self.max_samples = max_samples
        #: No posture model: every window gives the fall rule and lying by tilt alone
        #: (:func:`rule_reading`), so a scorer without its model still sees falls.
        self.rules_only = rules_only
        self._t = np.empty(0, dtype=np.int64)  # ms
        self._acc = np.empty((0, 3), dtype=np.int16)  # milli-g, the contract's ±16,000
        self._peak = np.empty(0, dtype=np.int16)  # milli-g, magnitude ≤ 27,713

    def __len__(self) -> int:
        return len(self._t)

    @property
    def state_nbytes(self) -> int:
        """Bytes of buffered samples (at most ``max_samples`` x 16)."""
        return int(self._t.nbytes + self._acc.nbytes + self._peak.nbytes)

    def update(
        self, t_ms: NDArray[Any], acc_g: NDArray[Any], peak_g: NDArray[Any] | None = None
    ) -> PostureReading | None:
        """Add a window's samples and classify; None if nothing new arrived yet."""
        t, a, peak = _validated(t_ms, acc_g, peak_g)
        t = np.round(t).astype(np.int64)
        fresh = t > self._t[-1] if len(self._t) else np.ones(len(t), dtype=bool)
        if not fresh.any():
            return None
        mag = np.linalg.norm(a, axis=1)
        self._t = np.r_[self._t, t[fresh]]
        self._acc = np.vstack([self._acc, _milli_g(a[fresh])])
        self._peak = np.r_[self._peak, _milli_g((mag if peak is None else peak)[fresh])]
        model = None
        if not self.rules_only:
            model = self.model if self.model is not None else _cached_model(None)
        span_s = HISTORY_S + MAX_GAP_S + (model.delay_s if model is not None else 0.0)
        keep = self._t >= self._t[-1] - span_s * 1000.0
        keep[: max(0, len(keep) - self.max_samples)] = False
        self._t, self._acc, self._peak = self._t[keep], self._acc[keep], self._peak[keep]
        if model is None:
            return rule_reading(self._t, self._acc / 1000.0, self._peak / 1000.0, self.rule)
        return classify_window(
            self._t.astype(np.float64), self._acc / 1000.0, peak_g=self._peak / 1000.0,
            model=model, rule=self.rule,
        )  # fmt: skip


def rule_reading(
    t_ms: NDArray[Any], acc_g: NDArray[Any], peak_g: NDArray[Any] | None, rule: FallRule | None
) -> PostureReading:
    """Without a posture model: the fall rule over the samples, and lying when the last
    sample's tilt from vertical reaches the rule's ``lying_deg`` (the rule's own test). No
    posture label (``label`` and ``posture`` are ``"unknown"``, confidence NaN)."""
    t, a, peak = _validated(t_ms, acc_g, peak_g)
    rule = rule if rule is not None else FallRule()
    lying = bool(rule.lying(a[-1:])[0])
    fall = rule.check(t / 1000.0, a, peak)
    return PostureReading(
        ts=round(t[-1]),
        delay_ms=0,
        label="unknown",
        posture="unknown",
        confidence=float("nan"),
        p_lying=1.0 if lying else 0.0,
        lying=lying,
        fall_candidate=fall is not None,
        fall_onset_ms=None if fall is None else round(fall.onset_s * 1000.0),
        samples=len(t),
    )


def _milli_g(g: NDArray[np.float64]) -> NDArray[np.int16]:
    """Acceleration in g as whole milli-g (what the wire carries; ±16 g, magnitude < 28 g)."""
    return np.round(np.asarray(g) * 1000.0).astype(np.int16)
