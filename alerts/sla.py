"""The anonymised closed-loop view: every need, and how it was handled.

For the public board (the API issue) and for reviews: one record per alert with the need's
kind, tier, site, the hour it opened, how long until someone accepted and until it was
resolved, whether a deadline was missed, how many escalation steps and declines it took,
and how it ended. No resident, volunteer or alert ids, no summaries: a record cannot be
tied back to a person (the opening time is rounded to the hour for the same reason).
"""

from __future__ import annotations

from typing import Any

from alerts.store import AlertStore

_HOUR_MS = 3_600_000
_DAY_MS = 86_400_000
#: The public board shows no count below this (a site, a kind and a day can be a person).
SMALL_COUNT = 5


def closed_loop(store: AlertStore, *, since_ms: int = 0) -> list[dict[str, Any]]:
    """One anonymised record per alert opened since ``since_ms``, oldest first."""
    rows = store.db.execute(
        """
        SELECT a.id, a.site, a.kind, a.tier, a.state, a.opened_ms, a.accepted_ms,
               a.resolved_ms, a.closed_ms, a.respond_breached, a.resolve_breached, a.evidence,
               (SELECT count(*) FROM audit u WHERE u.alert = a.id AND u.action = 'escalate'),
               (SELECT count(*) FROM audit u WHERE u.alert = a.id AND u.action = 'decline'),
               (SELECT count(*) FROM pages p WHERE p.alert = a.id)
        FROM alerts a WHERE a.opened_ms >= ? ORDER BY a.opened_ms, a.id
        """,
        (since_ms,),
    ).fetchall()
    out = []
    for n, r in enumerate(rows, 1):
        (_id, site, kind, tier, state, opened, accepted, resolved, closed, rb, sb, evidence,
         escalations, declines, paged) = r  # fmt: skip
        out.append(
            {
                "n": n,
                "site": site,
                "kind": kind,
                "tier": tier,
                "opened_hour": opened // _HOUR_MS * _HOUR_MS,
                "time_to_accept_s": None if accepted is None else (accepted - opened) / 1000,
                "time_to_resolve_s": (
                    None if resolved is None or accepted is None else (resolved - accepted) / 1000
                ),
                "outcome": state if closed is not None else "open",
                "respond_breached": bool(rb),
                "resolve_breached": bool(sb),
                "escalations": escalations,
                "declines": declines,
                "volunteers_paged": paged,
                "evidence_merged": evidence,
            }
        )
    return out


def summary(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per ``site/tier``: counts, median and worst time to accept and resolve, breaches."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(f"{r['site']}/{r['tier']}", []).append(r)
    out: dict[str, dict[str, Any]] = {}
    for key, rs in sorted(groups.items()):
        accept = sorted(r["time_to_accept_s"] for r in rs if r["time_to_accept_s"] is not None)
        resolve = sorted(r["time_to_resolve_s"] for r in rs if r["time_to_resolve_s"] is not None)
        out[key] = {
            "alerts": len(rs),
            "accepted": len(accept),
            "resolved": sum(r["outcome"] == "resolved" for r in rs),
            "expired": sum(r["outcome"] == "expired" for r in rs),
            "respond_breaches": sum(r["respond_breached"] for r in rs),
            "resolve_breaches": sum(r["resolve_breached"] for r in rs),
            "accept_p50_s": _median(accept),
            "accept_max_s": accept[-1] if accept else None,
            "resolve_p50_s": _median(resolve),
            "resolve_max_s": resolve[-1] if resolve else None,
        }
    return out


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def public_board(
    store: AlertStore, *, days: int, today_ms: int, site: str | None = None, k: int = SMALL_COUNT
) -> dict[str, Any]:
    """What anyone may see: per site and tier, over the ``days`` whole UTC days before
    today (today's partial day is left out, so watching it change reveals no opening time),
    how many needs there were, how many were answered within the deadline, and how fast.

    Every count from 1 to ``k - 1`` is withheld (``None``), and times are given only for
    groups of at least ``k`` needs: a small count at a site is a person. Zero is shown.
    Nothing finer than a day, no kinds, no ids.
    """
    until = today_ms // _DAY_MS * _DAY_MS
    since = until - days * _DAY_MS
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in closed_loop(store, since_ms=since):
        if r["opened_hour"] >= until or (site is not None and r["site"] != site):
            continue
        groups.setdefault((r["site"], r["tier"]), []).append(r)
    rows = []
    for (where, tier), rs in sorted(groups.items()):
        accepted = sorted(r["time_to_accept_s"] for r in rs if r["time_to_accept_s"] is not None)
        on_time = sum(
            1 for r in rs if r["time_to_accept_s"] is not None and not r["respond_breached"]
        )
        big = len(rs) >= k
        rows.append(
            {
                "site": where,
                "tier": tier,
                "needs": _shown(len(rs), k),
                "accepted": _shown(len(accepted), k) if big else None,
                "on_time": _shown(on_time, k) if big else None,
                "accept_p50_s": _median(accepted) if big and len(accepted) >= k else None,
                "suppressed": not big,
            }
        )
    return {"since_ms": since, "until_ms": until, "days": days, "k": k, "groups": rows}


def _shown(count: int, k: int) -> int | None:
    """``count``, or None when it is small enough to point at a person (1 to k - 1)."""
    return None if 0 < count < k else count
