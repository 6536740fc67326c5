"""Read-only queries on the alert store for the API: filtered, paged, scoped to sites.

The alert service owns the store and writes it; the API reads it on a connection of its own
(WAL: readers never block the writer), so lists work even where the service runs in
another process.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from alerts.model import Alert
from alerts.store import AlertStore

_COLUMNS = tuple(f.name for f in fields(Alert))


def _alert(row: tuple[Any, ...]) -> Alert:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["respond_breached"] = bool(values["respond_breached"])
    values["resolve_breached"] = bool(values["resolve_breached"])
    return Alert(**values)


def find_alerts(
    store: AlertStore,
    sites: frozenset[str] | None,
    *,
    filters: dict[str, str | None],
    offset: int,
    limit: int,
    among: frozenset[tuple[str, str]] | None = None,
) -> tuple[list[Alert], int]:
    """Alerts of ``sites`` (None = all) matching ``filters`` (site, state, tier, kind,
    resident; ``state="open"`` means any state not yet closed), newest first, and the total.
    ``among``: only alerts of these (site, resident) pairs (what a caller may know about)."""
    where, args = ["1 = 1"], []  # PostgreSQL wants a boolean
    if sites is not None:
        where.append(f"site IN ({','.join('?' * len(sites))})" if sites else "1 = 0")
        args += sorted(sites)
    for key in ("site", "tier", "kind", "resident"):
        value = filters.get(key)
        if value is not None:
            where.append(f"{key} = ?")
            args.append(value)
    if among is not None:
        pairs = sorted(among)
        where.append(
            "(site, resident) IN (VALUES " + ",".join("(?, ?)" for _ in pairs) + ")"
            if pairs
            else "1 = 0"
        )
        args += [x for pair in pairs for x in pair]
    state = filters.get("state")
    if state == "open":
        where.append("closed_ms IS NULL")
    elif state is not None:
        where.append("state = ?")
        args.append(state)
    clause = " AND ".join(where)
    total = int(store.db.execute(f"SELECT count(*) FROM alerts WHERE {clause}", args).fetchone()[0])
    rows = store.db.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM alerts WHERE {clause} "
        "ORDER BY opened_ms DESC, id LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return [_alert(r) for r in rows], total


def get_alert(store: AlertStore, alert_id: str) -> Alert | None:
    row = store.db.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM alerts WHERE id = ?", (alert_id,)
    ).fetchone()
    return None if row is None else _alert(row)


def alert_sites(store: AlertStore, alert_ids: set[str]) -> dict[str, str]:
    """alert id -> site, for filtering the event stream."""
    if not alert_ids:
        return {}
    ids = sorted(alert_ids)
    rows = store.db.execute(
        f"SELECT id, site FROM alerts WHERE id IN ({','.join('?' * len(ids))})", ids
    ).fetchall()
    return dict(rows)


def open_needs(
    store: AlertStore, sites: frozenset[str] | None
) -> dict[tuple[str, str], dict[str, int]]:
    """(site, resident) -> {tier: open alerts} for ``sites`` (None = all), in one query."""
    where, args = "closed_ms IS NULL", list[str]()
    if sites is not None:
        where += f" AND site IN ({','.join('?' * len(sites))})" if sites else " AND 0"
        args = sorted(sites)
    rows = store.db.execute(
        f"SELECT site, resident, tier, count(*) FROM alerts WHERE {where} "
        "GROUP BY site, resident, tier",
        args,
    ).fetchall()
    out: dict[tuple[str, str], dict[str, int]] = {}
    for site, resident, tier, n in rows:
        out.setdefault((site, resident), {})[tier] = int(n)
    return out
