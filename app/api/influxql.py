"""A resident's readings over time, in InfluxQL through the kernel's InfluxDB client.

Queries are built from validated ids and field names from the wire tables only, and string
literals are escaped all the same (:func:`careloop.influx.literal`), so nothing a caller
sends reaches InfluxQL as syntax. Failures are :class:`careloop.influx.InfluxError`, which
the API answers with 503.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from careloop.influx import InfluxRejected, first_series, ident, literal
from careloop.shards import AsyncShardedInfluxClient
from careloop.wire.measures import VITALS

#: Fields that can be plotted and averaged (numbers; bools and enums are not).
NUMERIC_VITALS: tuple[str, ...] = tuple(m.name for m in VITALS if m.type in ("float", "int"))


def where(site: str, resident: str, start_ms: int, end_ms: int) -> str:
    return (
        f"site = {literal(site)} AND resident = {literal(resident)} "
        f"AND time >= {int(start_ms)}ms AND time < {int(end_ms)}ms"
    )


async def query(
    client: AsyncShardedInfluxClient, q: str, sites: Iterable[str] | None
) -> list[dict[str, Any]]:
    """The ``series`` of the first statement's result (empty if none), times in epoch ms,
    from the InfluxDB shards holding ``sites`` (None: every shard).

    A database nobody has written to yet answers "database not found": no points, not an
    error.
    """
    try:
        answer = await client.query(q, epoch="ms", sites=sites)
    except InfluxRejected as exc:
        if "database not found" in exc.reason:
            return []
        raise
    return first_series(answer)


async def vitals(
    client: AsyncShardedInfluxClient,
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
    for s in await query(client, q, [site]):
        columns = s["columns"]
        for row in s.get("values") or []:
            for i, name in enumerate(columns[1:], 1):
                if name in out and row[i] is not None:
                    out[name].append((int(row[0]), float(row[i])))
    return out


async def events(
    client: AsyncShardedInfluxClient,
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
    for s in await query(client, q, [site]):
        kind = (s.get("tags") or {}).get("type", "unknown")
        points = out.setdefault(kind, [])
        for row in s.get("values") or []:
            if row[1] is not None:
                points.append((int(row[0]), float(row[1]) if every_s else 1.0))
    return out
