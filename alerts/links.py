"""Signed, single-use accept and decline links for e-mailed pages.

A link is ``/app/act/<token>``, the token ``<payload>.<mac>``: the payload (base64url JSON)
names the alert, the volunteer, the action, a nonce and when it stops working; the mac is
HMAC-SHA256 with the link key (``DATA_DIR/keys/links.key``, made at first start, shared by
the alert service that writes the e-mail and the API that takes the click). So a link cannot
be forged, altered to another alert, volunteer or action, or used by anyone but the
volunteer it was sent to... as far as their mailbox is theirs.

It works once: the nonce becomes the reply's nonce, and the engine refuses a nonce it has
seen (``replay``). It expires with the alert: a closed alert refuses it (the API checks),
and so does the time written in it (the alert's resolve deadline, else a day).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from careloop.files import read_or_create_secret

LinkAction = Literal["accept", "decline"]
#: Longest a link lives when the alert has no resolve deadline yet.
DEFAULT_LIFETIME_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class ActionLink:
    """What a verified link asks for."""

    alert: str
    volunteer: str
    action: LinkAction
    nonce: str
    expires_ms: int


class LinkError(ValueError):
    """A token that is malformed or whose signature does not match."""


class LinkSigner:
    """Signs and verifies action links with one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("a link key has at least 32 bytes")
        self._key = key

    @classmethod
    def load(cls, path: Path) -> LinkSigner:
        """The key in ``path``, made there (owner-only) at first use."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(read_or_create_secret(path, lambda: secrets.token_bytes(32)))

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, alert: str, volunteer: str, action: LinkAction, expires_ms: int) -> str:
        """A token for one action on one alert by one volunteer (a fresh nonce each)."""
        data = {"a": alert, "v": volunteer, "x": action, "n": secrets.token_hex(8),
                "e": expires_ms}  # fmt: skip
        raw = json.dumps(data, separators=(",", ":")).encode()
        payload = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str) -> ActionLink:
        """The link ``token`` stands for; LinkError if it was not signed with our key."""
        payload, _, mac = token.partition(".")
        if not payload or not mac or len(token) > 600 or not token.isascii():
            raise LinkError("malformed link")
        if not hmac.compare_digest(self._mac(payload).encode(), mac.encode()):
            raise LinkError("bad signature")
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            link = ActionLink(
                str(data["a"]), str(data["v"]), data["x"], f"link-{data['n']}", int(data["e"])
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise LinkError("malformed link") from exc
        if link.action not in ("accept", "decline"):
            raise LinkError("malformed link")
        return link
