"""Month-by-month figures: satisfaction, time to respond and resolve, complaint rate.

:func:`monthly` is the staff view (the dashboard's JSON and chart): per site and UTC month,
the needs and tickets opened, complaints and the complaint rate (complaints per need
opened), median time to the first accept and from accept to resolved, and the satisfaction
ratings (mean score 1-5, how many, how many went unanswered), also per tier and kind.
:func:`public_satisfaction` is what anyone may see: whole months before the current one,
per site only, every count from 1 to ``k - 1`` withheld and means only over ``k`` or more
ratings (a small group at one site is a person). Neither carries ids or words.

Per resident: :func:`resident_ratings` (a week's answers, for the weekly report),
:func:`latest_ratings` (each resident's last answer) and :func:`open_tickets` (open tickets
by tier), the last two for the coordinators' home page. Scores and counts only, no words.
"""

from __future__ import annotations

from datetime import UTC, datetime
from statistics import median
from typing import Any

from alerts.sla import SMALL_COUNT, _shown
from alerts.store import AlertStore
from alerts.ticketdb import TICKET_KINDS


def _month(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m")


def _site_clause(sites: frozenset[str] | None) -> tuple[str, list[str]]:
    if sites is None:
        return "1 = 1", []
    return (f"site IN ({','.join('?' * len(sites))})" if sites else "1 = 0"), sorted(sites)


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def monthly(
    store: AlertStore, *, sites: frozenset[str] | None = None, since_ms: int = 0
) -> list[dict[str, Any]]:
    """One record per site and month since ``since_ms``, oldest first (staff view)."""
    where, args = _site_clause(sites)
    groups: dict[tuple[str, str], dict[str, Any]] = {}

    def group(site: str, ms: int) -> dict[str, Any]:
        key = (site, _month(ms))
        if key not in groups:
            groups[key] = {
                "respond": [], "resolve": [], "scores": [], "no_answer": 0, "needs": 0,
                "tickets": 0, "complaints": 0, "tiers": {}, "kinds": {},
            }  # fmt: skip
        return groups[key]

    for site, kind, opened, accepted, resolved in store.db.execute(
        f"SELECT site, kind, opened_ms, accepted_ms, resolved_ms FROM alerts WHERE {where} "
        "AND opened_ms >= ?",
        [*args, since_ms],
    ):
        g = group(site, opened)
        g["needs"] += 1
        g["tickets"] += kind in ("request", "complaint")
        g["complaints"] += kind == "complaint"
        if accepted is not None:
            g["respond"].append((accepted - opened) / 1000)
            if resolved is not None:
                g["resolve"].append((resolved - accepted) / 1000)
    for site, kind, tier, score, ts in store.db.execute(
        f"SELECT site, kind, tier, score, ts_ms FROM ratings WHERE {where} AND ts_ms >= ?",
        [*args, since_ms],
    ):
        g = group(site, ts)
        if score is None:
            g["no_answer"] += 1
            continue
        g["scores"].append(score)
        g["tiers"].setdefault(tier, []).append(score)
        g["kinds"].setdefault(kind, []).append(score)
    out = []
    for (site, month), g in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        out.append(
            {
                "site": site,
                "month": month,
                "needs": g["needs"],
                "tickets": g["tickets"],
                "complaints": g["complaints"],
                "complaint_rate": round(g["complaints"] / g["needs"], 3) if g["needs"] else None,
                "respond_p50_s": median(g["respond"]) if g["respond"] else None,
                "resolve_p50_s": median(g["resolve"]) if g["resolve"] else None,
                "ratings": len(g["scores"]),
                "no_answer": g["no_answer"],
                "satisfaction": _mean(g["scores"]),
                "by_tier": {t: _mean(v) for t, v in sorted(g["tiers"].items())},
                "by_kind": {k: _mean(v) for k, v in sorted(g["kinds"].items())},
            }
        )
    return out


def public_satisfaction(
    store: AlertStore, *, today_ms: int, site: str | None = None, k: int = SMALL_COUNT
) -> dict[str, Any]:
    """Per site and whole month before the current one: how many ratings, the mean
    satisfaction, how many complaints - counts 1 to ``k - 1`` withheld, means only over at
    least ``k`` ratings. No kinds, tiers, volunteers or ids."""
    current = _month(today_ms)
    rows = []
    for r in monthly(store, sites=None if site is None else frozenset({site})):
        if r["month"] >= current:
            continue
        big = r["ratings"] >= k
        rows.append(
            {
                "site": r["site"],
                "month": r["month"],
                "ratings": _shown(r["ratings"], k),
                "satisfaction": r["satisfaction"] if big else None,
                "complaints": _shown(r["complaints"], k),
                "suppressed": not big,
            }
        )
    return {"k": k, "until_month": current, "groups": rows}


# -- per resident: the weekly report and the coordinators' home page ----------------------------
def resident_ratings(
    store: AlertStore, site: str, resident: str, since_ms: int, until_ms: int
) -> tuple[int, float | None, int]:
    """One resident's answers in [since_ms, until_ms): how many scored, their mean (1-5; None
    without any) and how many went unanswered. Scores only: the words a resident said stay
    in the store (kept only under their text consent) and the kinds of the needs rated are
    not carried, so any reader the resident shares their report with may see this."""
    row = store.db.execute(
        "SELECT count(score), avg(score), count(*) - count(score) FROM ratings "
        "WHERE site = ? AND resident = ? AND ts_ms >= ? AND ts_ms < ?",
        (site, resident, since_ms, until_ms),
    ).fetchone()
    answers, mean, unanswered = int(row[0]), row[1], int(row[2])
    return answers, (round(float(mean), 2) if answers else None), unanswered


def latest_ratings(
    store: AlertStore, sites: frozenset[str] | None = None
) -> dict[tuple[str, str], tuple[int, int]]:
    """(site, resident) -> (when, score) of each resident's latest scored answer at
    ``sites`` (None: all); a question left unanswered is not an answer. Scores only."""
    where, args = _site_clause(sites)
    rows = store.db.execute(
        f"SELECT site, resident, ts_ms, score FROM ratings r WHERE {where} "
        "AND score IS NOT NULL AND id = (SELECT id FROM ratings x WHERE x.site = r.site "
        "AND x.resident = r.resident AND x.score IS NOT NULL ORDER BY ts_ms DESC, id DESC "
        "LIMIT 1)",
        args,
    ).fetchall()
    return {(s, r): (int(ts), int(score)) for s, r, ts, score in rows}


def open_tickets(
    store: AlertStore, sites: frozenset[str] | None = None
) -> dict[tuple[str, str], dict[str, int]]:
    """(site, resident) -> {tier: count} of the open (not yet closed) request and complaint
    tickets at ``sites`` (None: all); residents without any are absent."""
    where, args = _site_clause(sites)
    out: dict[tuple[str, str], dict[str, int]] = {}
    kinds = ",".join("?" * len(TICKET_KINDS))
    for site, resident, tier, n in store.db.execute(
        f"SELECT site, resident, tier, count(*) FROM alerts WHERE {where} "
        f"AND kind IN ({kinds}) AND closed_ms IS NULL GROUP BY site, resident, tier",
        [*args, *TICKET_KINDS],
    ):
        out.setdefault((site, resident), {})[tier] = int(n)
    return out
