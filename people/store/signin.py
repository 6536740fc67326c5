"""One-time sign-in for the volunteers' app: a six-digit code and a link, sent by e-mail.

Asking for a sign-in (:meth:`SignIns.create_signin`) makes one pair: a code to type and a
random link token, both stored only as SHA-256 hashes, both expiring after a few minutes,
and both spent by the first successful use, which also spends every other pair the
volunteer still holds (asking twice and using the first does not leave the second usable).
A code admits only :data:`MAX_CODE_TRIES` wrong guesses; a volunteer may ask at most
``max_recent`` times in ``window_ms`` (:class:`TooManySignIns`), so a stranger who knows an
e-mail address cannot flood its inbox.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from people.errors import PeopleError
from people.model import Volunteer
from people.store.base import DirectoryBase
from people.store.volunteers import VOL_COLS, volunteer_of

SIGNIN_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS signin_codes (
        id TEXT PRIMARY KEY, volunteer TEXT NOT NULL, code_hash TEXT NOT NULL,
        link_hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL, used_at INTEGER, tries INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS signin_by_volunteer ON signin_codes (volunteer, created_at)",
)
#: Wrong codes a sign-in admits before it is spent.
MAX_CODE_TRIES = 5


class TooManySignIns(PeopleError):
    """This volunteer asked for sign-ins too often; ``retry_after_s`` until the next."""

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__("too many sign-in requests")


@dataclass(frozen=True, slots=True)
class SignIn:
    """What to send: the code and the link token (shown once, stored hashed)."""

    id: str
    volunteer: str
    code: str
    link: str
    expires_at: int


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class SignIns(DirectoryBase):
    """One-time sign-in codes and links."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.dialect != "sqlite":
            return  # PostgreSQL: people/migrations made the tables
        with self.tx() as db:
            for statement in SIGNIN_SCHEMA:
                db.execute(statement)

    def volunteer_by_email(self, email: str) -> Volunteer | None:
        """The volunteer with this e-mail address (case-insensitive), if exactly one."""
        rows = self.rows(
            f"SELECT {VOL_COLS} FROM volunteers WHERE lower(email) = lower(?)", [email.strip()]
        )
        return volunteer_of(rows[0]) if len(rows) == 1 else None

    def create_signin(
        self, volunteer: str, *, lifetime_ms: int, max_recent: int = 3, window_ms: int = 900_000
    ) -> SignIn:
        """A new code and link for ``volunteer``; :class:`TooManySignIns` past the limit."""
        now = self._now()
        sid = secrets.token_hex(8)
        code = f"{secrets.randbelow(1_000_000):06d}"
        link = "cls_" + secrets.token_urlsafe(32)
        with self.tx() as db:
            recent = db.execute(
                "SELECT created_at FROM signin_codes WHERE volunteer = ? AND created_at > ? "
                "ORDER BY created_at",
                (volunteer, now - window_ms),
            ).fetchall()
            if len(recent) >= max_recent:
                raise TooManySignIns(max(1, (recent[0][0] + window_ms - now + 999) // 1000))
            db.execute("DELETE FROM signin_codes WHERE expires_at < ?", (now - window_ms,))
            db.execute(
                "INSERT INTO signin_codes (id, volunteer, code_hash, link_hash, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (sid, volunteer, _hash(f"{sid}:{code}"), _hash(link), now, now + lifetime_ms),
            )
        return SignIn(sid, volunteer, code, link, now + lifetime_ms)

    def redeem_signin_link(self, link: str) -> str | None:
        """The volunteer a live, unused link signs in (spending it), else None."""
        now = self._now()
        with self.tx() as db:
            row = db.execute(
                "SELECT volunteer FROM signin_codes WHERE link_hash = ? AND used_at IS NULL "
                "AND expires_at > ? AND tries < ?",
                (_hash(link), now, MAX_CODE_TRIES),
            ).fetchone()
            if row is None:
                return None
            self._spend(db, row[0], now)
            return str(row[0])

    def redeem_signin_code(self, volunteer: str, code: str) -> str | None:
        """``volunteer`` if ``code`` matches one of their live sign-ins (spending them all);
        a wrong code counts against each live one."""
        now = self._now()
        with self.tx() as db:
            live = db.execute(
                "SELECT id, code_hash FROM signin_codes WHERE volunteer = ? AND used_at IS NULL "
                "AND expires_at > ? AND tries < ?",
                (volunteer, now, MAX_CODE_TRIES),
            ).fetchall()
            for sid, code_hash in live:
                if hmac.compare_digest(code_hash, _hash(f"{sid}:{code.strip()}")):
                    self._spend(db, volunteer, now)
                    return volunteer
            db.execute(
                "UPDATE signin_codes SET tries = tries + 1 WHERE volunteer = ? "
                "AND used_at IS NULL AND expires_at > ?",
                (volunteer, now),
            )
            return None

    @staticmethod
    def _spend(db: Any, volunteer: str, now: int) -> None:
        db.execute(
            "UPDATE signin_codes SET used_at = ? WHERE volunteer = ? AND used_at IS NULL",
            (now, volunteer),
        )
