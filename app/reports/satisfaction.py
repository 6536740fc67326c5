"""Satisfaction with the care received, for the report's satisfaction section.

Ratings are being added to the people database (the tickets work). Until a ``ratings``
table exists there, :func:`satisfaction` answers None and the report says "no answers yet";
this one function is where the report reads ratings, so pointing it at the real table is a
change here only.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Satisfaction:
    """Answers in the week and their mean score (1 to 5)."""

    answers: int
    mean: float


def satisfaction(
    people_db: Path, site: str, resident: str, start_ms: int, end_ms: int
) -> Satisfaction | None:
    """The week's ratings for this resident, or None when there are none (or no table)."""
    if not people_db.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{people_db}?mode=ro", uri=True)
        try:
            if not db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ratings'"
            ).fetchone():
                return None
            count, mean = db.execute(
                "SELECT count(*), avg(score) FROM ratings "
                "WHERE site = ? AND resident = ? AND ts >= ? AND ts < ?",
                (site, resident, start_ms, end_ms),
            ).fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:  # a ratings table of another shape: say so, show none
        log.warning("ratings unreadable (%s): the report shows no answers", type(exc).__name__)
        return None
    return Satisfaction(int(count), float(mean)) if count else None


def latest_ratings(
    people_db: Path, sites: frozenset[str] | None
) -> dict[tuple[str, str], tuple[int, float]]:
    """(site, resident) -> (when, score) of each resident's latest rating at ``sites`` (None:
    all); empty until the people database has a ``ratings`` table (the home page's column)."""
    if not people_db.exists():
        return {}
    try:
        db = sqlite3.connect(f"file:{people_db}?mode=ro", uri=True)
        try:
            if not db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ratings'"
            ).fetchone():
                return {}
            rows = db.execute(
                "SELECT site, resident, max(ts), score FROM ratings GROUP BY site, resident"
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        log.warning("ratings unreadable (%s): the home page shows none", type(exc).__name__)
        return {}
    return {
        (s, r): (int(ts), float(score)) for s, r, ts, score in rows if sites is None or s in sites
    }
