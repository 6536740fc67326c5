"""Retention per site: which sites have an InfluxDB retention policy of their own.

A site with ``retention_days`` gets the policy ``site_<id>`` (created by
:mod:`app.privacy.retention` when the retention is set) and ingest writes that site's
points into it with ``/write?rp=site_<id>``, so InfluxDB drops them after the site's
duration. Sites without one are written to the database's default policy, as before.

Dead letters follow the same retention (:func:`dead_letter_sweep`, run from the replay
thread): a letter is kept no longer than its site keeps readings, and a letter naming no
site of the people database no longer than the strictest site.

Ingest learns the policies from InfluxDB itself (``SHOW RETENTION POLICIES``) at start and
then every :data:`REFRESH_S` seconds from the replay thread, never on the MQTT thread. A
policy created a moment ago is therefore used within seconds; a policy dropped by hand makes
that site's writes fail ("retention policy not found"), the batch is spooled, and the replay
writes it to the default policy once the next refresh has forgotten the policy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import MappingProxyType

from careloop.influx import InfluxClient
from careloop.settings import Settings
from careloop.shards import site_of_line
from ingest.deadletters import DeadLetterStore
from people.retention import Retention, Sweep

__all__ = ["PREFIX", "REFRESH_S", "SitePolicies", "dead_letter_sweep", "rp_name", "site_of_line"]

#: Seconds between ``SHOW RETENTION POLICIES`` while running.
REFRESH_S = 5.0
PREFIX = "site_"


def rp_name(site: str) -> str:
    """The retention policy of ``site`` (ids are safe in an identifier once quoted)."""
    return f"{PREFIX}{site}"


def policies_of(answer: dict) -> dict[str, str]:
    """site -> policy name, from the JSON answer of ``SHOW RETENTION POLICIES``."""
    out: dict[str, str] = {}
    for result in answer.get("results", []):
        for series in result.get("series", []):
            for row in series.get("values", []):
                name = str(row[0])
                if name.startswith(PREFIX) and len(name) > len(PREFIX):
                    out[name[len(PREFIX) :]] = name
    return out


class SitePolicies:
    """The current site -> policy map, replaced whole (readers never see half an update)."""

    def __init__(self) -> None:
        self._map: Mapping[str, str] = MappingProxyType({})
        self._lock = threading.Lock()
        self._checked = 0.0

    @property
    def current(self) -> Mapping[str, str]:
        """The map as of the last refresh (read-only)."""
        return self._map

    def refresh(self, writer: InfluxClient) -> None:
        """Re-read the policies; raises the writer's errors (the caller keeps the old map)."""
        name = writer.database.replace("\\", "\\\\").replace('"', '\\"')
        answer = writer.query(f'SHOW RETENTION POLICIES ON "{name}"')
        with self._lock:
            self._map = MappingProxyType(policies_of(answer))
            self._checked = time.monotonic()

    def due(self, seconds: float = REFRESH_S) -> bool:
        """Whether the last refresh is older than ``seconds``."""
        return time.monotonic() - self._checked >= seconds

    def set(self, policies: Mapping[str, str]) -> None:
        """Replace the map (tests, and callers that know better than InfluxDB)."""
        with self._lock:
            self._map = MappingProxyType(dict(policies))
            self._checked = time.monotonic()


def dead_letter_sweep(settings: Settings, dead: DeadLetterStore) -> Sweep:
    """The sweep that applies each site's retention to the dead letters (every
    ``people.retention_every`` seconds, from the people database of ``settings``)."""

    def purge(kept: Retention) -> dict[str, int]:
        return {"deadletters": dead.purge(kept.cutoffs, sites=kept.sites, others=kept.strictest)}

    every = settings.people.retention_every
    return Sweep(settings.paths.people, {"ingest": purge}, url=settings.store_url, every=every)
