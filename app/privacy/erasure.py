"""Erasure of one resident across every store, with a sealed receipt.

:meth:`Eraser.erase` works through the stores in an order that stops new data first and
removes the directory entry last (so a failure half-way leaves a resident that can be erased
again; every step is idempotent, a second run's receipt shows what was left)::

    registry       the resident's devices leave ingest's registry; their MQTT credentials
                   leave the broker's files (broker reloaded); their API tokens are revoked
    influxdb       every point tagged site=<site>, resident=<id>, in every measurement and
                   every retention policy: ``DELETE WHERE "site"='..' AND "resident"='..'``
                   (1.6.7 refuses ``DELETE FROM "db"."rp"...``; a DELETE without FROM covers
                   every policy and also drops the series from the index); counted before,
                   recounted after (``remaining`` must be 0); every measurement, not only
                   ingest's four, so points written by anything else are covered too;
                   on every InfluxDB shard, not only the site's (points written before the
                   site moved shard are erased too; a shard that is down fails the step)
    deadletters    letters from the devices' topics, or from the site's topics whose
                   payload/detail names the resident (ids are per site)
    alerts         the resident's alerts and every row keyed by them (audit, pages, timers,
                   deliveries, replies), the needs-dedup rows (``<resident>:...``) and the
                   roster entry: DELETED, not anonymised: an anonymised audit trail keyed
                   by alert id would still be the resident's care history
    directory      resident, consents, read-audit rows (Directory.erase_resident)
    score          an erase command on ``careloop/control/v1/<site>/erase`` (QoS 1): each
                   scorer owning the site forgets the resident's learned state and writes
                   a new snapshot at once; a scorer that is down gets it from its
                   persistent session when it returns (docs/privacy.md)

Counts are rows (SQLite) or points (InfluxDB, a point counted by its most frequent field).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from alerts import AlertsError, AlertStore
from app.privacy.errors import PrivacyError
from app.privacy.receipts import ReceiptStore, seal
from app.privacy.retention import ident, policies
from app.provision import Provisioner
from careloop.influx import InfluxClient, InfluxError, literal
from careloop.shards import DEFAULT_SHARD, ShardedInfluxClient
from careloop.wire import UPLINK_KINDS, Topic, check_id
from careloop.wire.control import EraseCommand, erase_topic
from careloop.wire.topics import PREFIX
from ingest import DeadLetterError, DeadLetterStore

#: Tables of the alert store keyed by alert id (besides ``alerts`` itself).

SCORE_NOTE = (
    "erase command published (QoS 1, acknowledged by the broker): each scorer owning the site "
    "forgets the resident's learned state (baselines, rule timers, open needs) and rewrites "
    "its snapshot; a scorer that is down applies it when it reconnects (docs/privacy.md)"
)
SCORE_NOT_SENT = (
    "no erase command was sent (no broker configured for erasure): the scorer's learned "
    "state for this resident stays until it is erased with a broker (docs/privacy.md)"
)


class DirectoryLike(Protocol):
    """What erasure needs of ``people.Directory``."""

    def erase_resident(self, site: str, resident: str) -> dict[str, int]: ...

    def revoke_subject(self, subject: str, role: Any = None) -> int: ...


@dataclass
class Stores:
    """Where a resident's data lives in one deployment."""

    #: One server, or every shard (erasure covers each of them).
    influx: InfluxClient | ShardedInfluxClient
    directory: DirectoryLike
    provisioner: Provisioner
    deadletters: Path
    alerts: Path | None
    receipts: ReceiptStore
    #: Publishes (topic, payload) at QoS 1 and returns once the broker acknowledged it;
    #: None = no broker (the receipt says the scorer state was not reached).
    control: Callable[[str, bytes], None] | None = None
    #: The ``database_url`` setting: "" = the alert store and the dead letters are the files
    #: ``alerts`` and ``deadletters``; else both live on that PostgreSQL database.
    database_url: str = ""


