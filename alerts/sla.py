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
