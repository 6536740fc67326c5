"""What a report reads from InfluxDB: hourly means of the vitals, steps, time in bed and the
resident's events, over the report's week and the four weeks before it (the usual band).

Queries are built here from validated ids and the wire tables' field names only, with
string literals escaped (:func:`careloop.influx.literal`); the answers are parsed here too.
Who asks is the caller's business: the CLI through the kernel's synchronous
:class:`~careloop.influx.InfluxClient`, the API through its async client, the same queries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.reports.week import Week
from careloop.influx import InfluxRejected, first_series, ident, literal

#: Vitals a report plots against the resident's usual band, in this order.
PLOTTED: tuple[str, ...] = (
    "heart_rate", "respiration_rate", "spo2", "temperature", "systolic_bp", "diastolic_bp",
)  # fmt: skip


#: How far past the week's end the bed readings go (to 08:00 on the next Monday).
BED_TAIL_MS = 8 * 3_600_000


@dataclass
class Readings:
    """The raw material of one report: every series in epoch ms, from ``week.prior_ms``."""

    #: field -> [(hour start ms, mean)] for PLOTTED, and "steps" -> [(hour, sum)].
    hourly: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    #: hour start ms -> (readings with bed_occupied true, readings with bed_occupied).
    bed: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: event type -> [ts ms] in the report's week.
    events: dict[str, list[int]] = field(default_factory=dict)


def _where(site: str, resident: str, start_ms: int, end_ms: int) -> str:
    return (
        f"site = {literal(site)} AND resident = {literal(resident)} "
        f"AND time >= {int(start_ms)}ms AND time < {int(end_ms)}ms"
    )


def queries(site: str, resident: str, week: Week) -> dict[str, str]:
    """The InfluxQL statements one report needs, by name (four, whatever the data)."""
    span = _where(site, resident, week.prior_ms, week.end_ms)
    # The week's last night ends on the next Monday morning.
    nights = _where(site, resident, week.prior_ms, week.end_ms + BED_TAIL_MS)
    means = ", ".join(f"mean({ident(f)}) AS {ident(f)}" for f in PLOTTED)
    hourly = "GROUP BY time(1h) fill(none)"
    return {
        "hourly": f'SELECT {means}, sum("steps") AS "steps" FROM vitals WHERE {span} {hourly}',
        "bed_in": f'SELECT count("bed_occupied") FROM vitals WHERE {nights} '
        f'AND "bed_occupied" = true {hourly}',
        "bed_all": f'SELECT count("bed_occupied") FROM vitals WHERE {nights} {hourly}',
        "events": f'SELECT "n" FROM event WHERE '
        f'{_where(site, resident, week.start_ms, week.end_ms)} GROUP BY "type" LIMIT 100000',
    }


def parse(answers: Mapping[str, list[dict[str, Any]]]) -> Readings:
    """:class:`Readings` from each query's ``series`` (see :func:`queries`)."""
    out = Readings()
    for s in answers.get("hourly", []):
        columns = s["columns"]
        for row in s.get("values") or []:
            for i, name in enumerate(columns[1:], 1):
                if row[i] is not None:
                    out.hourly.setdefault(name, []).append((int(row[0]), float(row[i])))
    inside = {int(r[0]): int(r[1]) for s in answers.get("bed_in", []) for r in s["values"]}
    for s in answers.get("bed_all", []):
        for ts, total in s.get("values") or []:
            if total:
                out.bed[int(ts)] = (inside.get(int(ts), 0), int(total))
    for s in answers.get("events", []):
        kind = (s.get("tags") or {}).get("type", "unknown")
        out.events.setdefault(kind, []).extend(int(r[0]) for r in s.get("values") or [])
    return out


def _series(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return first_series(answer)


def read(ask: Callable[[str], dict[str, Any]], site: str, resident: str, week: Week) -> Readings:
    """The readings through a synchronous ``ask(q)`` (e.g. ``InfluxClient.query`` with
    ``epoch="ms"``); a database nobody has written to yet means no readings."""
    answers: dict[str, list[dict[str, Any]]] = {}
    for name, q in queries(site, resident, week).items():
        try:
            answers[name] = _series(ask(q))
        except InfluxRejected as exc:
            if "database not found" not in exc.reason:
                raise
            answers[name] = []
    return parse(answers)


async def read_async(
    ask: Callable[[str], Awaitable[dict[str, Any]]], site: str, resident: str, week: Week
) -> Readings:
    """:func:`read` for the API's async client."""
    answers: dict[str, list[dict[str, Any]]] = {}
    for name, q in queries(site, resident, week).items():
        try:
            answers[name] = _series(await ask(q))
        except InfluxRejected as exc:
            if "database not found" not in exc.reason:
                raise
            answers[name] = []
    return parse(answers)
