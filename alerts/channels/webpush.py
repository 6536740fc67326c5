"""Web Push to the volunteers' installed app: RFC 8291 message encryption (``aes128gcm``,
RFC 8188) and RFC 8292 VAPID, written on ``cryptography``.

A push service (the browser vendor's) only relays: it never sees the page in clear. Each
message is encrypted for one subscription with a fresh ephemeral P-256 key and salt, using
the browser's public key (``p256dh``) and its 16-byte authentication secret (``auth``); the
request is signed with our VAPID key (an ES256 JWT whose audience is the push service's
origin), so the push service knows whom to complain to and nobody else can push to our
subscribers. The VAPID key is made at first start (``DATA_DIR/keys/vapid.pem``, owner-only)
and its public half is what the app subscribes with.

:class:`PushSender` delivers one outbox row (a volunteer's notification, already
consent-filtered, :func:`alerts.notify.push_payload`) to every app the volunteer subscribed;
a subscription the push service says is gone (404, 410) is forgotten; any other failure
raises :class:`~alerts.errors.DeliveryError` and the outbox retries.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from alerts.errors import DeliveryError
from careloop.files import read_or_create_secret
from people import PushSubscription

#: One record holds the whole message (a page is a few hundred bytes; push services accept
#: about 4 KiB).
RECORD_SIZE = 4096
MAX_PAYLOAD = 3800
#: How long a push service keeps an undelivered message (s): a page older than this is
#: stale anyway, the app shows the live list when opened.
TTL_S = 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hmac(key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(data)
    return mac.finalize()


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def encrypt(
    plaintext: bytes,
    p256dh: str,
    auth: str,
    *,
    salt: bytes | None = None,
    ephemeral: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """The ``aes128gcm`` body for one subscription (RFC 8291 section 3, one record).

    ``salt`` and ``ephemeral`` are random unless given (RFC 8291's test vector gives them).
    """
    if len(plaintext) > MAX_PAYLOAD:
        raise ValueError(f"push payload of {len(plaintext)} bytes is over {MAX_PAYLOAD}")
    ua_public = unb64url(p256dh)
    secret = unb64url(auth)
    if len(ua_public) != 65 or len(secret) != 16:
        raise ValueError("p256dh must be a 65-byte P-256 point and auth 16 bytes")
    ua_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ua_public)
    as_private = ephemeral or ec.generate_private_key(ec.SECP256R1())
    as_public = _point(as_private.public_key())
    salt = salt or os.urandom(16)
    ecdh = as_private.exchange(ec.ECDH(), ua_key)
    # HKDF(auth, ecdh, "WebPush: info" || 0 || ua_public || as_public, 32)
    prk_key = _hmac(secret, ecdh)
    ikm = _hmac(prk_key, b"WebPush: info\x00" + ua_public + as_public + b"\x01")
    prk = _hmac(salt, ikm)
    cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    body = AESGCM(cek).encrypt(nonce, plaintext + b"\x02", None)  # 0x02: the last record
    header = salt + struct.pack("!IB", RECORD_SIZE, len(as_public)) + as_public
    return header + body


class Vapid:
    """Our VAPID signing key (ES256) and the contact (``sub``) push services see."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, subject: str) -> None:
        self.key = key
        self.subject = subject
        #: What the app passes as ``applicationServerKey`` (base64url, uncompressed point).
        self.public_key = b64url(_point(key.public_key()))

    @classmethod
    def load(cls, path: Path, subject: str) -> Vapid:
        """The key in ``path``, made there (owner-only) at first use."""

        def make() -> bytes:
            return ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )

        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = serialization.load_pem_private_key(read_or_create_secret(path, make), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} does not hold a P-256 key")
        return cls(key, subject)

    def header(self, endpoint: str, now_s: float | None = None) -> str:
        """The ``Authorization`` value for a request to ``endpoint`` (RFC 8292 section 3)."""
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int((now_s or time.time()) + 12 * 3600),
            "sub": self.subject,
        }
        head = b64url(json.dumps({"typ": "JWT", "alg": "ES256"}).encode())
        body = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{head}.{body}".encode()
        r, s = decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return f"vapid t={head}.{body}.{signature}, k={self.public_key}"


class PushSender:
    """``async with PushSender(vapid, subscriptions, forget) as push: await push.send(...)``.

    ``subscriptions(volunteer)`` lists a volunteer's apps (the people database);
    ``forget(endpoint)`` drops one the push service says is gone.
    """

    def __init__(
        self,
        vapid: Vapid,
        subscriptions: Callable[[str], list[PushSubscription]],
        forget: Callable[[str], object],
        *,
        timeout: float = 10.0,
    ) -> None:
        self.vapid = vapid
        self._subscriptions = subscriptions
        self._forget = forget
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> PushSender:
        if self._client is not None:
            raise RuntimeError("PushSender is not reentrant")
        self._client = httpx.AsyncClient(timeout=self._timeout, trust_env=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def send(self, volunteer: str, body: bytes, nid: str) -> None:
        """Push ``body`` to each of ``volunteer``'s apps; DeliveryError if any failed."""
        if self._client is None:
            raise RuntimeError("use PushSender as an async context manager")
        urgency = "high" if json.loads(body).get("tier") == "emergency" else "normal"
        failures = []
        for sub in self._subscriptions(volunteer):
            headers = {
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "TTL": str(TTL_S),
                "Urgency": urgency,
                # Replaces an undelivered earlier copy of the same notification (RFC 8030).
                "Topic": nid.replace("-", "")[:32],
                "Authorization": self.vapid.header(sub.endpoint),
            }
            try:
                response = await self._client.post(
                    sub.endpoint, content=encrypt(body, sub.p256dh, sub.auth), headers=headers
                )
            except (httpx.HTTPError, ValueError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            if response.status_code in (404, 410):
                self._forget(sub.endpoint)
            elif not response.is_success:
                failures.append(f"HTTP {response.status_code}")
        if failures:
            raise DeliveryError("push", "; ".join(failures)[:300])
