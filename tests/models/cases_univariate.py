"""The streaming univariate detector in the generic suite, on a resident's heart-rate stream."""

from __future__ import annotations

import numpy as np

from models.stream_anomaly import MultiScaleNovelty
from tests.models.checks import Case

_START_MS = 1_764_000_000_000
_STEP_MS = 5 * 60 * 1000  # a reading every five minutes


def heart_rate_stream(seed: int, n: int = 2400) -> list[tuple[dict[str, float], bool]]:
    """Resting heart rate with a daily rhythm and noise; a few isolated abnormal readings.

    The anomalies (tachycardic or bradycardic readings) are spaced further apart than the
    detector's refractory period, since it reports an episode once.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    hr = 68 + 6 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 1.5, n)
    anomalies = np.zeros(n, dtype=bool)
    for k, at in enumerate(range(700, n - 100, 400)):
        at += int(rng.integers(-30, 30))
        hr[at] += 30 if k % 2 == 0 else -25
        anomalies[at] = True
    return [
        ({"heart_rate": float(v), "ts": _START_MS + i * _STEP_MS}, bool(a))
        for i, (v, a) in enumerate(zip(hr, anomalies, strict=True))
    ]


CASES = [
    Case(
        name="multi_scale_novelty_heart_rate",
        kind="stream",
        make=lambda seed: MultiScaleNovelty(field="heart_rate", seed=seed),
        data=heart_rate_stream,
        min_auroc=0.9,
    ),
    Case(
        name="multi_scale_novelty_no_timestamps",
        kind="stream",
        make=lambda seed: MultiScaleNovelty(
            field="heart_rate", scales=(1, 16, 64), capacity=500, seed=seed
        ),
        data=lambda seed: [
            ({"heart_rate": x["heart_rate"]}, y) for x, y in heart_rate_stream(seed)
        ],
        min_auroc=0.9,
    ),
]
