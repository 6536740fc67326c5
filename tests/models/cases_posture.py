"""Generic-suite cases for posture and inactivity, on seeded synthetic data.

* posture: synthetic chest-worn accelerometer sessions (sit on bed, lie, sit up, walk, sit on a
  chair) read by RFID antennas at irregular times; the score is P(lying) for the shipped
  (motion-only) model and P(walking) for the model with RFID read features;
* inactivity: a week of ten-minute posture readings from a resident who sleeps 22:00-07:00 and
  walks most daytime hours, with afternoons spent lying still on some days.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.posture import InactivityDetector, PostureClassifier
from tests.models.checks import Case

#: label -> (frontal, vertical, lateral) mean g, jitter SD, antennas that hear the tag
_POSES: dict[int, tuple[tuple[float, float, float], float, tuple[int, ...]]] = {
    1: ((0.35, 0.92, 0.02), 0.04, (1, 2)),  # sit on bed
    2: ((0.25, 0.95, -0.05), 0.04, (3,)),  # sit on chair
    3: ((-0.05, 0.05, 0.95), 0.03, (1, 2)),  # lying
    4: ((0.15, 1.0, 0.0), 0.25, (1, 2, 3, 4)),  # ambulating
}
_SCRIPT = (1, 3, 1, 4, 2, 4, 1, 3)


_CHANNELS_MHZ = np.arange(920.25, 926.0, 0.5)


def synthetic_session(rng: np.random.Generator, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw readings (RAW_COLUMNS) and labels of one scripted session.

    Like the RFID tag: reads arrive at irregular times, the accelerometer value changes only
    about once a second (reads in between repeat it), and the phase on one antenna and channel
    holds still unless the wearer walks.
    """
    rows, labels = [], []
    t = 0.0
    for label in _SCRIPT:
        mean, sd, antennas = _POSES[label]
        seconds = rng.uniform(8, 20) if label == 4 else rng.uniform(40, 120)
        end = t + seconds
        acc, next_sample = rng.normal(mean, sd), t
        phases = rng.uniform(0, 2 * np.pi, size=(5, len(_CHANNELS_MHZ)))
        while t < end:
            if t >= next_sample:
                acc = rng.normal(mean, sd)
                next_sample = t + float(rng.uniform(0.5, 1.5))
            antenna = int(rng.choice(antennas))
            rssi = rng.normal(-60.0 - 2.0 * antenna, 2.0)
            channel = int(rng.integers(len(_CHANNELS_MHZ)))
            if label == 4:
                phases[antenna, channel] = rng.uniform(0, 2 * np.pi)
            phase = phases[antenna, channel] + rng.normal(0, 0.05)
            freq = _CHANNELS_MHZ[channel]
            rows.append([stream, round(t, 3), *acc, antenna, rssi, phase, freq])
            labels.append(label)
            t += float(rng.exponential(0.3 if label == 4 else 1.0)) + 0.025
    return np.asarray(rows), np.asarray(labels)


def synthetic_sessions(seed: int, n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sessions stacked (stream ids 0..n-1)."""
    rng = np.random.default_rng(seed)
    parts = [synthetic_session(rng, s) for s in range(n)]
    return np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def lying_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    raw, labels = synthetic_sessions(seed, n=4)
    return raw, labels == 3


def walking_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    raw, labels = synthetic_sessions(seed, n=4)
    return raw, labels == 4


T0_MS = 1_764_000_000_000 - (1_764_000_000_000 % 86_400_000)  # a UTC midnight
STEP_MS = 10 * 60_000


def routine_stream(
    seed: int, days: int = 7, anomalies: int = 3
) -> list[tuple[dict[str, Any], bool]]:
    """Ten-minute readings; on ``anomalies`` afternoons from day 3 on, lying still 13:00-17:00."""
    rng = np.random.default_rng(seed)
    bad_days = set(rng.choice(np.arange(3, days), size=anomalies, replace=False).tolist())
    out = []
    for i in range(days * 144):
        day, minute = divmod(i * 10, 1440)
        hour = minute // 60
        ts = T0_MS + i * STEP_MS
        anomalous = day in bad_days and 13 <= hour < 17
        if hour >= 22 or hour < 7 or anomalous:
            posture, steps = "lying", 0
        elif rng.random() < 0.35:
            posture, steps = "walking", int(rng.integers(50, 400))
        else:
            posture, steps = "sitting", 0
        out.append(({"ts": ts, "posture": posture, "steps": steps}, anomalous))
    return out


CASES = [
    Case(
        name="posture_lying",
        kind="batch",
        make=lambda seed: PostureClassifier(n_estimators=30, lying_label=True, random_state=seed),
        data=lying_data,
        min_auroc=0.95,
    ),
    Case(
        name="posture_walking_rfid",
        kind="batch",
        make=lambda seed: PostureClassifier(
            n_estimators=30, rfid=True, lying_label=True, random_state=seed
        ),
        data=walking_data,
        min_auroc=0.9,
    ),
    Case(
        name="inactivity",
        kind="stream",
        make=lambda seed: InactivityDetector(),
        data=routine_stream,
        min_auroc=0.9,
    ),
]
