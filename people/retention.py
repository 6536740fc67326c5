"""Each site's retention, applied to every store that keeps something about its residents.

A site's ``retention_days`` (0 = keep forever) bounds how long anything about its residents
is kept: InfluxDB drops old points by itself (a retention policy per site, set by
``app.privacy``), and every other store is swept by the service that owns it: the alert
service its alerts, audit, pages, deliveries, replies and needs seen; ingest its dead
letters; the scorer the residents it has not heard from; the API the audit of reads. Each
calls :meth:`Sweep.due` from a loop it already has and runs its purges with the cutoffs.

Open alerts are never purged (a need still waiting for help is not history), and sites
whose retention is 0 keep everything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from careloop.logs import fields
from people.errors import PeopleError
from people.store import Directory

log = logging.getLogger(__name__)

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Retention:
    """What may be kept, as of one moment."""

    #: site -> the oldest time (epoch ms) still kept, for every site with a retention.
    cutoffs: Mapping[str, int]
    #: Every site of the people database (those absent from ``cutoffs`` keep everything).
    sites: frozenset[str]

    @property
    def strictest(self) -> int | None:
        """The latest cutoff of all, for rows of no known site (a message naming a site
        that does not exist is nobody's to keep); None if no site has a retention."""
        return max(self.cutoffs.values()) if self.cutoffs else None


#: A purge: the retention in, rows removed per table out.
Purge = Callable[[Retention], Mapping[str, int]]


def retention(directory: Directory, now_ms: int) -> Retention:
    """Every site's retention as the people database holds it now."""
    sites, _ = directory.sites(limit=None)
    return Retention(
        {s.id: now_ms - s.retention_days * DAY_MS for s in sites if s.retention_days > 0},
        frozenset(s.id for s in sites),
    )


class Sweep:
    """Run a service's purges at most every ``every`` seconds, with the people database's
    current retention; a failing purge is logged and tried again next time, never raised
    (a full disk must not stop alerts from being delivered)."""

    def __init__(
        self,
        people: Path,
        purges: Mapping[str, Purge],
        *,
        url: str = "",
        every: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.people = Path(people)
        self.url = url
        self.purges = dict(purges)
        self.every = every
        self.clock = clock
        self._last = float("-inf")
        #: Rows removed so far per ``<store>.<table>`` (for metrics and tests).
        self.removed: dict[str, int] = {}

    def due(self) -> bool:
        """Whether ``every`` seconds have passed since the last sweep."""
        return self.clock() - self._last >= self.every

    def run(self) -> dict[str, int]:
        """Sweep now; returns rows removed per ``<store>.<table>`` in this sweep."""
        self._last = self.clock()
        try:
            with Directory(self.people, url=self.url, synchronous=None) as directory:
                kept = retention(directory, int(self._last * 1000))
        except PeopleError as exc:
            log.warning("retention not applied", extra=fields(error=str(exc)[:200]))
            return {}
        out: dict[str, int] = {}
        if not kept.cutoffs:
            return out
        for store, purge in self.purges.items():
            try:
                removed = purge(kept)
            except Exception as exc:  # each store's own error type; retried next sweep
                log.warning(
                    "retention sweep failed",
                    extra=fields(store=store, error=f"{type(exc).__name__}: {str(exc)[:200]}"),
                )
                continue
            for table, n in removed.items():
                if n:
                    out[f"{store}.{table}"] = n
                    self.removed[f"{store}.{table}"] = self.removed.get(f"{store}.{table}", 0) + n
        if out:
            log.info("retention applied", extra=fields(sites=len(kept.cutoffs), **out))
        return out

    def maybe_run(self) -> dict[str, int]:
        """:meth:`run` if due, else nothing."""
        return self.run() if self.due() else {}
