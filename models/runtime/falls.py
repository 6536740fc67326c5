"""What the fall and wandering rules say: their findings, worded for a volunteer.

A fall event opens a confirmation window (:mod:`models.runtime.activity`). Three outcomes:

* still for the resident's confirmation time (``fall_confirm_s``, default 60 s): ``fall``,
  an emergency (:func:`fall_confirmed`);
* moving again before that: ``fall_check_in``, a general need — the person fell and got
  up, which is no emergency but worth a visit for injuries nobody saw (:func:`fall_check_in`);
* moving again after the emergency was raised: the emergency is ``cleared`` (the alert is
  cancelled) and the same general check-in opens in its place.

The fall is either the device's ``fall_detected`` event or, from a worn tag's ``motion``
windows, a fall candidate of the posture model's rule (:mod:`models.runtime.motion`):
``source`` words the summary and the evidence for what was actually seen.
"""

from __future__ import annotations

import math

from careloop.wire.needs import Evidence
from models.runtime.findings import Finding


def _detector(conf: float) -> str:
    return f"confidence {conf:.2f}" if math.isfinite(conf) else "no confidence given"


def _what(conf: float, source: str) -> str:
    if source == "motion":
        return (
            "Fall candidate from the worn motion sensor (a sharp impact out of upright, "
            "then lying still)"
        )
    return f"Fall detected ({_detector(conf)})"


#: The evidence's measure and what the fall was, per source.
_MEASURE = {
    "event": ("fall_detected", "fall event"),
    "motion": ("fall_candidate", "motion fall candidate"),
}


def fall_confirmed(
    slot: int, ts: int, fall_ts: int, conf: float, how: str, confirm_ms: int,
    source: str = "event",
) -> Finding:  # fmt: skip
    """A fall (event or candidate) and then stillness (or silence) for the confirmation time."""
    secs = (ts - fall_ts) // 1000
    measure, what = _MEASURE[source]
    return Finding(
        slot,
        "fall",
        "emergency",
        ts,
        fall_ts,
        conf if math.isfinite(conf) else 1.0,
        f"{_what(conf, source)} and {how} for {secs} s since: no steps, no upright "
        "posture, no exertion.",
        [
            Evidence(
                measure=measure,
                value=conf if math.isfinite(conf) else None,
                rule=f"{what}, then no movement for {confirm_ms // 1000} s",
                ts=fall_ts,
            )
        ],
    )


def fall_cleared(slot: int, ts: int, fall_ts: int) -> Finding:
    """The resident moves again after a confirmed fall: the emergency is over."""
    return Finding(
        slot,
        "fall",
        "emergency",
        ts,
        fall_ts,
        0.0,
        "Moving again after the fall (steps or upright posture); a check-in follows.",
        cleared=True,
    )


def fall_check_in(slot: int, ts: int, fall_ts: int, conf: float, source: str = "event") -> Finding:
    """Fell and got up: a general need to visit (injuries, fear of falling, the cause)."""
    secs = max(0, (ts - fall_ts) // 1000)
    measure, what = _MEASURE[source]
    how = "no longer lying" if source == "motion" else "steps or upright posture"
    return Finding(
        slot,
        "fall_check_in",
        "general",
        ts,
        fall_ts,
        conf if math.isfinite(conf) else 1.0,
        f"{_what(conf, source)}, then moving again {secs} s later ({how}): fell and got up, "
        "worth a visit to check for injuries.",
        [
            Evidence(
                measure=measure,
                value=conf if math.isfinite(conf) else None,
                rule=f"{what}, then moving again: a check-in",
                ts=fall_ts,
            ),
            Evidence(
                measure="moving_again_after", value=float(secs), unit="s", rule="got up", ts=ts
            ),
        ],
    )


def wandering(slot: int, ts: int, what: str, score: float) -> Finding:
    """Up and about at night (an exit door, or walking minutes out of bed)."""
    return Finding(
        slot,
        "night_wandering",
        "important",
        ts,
        ts,
        score,
        f"Up and about at night: {what}.",
        [
            Evidence(
                measure="night_activity",
                value=what[:60],
                rule="exit door at night, or walking out of bed at night (the resident's "
                "night window and walking minutes)",
                ts=ts,
            )
        ],
    )


def hhmm(minute: float) -> str:
    """A local minute of the day as ``HH:MM``."""
    m = int(minute) % 1440
    return f"{m // 60:02d}:{m % 60:02d}"
