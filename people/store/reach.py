"""How a volunteer can be reached right now: "I'm available / not now", and the Web Push
subscriptions of their installed apps.

Both are the volunteer's own settings, kept apart from the volunteer record a coordinator
or a roster import replaces: a roster import must not switch a volunteer who said "not now"
back on, nor drop the phones they subscribed.

* ``volunteer_away``: a row means "not now", until ``until_ms`` (None: until they switch
  back). On-call routing reads it through :class:`people.Roster`.
* ``push_subscriptions``: one row per installed app (its push service ``endpoint`` and the
  keys the browser made for it, RFC 8291). The push channel removes a row when the push
  service answers 404 or 410 (the subscription is gone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from careloop.db import upsert
from careloop.tls import is_loopback
from people.errors import NotFound, PeopleError
from people.store.base import DirectoryBase

REACH_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS volunteer_away (
        volunteer TEXT PRIMARY KEY, until_ms INTEGER, updated_at INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS push_subscriptions (
        endpoint TEXT PRIMARY KEY, volunteer TEXT NOT NULL, p256dh TEXT NOT NULL,
        auth TEXT NOT NULL, created_at INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS push_by_volunteer ON push_subscriptions (volunteer)",
)
#: Most app installs one volunteer may subscribe (a phone, a tablet, a new phone...).
MAX_SUBSCRIPTIONS = 10


@dataclass(frozen=True, slots=True)
class PushSubscription:
    """One installed app's Web Push subscription (``PushSubscription.toJSON()``)."""

    endpoint: str
    volunteer: str
    #: The browser's P-256 public key, uncompressed point, base64url.
    p256dh: str
    #: The 16-byte authentication secret, base64url.
    auth: str
    created_at: int = 0


class Reach(DirectoryBase):
    """Availability and push subscriptions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.dialect != "sqlite":
            return  # PostgreSQL: people/migrations made the tables
        with self.tx() as db:
            for statement in REACH_SCHEMA:
                db.execute(statement)

    # -- "I'm available / not now" ----------------------------------------------------------
    def set_away(self, volunteer: str, away: bool, until_ms: int | None = None) -> None:
        """``away=True``: not paged until ``until_ms`` (None: until switched back);
        ``away=False``: available again."""
        with self.tx() as db:
            if not db.execute("SELECT 1 FROM volunteers WHERE id = ?", (volunteer,)).fetchone():
                raise NotFound("volunteer", volunteer)
            if not away:
                db.execute("DELETE FROM volunteer_away WHERE volunteer = ?", (volunteer,))
                return
            if until_ms is not None and until_ms <= self._now():
                raise PeopleError("'not now' needs a time in the future (or none)")
            db.execute(
                "INSERT INTO volunteer_away VALUES (?, ?, ?) ON CONFLICT (volunteer) DO UPDATE "
                "SET until_ms = excluded.until_ms, updated_at = excluded.updated_at",
                (volunteer, until_ms, self._now()),
            )

    def away(self) -> dict[str, int | None]:
        """volunteer -> until when they are away (None: until they switch back)."""
        rows = self.rows("SELECT volunteer, until_ms FROM volunteer_away", [])
        return {v: None if u is None else int(u) for v, u in rows}

    # -- Web Push subscriptions -------------------------------------------------------------
    def add_push_subscription(self, sub: PushSubscription) -> PushSubscription:
        """Store (or move to this volunteer) an app's subscription."""
        parts = urlsplit(sub.endpoint)
        plain_ok = parts.scheme == "http" and is_loopback(parts.hostname or "")
        if (
            not (parts.scheme == "https" or plain_ok)
            or not parts.netloc
            or len(sub.endpoint) > 1000
        ):
            # Push services are https; plain http only to this machine (a local stand-in).
            raise PeopleError("a push endpoint is an https URL (at most 1000 characters)")
        with self.tx() as db:
            if not db.execute("SELECT 1 FROM volunteers WHERE id = ?", (sub.volunteer,)).fetchone():
                raise NotFound("volunteer", sub.volunteer)
            count = db.execute(
                "SELECT count(*) FROM push_subscriptions WHERE volunteer = ? AND endpoint != ?",
                (sub.volunteer, sub.endpoint),
            ).fetchone()[0]
            if count >= MAX_SUBSCRIPTIONS:
                raise PeopleError(f"at most {MAX_SUBSCRIPTIONS} apps per volunteer receive pushes")
            now = self._now()
            db.execute(
                upsert(
                    "push_subscriptions",
                    "endpoint, volunteer, p256dh, auth, created_at",
                    "endpoint",
                ),
                (sub.endpoint, sub.volunteer, sub.p256dh, sub.auth, now),
            )
        return PushSubscription(sub.endpoint, sub.volunteer, sub.p256dh, sub.auth, now)

    def push_subscriptions(self, volunteer: str) -> list[PushSubscription]:
        rows = self.rows(
            "SELECT endpoint, volunteer, p256dh, auth, created_at FROM push_subscriptions "
            "WHERE volunteer = ? ORDER BY created_at, endpoint",
            [volunteer],
        )
        return [PushSubscription(*r) for r in rows]

    def pushable(self) -> set[str]:
        """Volunteers with at least one subscribed app."""
        return {r[0] for r in self.rows("SELECT DISTINCT volunteer FROM push_subscriptions", [])}

    def remove_push_subscription(self, endpoint: str, volunteer: str | None = None) -> bool:
        """Forget a subscription (only ``volunteer``'s, if given); whether one was removed."""
        sql, args = "DELETE FROM push_subscriptions WHERE endpoint = ?", [endpoint]
        if volunteer is not None:
            sql += " AND volunteer = ?"
            args.append(volunteer)
        with self.tx() as db:
            return bool(db.execute(sql, args).rowcount)

    def forget_reach(self, volunteer: str) -> None:
        """Drop a removed volunteer's availability and subscriptions."""
        with self.tx() as db:
            db.execute("DELETE FROM volunteer_away WHERE volunteer = ?", (volunteer,))
            db.execute("DELETE FROM push_subscriptions WHERE volunteer = ?", (volunteer,))
