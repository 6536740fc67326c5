"""What the coordinators' home page asks InfluxDB about every resident of their sites at once.

Each question is one InfluxQL statement for all residents (``GROUP BY site, resident``),
never one per resident:

* **latest vitals**: ``last()`` of every numeric vital within ``recent_ms``;
* **device status**: the last ``device_status`` state of each device;
* **care-plan events** since yesterday's local midnight (for what is due or overdue today);
* **usual band**: the same definition as the weekly report (median ± IQR of the resident's
  hourly means over the four weeks before; at least two days of them), computed by InfluxDB
  with a subquery and kept for :data:`BAND_TTL_MS` by :class:`BandCache`, since it moves
  slowly and scanning four weeks of readings at every refresh would not be cheap.

Queries are built from validated ids and the wire tables' field names only, with string
literals escaped (:func:`careloop.influx.literal`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from app.api import influxql
from app.reports.figures import MIN_BAND_HOURS, Band
from app.reports.week import PRIOR_DAYS
from careloop.influx import ident, literal
from careloop.shards import AsyncShardedInfluxClient

#: Vitals the home page shows, in column order.
SHOWN: tuple[str, ...] = ("heart_rate", "spo2", "respiration_rate", "temperature", "systolic_bp")
#: How long a computed usual band is reused.
BAND_TTL_MS = 3_600_000
DAY_MS = 86_400_000

Key = tuple[str, str]  # (site, resident)


def _sites(sites: frozenset[str] | None) -> str:
    """``site = 'a' OR site = 'b'`` in brackets (None: every site, no condition)."""
    if sites is None:
        return "true"
    if not sites:
        return "false"
    return "(" + " OR ".join(f"site = {literal(s)}" for s in sorted(sites)) + ")"


def latest_query(sites: frozenset[str] | None, since_ms: int) -> str:
    cols = ", ".join(f"last({ident(f)}) AS {ident(f)}" for f in SHOWN)
    return (
        f"SELECT {cols} FROM vitals WHERE {_sites(sites)} AND time >= {int(since_ms)}ms "
        'GROUP BY "site", "resident"'
    )


def devices_query(sites: frozenset[str] | None) -> str:
    return (
        f'SELECT last("state") AS "state" FROM device_status WHERE {_sites(sites)} '
        'GROUP BY "site", "resident", "device"'
    )


def events_query(sites: frozenset[str] | None, since_ms: int, types: list[str]) -> str:
    kinds = " OR ".join(f'"type" = {literal(t)}' for t in sorted(types)) or "false"
    return (
        f'SELECT "n" FROM event WHERE {_sites(sites)} AND ({kinds}) '
        f'AND time >= {int(since_ms)}ms GROUP BY "site", "resident", "type" LIMIT 1000'
    )


def band_query(sites: frozenset[str] | None, start_ms: int, end_ms: int) -> str:
    """Median and quartiles of each resident's hourly means (InfluxDB's nearest-rank
    percentiles; the report computes the same band with Python's quantiles)."""
    span = f"{_sites(sites)} AND time >= {int(start_ms)}ms AND time < {int(end_ms)}ms"
    inner = ", ".join(f"mean({ident(f)}) AS {ident(f)}" for f in SHOWN)
    parts = []
    for f in SHOWN:
        col = ident(f)
        parts += [
            f"count({col}) AS {ident(f + ':n')}",
            f"percentile({col}, 25) AS {ident(f + ':q1')}",
            f"median({col}) AS {ident(f + ':q2')}",
            f"percentile({col}, 75) AS {ident(f + ':q3')}",
        ]
    outer = ", ".join(parts)
    return (
        f"SELECT {outer} FROM (SELECT {inner} FROM vitals WHERE {span} "
        'GROUP BY time(1h), "site", "resident" fill(none)) GROUP BY "site", "resident"'
    )


def _key(series: dict[str, Any]) -> Key | None:
    tags = series.get("tags") or {}
    site, resident = tags.get("site"), tags.get("resident")
    return (site, resident) if site and resident else None


