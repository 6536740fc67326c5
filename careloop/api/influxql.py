"""InfluxQL on InfluxDB's ``/query`` (never ``/api/v2``): a resident's readings over time.

Queries are built from validated ids and field names from the wire tables only, and string
literals are escaped all the same, so nothing a caller sends reaches InfluxQL as syntax.
"""

from __future__ import annotations

from typing import Any

import httpx

from careloop.errors import CareloopError
from careloop.wire.measures import VITALS

#: Fields that can be plotted and averaged (numbers; bools and enums are not).
NUMERIC_VITALS: tuple[str, ...] = tuple(m.name for m in VITALS if m.type in ("float", "int"))


class InfluxQueryError(CareloopError):
    """InfluxDB did not answer, or refused the query."""


def literal(value: str) -> str:
    """A single-quoted InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ident(name: str) -> str:
    """A double-quoted InfluxQL identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def where(site: str, resident: str, start_ms: int, end_ms: int) -> str:
    return (
        f"site = {literal(site)} AND resident = {literal(resident)} "
        f"AND time >= {int(start_ms)}ms AND time < {int(end_ms)}ms"
    )


async def query(client: httpx.AsyncClient, database: str, q: str) -> list[dict[str, Any]]:
    """The ``series`` of the first statement's result (empty if none), times in epoch ms."""
    try:
        response = await client.get("/query", params={"db": database, "q": q, "epoch": "ms"})
    except httpx.HTTPError as exc:
        raise InfluxQueryError(f"InfluxDB unreachable: {type(exc).__name__}") from exc
    if response.status_code >= 500:
        raise InfluxQueryError(f"InfluxDB answered {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise InfluxQueryError("InfluxDB answered something that is not JSON") from exc
    if response.status_code >= 400 or body.get("error"):
        raise InfluxQueryError(f"InfluxDB refused the query: {str(body.get('error'))[:200]}")
    results = body.get("results") or [{}]
    first = results[0]
    if first.get("error"):
        if "database not found" in str(first["error"]):
            return []
        raise InfluxQueryError(f"InfluxDB refused the query: {str(first['error'])[:200]}")
    series: list[dict[str, Any]] = first.get("series") or []
    return series


async def vitals(
    client: httpx.AsyncClient,
    database: str,
    site: str,
    resident: str,
    fields: list[str],
    start_ms: int,
    end_ms: int,
    every_s: int | None,
    limit: int,
) -> dict[str, list[tuple[int, float]]]:
    """``{field: [[ts_ms, value], ...]}``; raw points, or means per ``every_s`` bucket."""
    cond = where(site, resident, start_ms, end_ms)
    if every_s:
        cols = ", ".join(f"mean({ident(f)}) AS {ident(f)}" for f in fields)
        q = f"SELECT {cols} FROM vitals WHERE {cond} GROUP BY time({every_s}s) fill(none)"
    else:
        cols = ", ".join(ident(f) for f in fields)
        q = f"SELECT {cols} FROM vitals WHERE {cond} ORDER BY time ASC LIMIT {int(limit)}"
    out: dict[str, list[tuple[int, float]]] = {f: [] for f in fields}
    for s in await query(client, database, q):
        columns = s["columns"]
        for row in s.get("values") or []:
            for i, name in enumerate(columns[1:], 1):
                if name in out and row[i] is not None:
                    out[name].append((int(row[0]), float(row[i])))
    return out


async def events(
    client: httpx.AsyncClient,
    database: str,
    site: str,
    resident: str,
    start_ms: int,
    end_ms: int,
    every_s: int | None,
    limit: int,
) -> dict[str, list[tuple[int, float]]]:
    """``{event type: [[ts_ms, count], ...]}``; each occurrence (count 1), or counts per
    ``every_s`` bucket."""
    cond = where(site, resident, start_ms, end_ms)
    if every_s:
        group = f'GROUP BY time({every_s}s), "type" fill(none)'
        q = f'SELECT count("n") FROM event WHERE {cond} {group}'
    else:
        q = f'SELECT "n" FROM event WHERE {cond} GROUP BY "type" ORDER BY time ASC LIMIT {limit:d}'
    out: dict[str, list[tuple[int, float]]] = {}
    for s in await query(client, database, q):
        kind = (s.get("tags") or {}).get("type", "unknown")
        points = out.setdefault(kind, [])
        for row in s.get("values") or []:
            if row[1] is not None:
                points.append((int(row[0]), float(row[1]) if every_s else 1.0))
    return out
