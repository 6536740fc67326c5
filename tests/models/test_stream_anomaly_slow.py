"""The compact configuration for a resident's slow signals (hourly or daily values)."""

from __future__ import annotations

import numpy as np

from models.stream_anomaly import SLOW_SIGNALS, MultiScaleNovelty, slow_signal_detector
from models.stream_anomaly.footprint import hourly_activity, measure

ALARM = MultiScaleNovelty(**SLOW_SIGNALS).alarm_score
_DAY = 24  # hourly readings


def _scores(stream: list) -> np.ndarray:
    det = slow_signal_detector()
    out = []
    for x in stream:
        out.append(det.score_one(x))
        det.learn_one(x)
    return np.array(out)


def test_quiet_on_a_normal_daily_rhythm_and_reports_restless_nights() -> None:
    normal = _scores(hourly_activity(3, days=70))
    changed = _scores(hourly_activity(3, days=70, change_day=45))
    # two weeks to learn the rhythm, then eight weeks without a report
    assert not np.any(normal[14 * _DAY :] >= ALARM)
    # the same days are scored alike until the nights change...
    np.testing.assert_array_equal(normal[: 45 * _DAY], changed[: 45 * _DAY])
    alarms = np.flatnonzero(changed[45 * _DAY :] >= ALARM)
    # ...then the first restless night is reported within hours, and once for a while
    assert alarms.size and alarms[0] < 12
    assert np.all(np.diff(alarms) >= SLOW_SIGNALS["refractory"])


def test_false_reports_are_rare_over_many_residents() -> None:
    reports = 0
    for seed in range(200, 206):
        s = _scores(hourly_activity(seed, days=70))
        reports += int(np.sum(s[14 * _DAY :] >= ALARM))
    assert reports <= 2  # at most one report per ~five months of one resident's nights


def test_state_is_small() -> None:
    fp = measure(slow_signal_detector, hourly_activity(0, days=60))
    assert fp.snapshot_bytes < 40_000
    assert fp.memory_bytes < 80_000
