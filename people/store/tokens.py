"""API tokens (stored as SHA-256 hashes) and the audit of reads of personal data.

The raw token exists only in the caller's hands: it is shown once at creation. A token is
live until it is revoked or its ``expires_at`` passes (tokens made before expiry existed
have none and live until revoked); a token that is not live is refused like an unknown one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any, cast

from people.errors import NotFound, PeopleError
from people.model import ROLES, AuditRow, Role, TokenRecord, valid_id
from people.store.base import MAX_LIMIT, DirectoryBase


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256, hex. Tokens are random, so no salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens(DirectoryBase):
    """Tokens with roles and sites; who read which resident's data, and when."""

    # -- tokens ---------------------------------------------------------------------------
    @staticmethod
    def _token(row: tuple[Any, ...]) -> TokenRecord:
        tid, role, subject, sites, created, revoked, note, expires = row
        scope = None if sites is None else frozenset(json.loads(sites))
        return TokenRecord(tid, cast(Role, role), subject, scope, created, revoked, note, expires)

    _TOK_COLS = "id, role, subject, sites, created_at, revoked_at, note, expires_at"
    #: Live: neither revoked nor expired (``?`` = now, epoch ms).
    _LIVE = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"

    def create_token(
        self,
        role: Role,
        subject: str,
        sites: Iterable[str] | None,
        *,
        note: str = "",
        lifetime_ms: int | None = None,
    ) -> tuple[str, TokenRecord]:
        """A new token: ``(raw token, record)``. The raw token is not stored anywhere.

        ``sites=None`` (every site) is allowed for admins only; other roles need sites.
        ``lifetime_ms``: how long it is accepted from now; None = until revoked (the API and
        the CLI always pass the lifetime configured for the role).
        """
        if role not in ROLES or role == "public":
            raise PeopleError(f"role must be one of {', '.join(r for r in ROLES if r != 'public')}")
        valid_id(subject, "subject")
        scope = None if sites is None else frozenset(valid_id(s, "site") for s in sites)
        if role == "admin":
            scope = None
        elif not scope:
            raise PeopleError(f"a {role} token needs at least one site")
        if role in ("device", "family") and (scope is None or len(scope) != 1):
            raise PeopleError(f"a {role} token names exactly one site")
        if lifetime_ms is not None and lifetime_ms <= 0:
            raise PeopleError("a token's lifetime must be positive")
        raw = "clt_" + secrets.token_urlsafe(32)
        now = self._now()
        expires = None if lifetime_ms is None else now + lifetime_ms
        record = TokenRecord(
            secrets.token_hex(6), role, subject, scope, now, None, note, expires_at=expires
        )
        with self.tx() as db:
            db.execute(
                f"INSERT INTO api_tokens (hash, {self._TOK_COLS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    hash_token(raw), record.id, role, subject,
                    None if scope is None else json.dumps(sorted(scope)),
                    record.created_at, None, note, expires,
                ),
            )  # fmt: skip
        return raw, record

    def token_for(self, raw: str) -> TokenRecord | None:
        """The live (not revoked, not expired) token whose hash matches ``raw``, or None."""
        rows = self.rows(
            f"SELECT {self._TOK_COLS} FROM api_tokens WHERE hash = ? AND {self._LIVE}",
            [hash_token(raw), self._now()],
        )
        return self._token(rows[0]) if rows else None

    def tokens(self, *, include_revoked: bool = False) -> list[TokenRecord]:
        """Live tokens; with ``include_revoked``, revoked and expired ones too."""
        where, args = ("1 = 1", []) if include_revoked else (self._LIVE, [self._now()])
        rows = self.rows(
            f"SELECT {self._TOK_COLS} FROM api_tokens WHERE {where} ORDER BY created_at, id", args
        )
        return [self._token(r) for r in rows]

    def revoke_token(self, token_id: str) -> TokenRecord:
        """Revoke by id (as listed); revoking twice keeps the first time."""
        with self.tx() as db:
            cur = db.execute(
                "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                (self._now(), token_id),
            )
            if cur.rowcount == 0:
                raise NotFound("token", token_id)
            row = db.execute(
                f"SELECT {self._TOK_COLS} FROM api_tokens WHERE id = ?", (token_id,)
            ).fetchone()
        return self._token(row)

    def revoke_subject(self, subject: str, role: Role | None = None) -> int:
        """Revoke every live token of ``subject`` (e.g. a removed device); how many."""
        sql = "UPDATE api_tokens SET revoked_at = ? WHERE subject = ? AND revoked_at IS NULL"
        args: list[Any] = [self._now(), subject]
        if role is not None:
            sql += " AND role = ?"
            args.append(role)
        with self.tx() as db:
            return db.execute(sql, args).rowcount

    # -- audit of personal-data reads -----------------------------------------------------
    def audit_read(
        self,
        *,
        subject: str,
        role: str,
        action: str,
        site: str,
        resident: str | None,
        route: str,
    ) -> None:
        """Record that ``subject`` read personal data (ids and the route only, no content)."""
        with self.tx() as db:
            db.execute(
                "INSERT INTO audit_reads (ts, subject, role, action, site, resident, route) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self._now(), subject, role, action, site, resident, route),
            )

    def purge_reads(self, cutoffs: Mapping[str, int]) -> int:
        """Apply retention to the audit of reads: per site, rows older than its cutoff."""
        removed = 0
        with self.tx() as db:
            for site, cutoff in cutoffs.items():
                removed += db.execute(
                    "DELETE FROM audit_reads WHERE site = ? AND ts < ?", (site, cutoff)
                ).rowcount
        return removed

    def audit(
        self,
        sites: frozenset[str] | None = None,
        *,
        resident: str | None = None,
        offset: int = 0,
        limit: int | None = MAX_LIMIT,
    ) -> tuple[list[AuditRow], int]:
        """Audit rows, newest first."""
        where, args = self._scope("site", sites)
        if resident is not None:
            where += " AND resident = ?"
            args.append(resident)
        rows, total = self._page(
            "audit_reads", "id, ts, subject, role, action, site, resident, route",
            where, args, "id DESC", offset, limit,
        )  # fmt: skip
        return [AuditRow(*r) for r in rows], total
