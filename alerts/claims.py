"""Who acts: the claims that let any number of alert services share one alert store.

Every replica hears every need and reply (docs/scale-alerts.md); the database decides which
of them acts, with statements whose outcome is decided by the row they touch, so the same
SQL is correct on SQLite (``BEGIN IMMEDIATE`` serialises writers) and on PostgreSQL (READ
COMMITTED, where a second writer of a row waits for the first and then re-reads it):

* a need, a device's answer, an appointment reminder: a unique-key insert into the
  ``needs_seen`` log (``ON CONFLICT DO NOTHING``; one row inserted = ours);
* a reply: its nonce inserted into ``replies`` first, the same way;
* a deadline: ``DELETE`` of the timer row *with the due time read* (one row deleted = ours,
  inside the transaction that acts on it, so a crash un-deletes it);
* an alert: :meth:`Claims.lock_alert` before it is read for a change (a row lock on
  PostgreSQL; on SQLite the write transaction already holds the whole file);
* an outbox row: leased (``lease_until``, ``leased_by``) before it is sent, marked sent
  after; an MQTT row is born leased to the replica that queued it
  (:meth:`alerts.store.AlertStore.enqueue`). A replica killed mid-send leaves its lease to
  lapse; another then sends the row again under the same notification id (receivers drop
  an id they have seen).

A mixin of :class:`alerts.store.AlertStore`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from alerts.schema import Delivery
from careloop.db import Connection

Channel = Literal["mqtt", "webhook", "email", "push", "sms"]


class Claims:
    """Claims over the ``needs_seen``, ``replies``, ``timers`` and ``deliveries`` tables."""

    @property
    def db(self) -> Connection:
        raise NotImplementedError  # the store's connection

    if TYPE_CHECKING:  # the store's write transaction (careloop.store.Store.tx)
        from contextlib import _GeneratorContextManager

        def tx(self) -> _GeneratorContextManager[Connection]: ...

    # -- one-time events ------------------------------------------------------------------------
    def first_sight_of_need(self, site: str, need_id: str, state: str, ts_ms: int) -> bool:
        """Record a need message (or any event keyed like one); False if this exact one was
        recorded before: a redelivery, or another replica's copy that is already handled."""
        cur = self.db.execute(
            "INSERT INTO needs_seen (site, need_id, state, ts_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (site, need_id, state, ts_ms),
        )
        return cur.rowcount == 1

    def claim_reply(self, nonce: str, volunteer: str, alert: str, ts_ms: int, outcome: str) -> bool:
        """Record a reply's nonce with its outcome; False if the nonce was recorded before."""
        cur = self.db.execute(
            "INSERT INTO replies (nonce, volunteer, alert, ts_ms, outcome) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (nonce, volunteer, alert, ts_ms, outcome),
        )
        return cur.rowcount == 1

    def reply_seen(self, nonce: str) -> bool:
        row = self.db.execute("SELECT 1 FROM replies WHERE nonce = ?", (nonce,)).fetchone()
        return row is not None

    def record_reply(
        self, nonce: str, volunteer: str, alert: str, ts_ms: int, outcome: str
    ) -> None:
        """Record a reply's nonce (kept if recorded already)."""
        self.claim_reply(nonce, volunteer, alert, ts_ms, outcome)

    # -- alerts and deadlines ---------------------------------------------------------------
    def lock_alert(self, alert: str) -> None:
        """Hold the alert's row until the transaction ends, before reading it for a change.

        A no-op write: on PostgreSQL it takes the row lock, so a reply and a deadline of one
        alert handled by two replicas run one after the other, the second reading what the
        first committed; on SQLite the transaction already holds the file. Alerts are always
        locked before their timers, pages and outbox rows, so two changes never wait on
        each other in a cycle."""
        self.db.execute("UPDATE alerts SET step = step WHERE id = ?", (alert,))

    def claim_timer(self, alert: str, kind: str, due_ms: int) -> bool:
        """Take a due deadline: True if this transaction removed it (it fires here), False
        if it was moved, cleared or fired by another replica since it was read."""
        cur = self.db.execute(
            "DELETE FROM timers WHERE alert = ? AND kind = ? AND due_ms = ?", (alert, kind, due_ms)
        )
        return cur.rowcount == 1

    # -- the outbox -------------------------------------------------------------------------------
    def claim_deliveries(
        self, channel: Channel, now_ms: int, wall_ms: int, lease_ms: int, owner: str,
        limit: int = 200,
    ) -> list[Delivery]:  # fmt: skip
        """Lease up to ``limit`` due rows of ``channel`` that nobody holds (or whose lease
        lapsed) to ``owner`` until ``wall_ms + lease_ms``, oldest first; for MQTT, first the
        rows already leased to ``owner`` when queued (a read only: the hot path costs no
        transaction). With nothing to lease it only reads (on PostgreSQL every
        write transaction takes the schema's lock and commits).

        ``now_ms`` is the service's clock (due times), ``wall_ms`` the machine's (leases are
        about live processes, not simulated time). The outer conditions repeat the inner
        ones: on PostgreSQL a row another replica leased meanwhile is re-checked after its
        lock is released, and skipped."""
        own: list[Any] = []
        if channel == "mqtt":  # rows born leased to us (AlertStore.enqueue): a read only
            own = self.db.execute(
                "SELECT id, nid, alert, channel, target, payload, attempts FROM deliveries "
                "WHERE state = 'pending' AND channel = ? AND due_ms <= ? AND leased_by = ? "
                "AND lease_until >= ? ORDER BY id LIMIT ?",
                (channel, now_ms, owner, wall_ms, limit),
            ).fetchall()
        if own:  # the hot path: what we just queued; others' rows on the next call
            return [Delivery(*r) for r in own]
        free = self.db.execute(  # idle is a read: no write transaction, no commit
            "SELECT 1 FROM deliveries WHERE state = 'pending' AND channel = ? AND due_ms <= ? "
            "AND (lease_until IS NULL OR lease_until < ?) LIMIT 1",
            (channel, now_ms, wall_ms),
        ).fetchone()
        if free is None:
            return []
        with self.tx():
            rows = self.db.execute(
                "UPDATE deliveries SET lease_until = ?, leased_by = ? WHERE id IN ("
                " SELECT id FROM deliveries WHERE state = 'pending' AND channel = ?"
                " AND due_ms <= ? AND (lease_until IS NULL OR lease_until < ?)"
                " ORDER BY id LIMIT ?)"
                " AND state = 'pending' AND (lease_until IS NULL OR lease_until < ?)"
                " RETURNING id, nid, alert, channel, target, payload, attempts",
                (wall_ms + lease_ms, owner, channel, now_ms, wall_ms, limit, wall_ms),
            ).fetchall()
        return sorted((Delivery(*r) for r in rows), key=lambda d: d.id)

    def pending(self, channel: Channel, now_ms: int, limit: int = 200) -> list[Delivery]:
        """Due rows of ``channel`` not yet sent, leased or not (a view; senders claim)."""
        rows = self.db.execute(
            "SELECT id, nid, alert, channel, target, payload, attempts FROM deliveries "
            "WHERE state = 'pending' AND channel = ? AND due_ms <= ? ORDER BY id LIMIT ?",
            (channel, now_ms, limit),
        ).fetchall()
        return [Delivery(*r) for r in rows]

    def next_delivery_due(self, channel: Channel) -> int | None:
        row = self.db.execute(
            "SELECT min(due_ms) FROM deliveries WHERE state = 'pending' AND channel = ?",
            (channel,),
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def mark_sent(self, ids: list[int], now_ms: int) -> None:
        with self.tx() as db:
            db.executemany(
                "UPDATE deliveries SET state = 'sent', sent_ms = ?, attempts = attempts + 1, "
                "lease_until = NULL WHERE id = ?",
                [(now_ms, i) for i in ids],
            )

    def retry_later(self, delivery: int, due_ms: int, error: str, *, give_up: bool) -> None:
        with self.tx() as db:
            db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, due_ms = ?, last_error = ?, "
                "state = ?, lease_until = NULL WHERE id = ?",
                (due_ms, error[:300], "failed" if give_up else "pending", delivery),
            )
