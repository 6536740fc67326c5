"""Retention per site as InfluxDB retention policies (``site_<id>``), InfluxQL only.

A site's ``retention_days`` (in the directory) becomes the policy ``site_<id>`` on the
careloop database, ``DURATION <n>d REPLICATION 1``; ingest writes the site's points into it
(:mod:`ingest.retention`) and InfluxDB drops shards older than the duration. Setting the
retention back to 0 ("keep") alters the policy to ``DURATION INF`` rather than dropping it:
dropping a policy deletes every point in it at once.

Points written before a site had a policy stay in the default policy (``autogen``, kept
forever) until erased; set a site's retention when the site is created. Readers query a
site's measurement through :func:`sources`, which names every policy that may hold it.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.privacy.errors import PrivacyError
from careloop.influx import InfluxClient, InfluxError, ident
from careloop.wire import check_id
from ingest.retention import PREFIX, rp_name

__all__ = ["Policy", "apply_retention", "ident", "policies", "rp_name", "sources"]


@dataclass(frozen=True, slots=True)
class Policy:
    """One retention policy as InfluxDB reports it (``duration`` like ``720h0m0s``, 0s=INF)."""

    name: str
    duration: str
    shard_group_duration: str
    default: bool

    @property
    def site(self) -> str | None:
        """The site a ``site_<id>`` policy belongs to, else None."""
        return self.name[len(PREFIX) :] if self.name.startswith(PREFIX) else None


def policies(influx: InfluxClient) -> list[Policy]:
    """Every retention policy of the database (``SHOW RETENTION POLICIES``)."""
    try:
        answer = influx.query(f"SHOW RETENTION POLICIES ON {ident(influx.database)}")
    except InfluxError as exc:
        raise PrivacyError(f"cannot list retention policies: {exc}") from exc
    out = []
    for result in answer.get("results", []):
        for series in result.get("series", []):
            for name, duration, shard, _replicas, default in series.get("values", []):
                out.append(Policy(str(name), str(duration), str(shard), bool(default)))
    return out


def apply_retention(influx: InfluxClient, site: str, days: int) -> Policy | None:
    """Make ``site``'s policy keep ``days`` days (0 = forever); returns it as it now is.

    Creates ``site_<id>`` if missing (days > 0), alters it otherwise; with ``days == 0`` and
    no policy yet, nothing is created and None is returned.
    """
    check_id(site, "site")
    if days < 0:
        raise PrivacyError("retention days must be >= 0")
    name = rp_name(site)
    existing = {p.name: p for p in policies(influx)}
    duration = f"{days}d" if days else "INF"
    on = f"{ident(name)} ON {ident(influx.database)}"
    if name in existing:
        statement = f"ALTER RETENTION POLICY {on} DURATION {duration}"
    elif days:
        statement = f"CREATE RETENTION POLICY {on} DURATION {duration} REPLICATION 1"
    else:
        return None
    try:
        influx.query(statement)
    except InfluxError as exc:
        raise PrivacyError(f"cannot set the retention of site {site!r}: {exc}") from exc
    return next(p for p in policies(influx) if p.name == name)


def sources(database: str, site: str, measurement: str, known: list[Policy]) -> str:
    """The FROM clause for one site's ``measurement``: its own policy and the default one.

    ``"db"."site_x"."vitals", "db"."autogen"."vitals"`` when the site has a policy (older
    points may predate it), else just the default policy's measurement.
    """
    names = [p.name for p in known if p.default]
    if any(p.name == rp_name(site) for p in known):
        names.insert(0, rp_name(site))
    return ", ".join(f"{ident(database)}.{ident(n)}.{ident(measurement)}" for n in names)
