"""The compact configurations for a resident's slow signals (hourly or daily values)."""

from __future__ import annotations

import numpy as np
import pytest

from models.base import ModelError
from models.stream_anomaly import SLOW_SIGNALS, MultiScaleNovelty, slow_signal_detector
from models.stream_anomaly.footprint import daily_visits, hourly_activity, measure

HOURLY = SLOW_SIGNALS["hourly"]
ALARM = MultiScaleNovelty(**HOURLY).alarm_score
_DAY = 24  # hourly readings


def _scores(stream: list, cadence: str = "hourly") -> np.ndarray:
    det = slow_signal_detector(cadence=cadence)  # type: ignore[arg-type]  # tests pass strings
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
    assert np.all(np.diff(alarms) >= HOURLY["refractory"])


def test_false_reports_are_rare_over_many_residents() -> None:
    reports = 0
    for seed in range(200, 206):
        s = _scores(hourly_activity(seed, days=70))
        reports += int(np.sum(s[14 * _DAY :] >= ALARM))
    assert reports <= 2  # at most one report per ~five months of one resident's nights


def test_a_daily_count_reports_a_lasting_rise_within_a_week() -> None:
    alarm = MultiScaleNovelty(**SLOW_SIGNALS["daily"]).alarm_score
    normal = _scores(daily_visits(0, days=200), "daily")
    changed = _scores(daily_visits(0, days=200, change_day=150), "daily")
    assert not np.any(normal[60:] >= alarm)
    alarms = np.flatnonzero(changed[150:] >= alarm)
    assert alarms.size and alarms[0] <= 7
    # over several residents: false reports stay rare (about one in 300 days on other seeds)
    reports = 0
    for seed in range(200, 206):
        reports += int(np.sum(_scores(daily_visits(seed, days=200), "daily")[60:] >= alarm))
    assert reports <= 4


def test_state_is_small() -> None:
    fp = measure(slow_signal_detector, hourly_activity(0, days=60))
    assert fp.snapshot_bytes < 40_000
    assert fp.memory_bytes < 80_000


def test_unknown_cadence_is_refused() -> None:
    with pytest.raises(ModelError):
        slow_signal_detector(cadence="weekly")  # type: ignore[arg-type]  # the point of it