class Eraser:
    """Erase residents from :class:`Stores` and keep the receipts."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores

    def erase(self, site: str, resident: str, *, subject: str, role: str) -> dict[str, Any]:
        """Erase ``resident`` of ``site`` everywhere; returns the stored, sealed receipt."""
        check_id(site, "site")
        check_id(resident, "resident")
        started = time.time()
        devices = [
            d.device
            for d in self.stores.provisioner.registry.devices()
            if (d.site, d.resident) == (site, resident)
        ]
        credentials, _ = self.stores.provisioner.devices(
            frozenset({site}), include_revoked=True, limit=1_000_000
        )
        devices = sorted({*devices, *(c.device for c in credentials if c.resident == resident)})
        stores: dict[str, dict[str, Any]] = {}
        stores["registry"] = self._registry(site, resident, devices)
        stores["influxdb"] = self._influx(site, resident)
        stores["deadletters"] = self._deadletters(site, resident, devices)
        stores["alerts"] = self._alerts(site, resident)
        stores["directory"] = dict(self.stores.directory.erase_resident(site, resident))
        receipt_id = f"er-{secrets.token_hex(8)}"
        stores["score"] = self._score(receipt_id, site, resident)
        finished = time.time()
        receipt = seal(
            {
                "id": receipt_id,
                "site": site,
                "resident": resident,
                "requested_by": {"subject": subject, "role": role},
                "started_at": _iso(started),
                "finished_at": _iso(finished),
                "erased_at_ms": int(finished * 1000),
                "devices": devices,
                "stores": stores,
                "totals": {name: _total(entry) for name, entry in stores.items()},
            }
        )
        self.stores.receipts.add(receipt)
        return receipt

    # -- the stores -----------------------------------------------------------------------
    def _score(self, receipt_id: str, site: str, resident: str) -> dict[str, Any]:
        if self.stores.control is None:
            return {"erase_commands": 0, "note": SCORE_NOT_SENT}
        cmd = EraseCommand(id=receipt_id, site=site, resident=resident, ts=int(time.time() * 1000))
        try:
            self.stores.control(erase_topic(site), cmd.model_dump_json().encode())
        except Exception as exc:  # any broker failure: the receipt must say so
            raise PrivacyError(f"could not send the erase command to the scorers: {exc}") from exc
        return {"erase_commands": 1, "topic": erase_topic(site), "note": SCORE_NOTE}

    def _registry(self, site: str, resident: str, devices: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.stores.provisioner.erase_resident(site, resident))
        out["api_tokens_revoked"] = sum(
            self.stores.directory.revoke_subject(d, "device") for d in devices
        )
        return out

    def _influx(self, site: str, resident: str) -> dict[str, Any]:
        influx = self.stores.influx
        shards = influx.clients if isinstance(influx, ShardedInfluxClient) else {"": influx}
        where = f'"site" = {literal(site)} AND "resident" = {literal(resident)}'
        statement = f"DELETE WHERE {where}"
        before: dict[str, int] = {}
        remaining = 0
        for name, client in shards.items():
            # One server (or the default shard) keeps the receipt's keys as they were.
            prefix = "" if name in ("", DEFAULT_SHARD) else f"{name}:"
            counted = self._points(client, where)
            before.update({prefix + key: n for key, n in counted.items()})
            try:
                client.query(statement)
            except InfluxError as exc:
                raise PrivacyError(f"InfluxDB erasure failed{_on(name)}: {exc}") from exc
            remaining += sum(self._points(client, where).values())
        if remaining:
            raise PrivacyError(f"InfluxDB still holds {remaining} points after DELETE")
        return {"points": before, "statement": statement, "remaining": remaining}

    def _points(self, influx: InfluxClient, where: str) -> dict[str, int]:
        """Points per ``<policy>.<measurement>`` matching ``where`` (non-zero ones only)."""
        db = ident(influx.database)
        out: dict[str, int] = {}
        for policy in policies(influx):
            # One query per policy: a regex FROM answers one series per measurement.
            q = f"SELECT count(*) FROM {db}.{ident(policy.name)}./.*/ WHERE {where}"
            try:
                answer = influx.query(q)
            except InfluxError as exc:
                raise PrivacyError(f"cannot count points: {exc}") from exc
            for result in answer.get("results", []):
                for series in result.get("series", []):
                    n = 0
                    for row in series.get("values", []):
                        n = max([n, *(int(v) for v in row[1:] if v is not None)])
                    if n:
                        out[f"{policy.name}.{series['name']}"] = n
        return out

    def _deadletters(self, site: str, resident: str, devices: list[str]) -> dict[str, Any]:
        topics = [str(Topic(site, d, k)) for d in devices for k in UPLINK_KINDS]  # type: ignore[arg-type]  # UPLINK_KINDS are Kinds
        needles = [f'"resident":"{resident}"', f'"resident": "{resident}"']
        anywhere = [
            f"resident={resident},site={site}",  # a refused line of line protocol
            f"resident {resident!r} at site {site!r}",  # the registry's 'spoofed' detail
        ]
        prefix = f"{PREFIX}/{site}/"  # the site's topics (careloop.wire.topics layout)
        try:
            with DeadLetterStore(self.stores.deadletters, url=self.stores.database_url) as store:
                n = store.erase(
                    topics=topics, needles=needles, topic_prefix=prefix, anywhere=anywhere
                )
        except DeadLetterError as exc:
            raise PrivacyError(f"dead-letter erasure failed: {exc}") from exc
        return {"rows": n}

    def _alerts(self, site: str, resident: str) -> dict[str, Any]:
        path, url = self.stores.alerts, self.stores.database_url
        if path is None or (not url and not Path(path).exists()):
            return {"alerts": 0, "note": "no alert store"}
        try:
            with AlertStore(Path(path), url=url) as store:
                return dict(store.erase_resident(site, resident))
        except AlertsError as exc:
            raise PrivacyError(f"alert store erasure failed: {exc}") from exc


def _on(shard: str) -> str:
    return f" on shard {shard}" if shard else ""


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def _total(entry: dict[str, Any]) -> int:
    """The entry's count: InfluxDB points, else the sum of its integer values."""
    if "points" in entry:
        return sum(entry["points"].values())
    # "remaining" is a check, and an erase command sent is not something erased here
    skip = ("remaining", "erase_commands")
    return sum(v for k, v in entry.items() if isinstance(v, int) and k not in skip)