def _row(series: dict[str, Any]) -> dict[str, Any]:
    values = series.get("values") or [[]]
    return dict(zip(series["columns"], values[0], strict=False))


async def latest(
    client: AsyncShardedInfluxClient, sites: frozenset[str] | None, since_ms: int
) -> dict[Key, dict[str, float]]:
    """(site, resident) -> {vital: latest value} for readings since ``since_ms``."""
    out: dict[Key, dict[str, float]] = {}
    for s in await influxql.query(client, latest_query(sites, since_ms), sites):
        key = _key(s)
        if key is not None:
            row = _row(s)
            out[key] = {f: float(row[f]) for f in SHOWN if row.get(f) is not None}
    return out


@dataclass(frozen=True, slots=True)
class Devices:
    online: int
    total: int
    last_seen_ms: int


async def devices(
    client: AsyncShardedInfluxClient, sites: frozenset[str] | None
) -> dict[Key, Devices]:
    """(site, resident) -> how many of their devices last said "online", and when any spoke."""
    counts: dict[Key, list[int]] = {}
    for s in await influxql.query(client, devices_query(sites), sites):
        key = _key(s)
        if key is None:
            continue
        row = _row(s)
        c = counts.setdefault(key, [0, 0, 0])
        c[0] += row.get("state") == "online"
        c[1] += 1
        c[2] = max(c[2], int(row.get("time") or 0))
    return {k: Devices(*v) for k, v in counts.items()}


async def events(
    client: AsyncShardedInfluxClient, sites: frozenset[str] | None, since_ms: int, types: list[str]
) -> dict[Key, dict[str, list[int]]]:
    """(site, resident) -> {event type: [ts ms]} since ``since_ms``."""
    out: dict[Key, dict[str, list[int]]] = {}
    if not types:
        return out
    for s in await influxql.query(client, events_query(sites, since_ms, types), sites):
        key = _key(s)
        kind = (s.get("tags") or {}).get("type")
        if key is not None and kind:
            stamps = [int(r[0]) for r in s.get("values") or []]
            out.setdefault(key, {}).setdefault(kind, []).extend(stamps)
    return out


def parse_bands(series: list[dict[str, Any]]) -> dict[Key, dict[str, Band]]:
    out: dict[Key, dict[str, Band]] = {}
    for s in series:
        key = _key(s)
        if key is None:
            continue
        row = _row(s)
        for f in SHOWN:
            n, q1, q2, q3 = (row.get(f"{f}:{p}") for p in ("n", "q1", "q2", "q3"))
            if n is None or q1 is None or q2 is None or q3 is None or n < MIN_BAND_HOURS:
                continue
            iqr = float(q3) - float(q1)
            out.setdefault(key, {})[f] = Band(float(q2) - iqr, float(q2), float(q2) + iqr)
    return out


@dataclass
class BandCache:
    """Usual bands per (site, resident), recomputed at most once per :data:`BAND_TTL_MS`
    for each set of sites asked about (the API's process keeps one, on ``app.state``)."""

    ttl_ms: int = BAND_TTL_MS
    _kept: dict[frozenset[str] | None, tuple[int, dict[Key, dict[str, Band]]]] = field(
        default_factory=dict
    )

    async def bands(
        self,
        client: AsyncShardedInfluxClient,
        sites: frozenset[str] | None,
        now_ms: int | None = None,
    ) -> dict[Key, dict[str, Band]]:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        kept = self._kept.get(sites)
        if kept is not None and now - kept[0] < self.ttl_ms:
            return kept[1]
        # The four whole days-long weeks before today, as the report's band before its week.
        end = now - now % DAY_MS
        found = parse_bands(
            await influxql.query(client, band_query(sites, end - PRIOR_DAYS * DAY_MS, end), sites)
        )
        if len(self._kept) > 256:  # many distinct scopes: start afresh rather than grow
            self._kept.clear()
        self._kept[sites] = (now, found)
        return found
