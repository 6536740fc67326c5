"""Voice-device utterances: everyday talk a handful of times a day, and scenario speech.

Ordinary utterances are scheduled in half-hour slots (at most one per slot, at a hashed
offset), so a resident speaks ``utterances_per_day`` times on average while awake. Scenarios
change them: ``mix`` (low mood) replaces a share with phrases from its pool and alters the
voice, ``stream`` (agitation) repeats one question every few minutes instead, ``once`` (help)
adds a single call. ``text`` is included only when the resident consented; the acoustic
features always are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulators.effects import Effects
from simulators.episodes import Episode
from simulators.events import Hit
from simulators.grid import F64, UTTERANCE_SLOT_MS, Grid
from simulators.noise import keyed, uniforms
from simulators.phrases import POOLS, SYLLABLES, pool
from simulators.profiles import ResidentProfile
from simulators.routine import Routine

UTTERANCE_CH, STREAM_CH, ONCE_CH = 41, 42, 43
_LANES = 8


def _reading(
    profile: ResidentProfile,
    ts: int,
    language: str,
    pool_name: str,
    phrase: int,
    *,
    rate: float,
    pitch: float,
    energy: float,
    repeated: bool = False,
) -> dict[str, Any]:
    """One utterance reading; the text only with consent, features always."""
    syllables = SYLLABLES[pool_name][phrase]
    rate = min(max(rate, 0.5), 14.5)
    reading: dict[str, Any] = {"ts": ts, "language": language}
    if profile.text_consent:
        reading["text"] = POOLS[pool_name][phrase]
    reading["speech_rate"] = round(rate, 1)
    reading["pitch_hz"] = round(min(max(pitch, 50.0), 550.0), 1)
    reading["energy_db"] = round(min(max(energy, -90.0), -1.0), 1)
    reading["duration_s"] = round(syllables / rate + 0.4, 1)
    reading["repeated_question"] = repeated
    return reading


def _covering(fx: Effects, col: int, ts: int, mode: str) -> Episode | None:
    """The last episode on ``col`` whose speech ``mode`` covers time ``ts``."""
    found = None
    for ep, c in fx.active:
        sp = ep.scenario.speech
        if c == col and sp is not None and sp.mode == mode and ep.start <= ts < ep.end:
            found = ep
    return found


def _ordinary(grid: Grid, rt: Routine, fx: Effects) -> list[Hit]:
    c = grid.cohort
    boost: F64 | None = None
    for ep, col in fx.active:
        sp = ep.scenario.speech
        if sp is not None and sp.mode == "mix" and sp.extra_rate > 1.0:
            if boost is None:
                boost = np.ones((1, c.size))
            boost[0, col] = max(boost[0, col], sp.extra_rate)
    p = c.utterance_p if boost is None else c.utterance_p * boost
    hits: list[Hit] = []
    first = grid.t // UTTERANCE_SLOT_MS
    for slot in (first, first + 1):
        u = c.draw(slot, UTTERANCE_CH, _LANES)
        when = np.floor(slot.astype(np.float64) * UTTERANCE_SLOT_MS + u[..., 1] * UTTERANCE_SLOT_MS)
        rows, cols = np.nonzero(grid.in_step(when) & rt.can_talk & (u[..., 0] < p))
        for k, r in zip(rows.tolist(), cols.tolist(), strict=True):
            ts = int(when[k, r])
            if fx.active and _covering(fx, r, ts, "stream") is not None:
                continue  # agitation replaces ordinary talk
            mood = _covering(fx, r, ts, "mix") if fx.active else None
            lanes = u[k, r].tolist()
            if mood is None and lanes[0] >= c.utterance_p[0, r]:
                continue  # fired only thanks to a boost that does not cover ts
            hits.append((k, r, _ordinary_reading(c.profiles[r], ts, lanes, mood)))
    return hits


def _ordinary_reading(
    profile: ResidentProfile, ts: int, lanes: list[float], mood: Episode | None
) -> dict[str, Any]:
    language: str = profile.language
    name = pool("neutral", language)
    rate_f, pitch_f, energy = 1.0, 1.0, 0.0
    if mood is not None:
        sp = mood.scenario.speech
        assert sp is not None
        lo, hi = sp.rate_factor
        rate_f, pitch_f, energy = lo + (hi - lo) * lanes[7], sp.pitch_factor, sp.energy_db
        if lanes[6] < sp.share:
            language = mood.language
            name = pool(sp.pool, language)
    phrase = int(lanes[2] * len(POOLS[name]))
    return _reading(
        profile,
        ts,
        language,
        name,
        phrase,
        rate=profile.speech_rate * (0.92 + 0.16 * lanes[3]) * rate_f,
        pitch=profile.pitch_hz * (0.95 + 0.1 * lanes[4]) * pitch_f,
        energy=-28.0 + 8.0 * (lanes[5] - 0.5) + energy,
    )


def _episode_speech(grid: Grid, ep: Episode, col: int) -> list[Hit]:
    sp = ep.scenario.speech
    assert sp is not None
    profile = grid.cohort.profiles[col]
    name = pool(sp.pool, ep.language)
    t = grid.t[:, 0]
    key = np.array([ep.key], dtype=np.uint64)
    lo, hi = sp.rate_factor
    hits: list[Hit] = []
    if sp.mode == "once":
        u = uniforms(keyed(key, 0, ONCE_CH), 4)[0].tolist()
        ts = ep.start + round((sp.delay_s[0] + (sp.delay_s[1] - sp.delay_s[0]) * u[0]) * 1000)
        rows: list[int] = []
        if ts < ep.end:
            rows = np.nonzero((ts >= t) & (ts < t + grid.dt_ms))[0].tolist()
        for k in rows:
            reading = _reading(
                profile,
                ts,
                ep.language,
                name,
                ep.phrase,
                rate=profile.speech_rate * (lo + (hi - lo) * u[1]),
                pitch=profile.pitch_hz * sp.pitch_factor * (0.95 + 0.1 * u[2]),
                energy=-28.0 + sp.energy_db + 6.0 * (u[3] - 0.5),
            )
            hits.append((k, col, reading))
    elif sp.mode == "stream":
        period = sp.every_s * 1000.0
        first = np.floor((t - ep.start) / period)
        for j in (first, first + 1):
            u = uniforms(keyed(key, j, STREAM_CH), 5)
            when = np.floor(ep.start + (j + 0.8 * u[..., 0]) * period)
            fire = (j == 0) | (u[..., 1] < 0.9)
            hit = (when >= t) & (when < t + grid.dt_ms) & (j >= 0) & (when < ep.end) & fire
            for k in np.nonzero(hit)[0].tolist():
                lanes = u[k].tolist()
                reading = _reading(
                    profile,
                    int(when[k]),
                    ep.language,
                    name,
                    ep.phrase,
                    rate=profile.speech_rate * (lo + (hi - lo) * lanes[2]),
                    pitch=profile.pitch_hz * sp.pitch_factor * (0.95 + 0.1 * lanes[3]),
                    energy=-28.0 + sp.energy_db + 6.0 * (lanes[4] - 0.5),
                    repeated=bool(j[k] > 0),
                )
                hits.append((k, col, reading))
    return hits


def utterances(grid: Grid, rt: Routine, fx: Effects) -> list[Hit]:
    """Every utterance reading the grid's steps emit."""
    hits = _ordinary(grid, rt, fx)
    for ep, col in fx.active:
        sp = ep.scenario.speech
        if sp is not None and sp.mode != "mix":
            hits.extend(_episode_speech(grid, ep, col))
    return hits
