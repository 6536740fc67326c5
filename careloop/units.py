"""Durations as people write them in files and settings: ``"90s"``, ``"5m"``, ``"12h"``,
``"7d"`` or a number of seconds. Shared by the alert policy and roster files, which wrap
the ``ValueError`` in their own error naming the entry."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_ms(value: object) -> int:
    """The duration in milliseconds; ValueError for anything else or a value <= 0."""
    if isinstance(value, bool):
        raise ValueError("must be a duration, e.g. 30s, 5m, 12h, 7d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.fullmatch(value)):
        seconds = float(m.group(1)) * _UNIT_S[m.group(2)]
    else:
        raise ValueError(f"{value!r} is not a duration (30s, 5m, 12h, 7d)")
    if seconds <= 0:
        raise ValueError("must be positive")
    return round(seconds * 1000)
