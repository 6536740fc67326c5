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

from careloop.i18n.summary import render_summary
from careloop.wire.needs import Evidence
from models.runtime.findings import Finding, said


def _what(conf: float, source: str) -> str:
    """The catalog key of what was seen: the device's event (with or without a confidence)
    or the motion model's candidate."""
    if source == "motion":
        return "summary.fall_what.motion"
    return "summary.fall_what.event" if math.isfinite(conf) else "summary.fall_what.event_no_conf"


def _conf(conf: float) -> float:
    return round(conf, 2) if math.isfinite(conf) else 0.0


#: The evidence's measure and what the fall was, per source.
_MEASURE = {
    "event": ("fall_detected", "fall event"),
    "motion": ("fall_candidate", "motion fall candidate"),
}


def fall_confirmed(
    slot: int, ts: int, fall_ts: int, conf: float, how: str, confirm_ms: int,
    source: str = "event",
) -> Finding:  # fmt: skip
    """A fall (event or candidate) and then stillness (or silence) for the confirmation time;
    ``how``: ``still`` (readings without movement) or ``silent`` (no readings since)."""
    secs = (ts - fall_ts) // 1000
    measure, what = _MEASURE[source]
    return Finding(
        slot,
        "fall",
        "emergency",
        ts,
        fall_ts,
        conf if math.isfinite(conf) else 1.0,
        said(
            "summary.fall",
            what_msg=_what(conf, source),
            how_msg=f"summary.fall_how.{how}",
            conf=_conf(conf),
            secs=int(secs),
        ),
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
        said("summary.fall_cleared"),
        cleared=True,
    )


def fall_check_in(slot: int, ts: int, fall_ts: int, conf: float, source: str = "event") -> Finding:
    """Fell and got up: a general need to visit (injuries, fear of falling, the cause)."""
    secs = max(0, (ts - fall_ts) // 1000)
    measure, what = _MEASURE[source]
    return Finding(
        slot,
        "fall_check_in",
        "general",
        ts,
        fall_ts,
        conf if math.isfinite(conf) else 1.0,
        said(
            "summary.fall_check_in",
            what_msg=_what(conf, source),
            how_msg=f"summary.fall_up.{source}",
            conf=_conf(conf),
            secs=int(secs),
        ),
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


def wandering(slot: int, ts: int, what: str, score: float, **args: str | int) -> Finding:
    """Up and about at night: ``what`` is ``door`` (an exit door opened at ``time``) or
    ``walking`` (about ``minutes`` walking out of bed)."""
    text = said("summary.wandering", what_msg=f"summary.wandering_what.{what}", **args)
    return Finding(
        slot,
        "night_wandering",
        "important",
        ts,
        ts,
        score,
        text,
        [
            Evidence(
                measure="night_activity",
                value=render_summary("en", f"summary.wandering_what.{what}", args)[:60],
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
