"""A push service and a browser's side of Web Push, for end-to-end tests.

:class:`PushService` is a real HTTP server on loopback standing in for a browser vendor's
push service: it records what each endpoint receives and answers 201 (or a status a test
sets, e.g. 410 for a subscription that is gone). :class:`BrowserKeys` is what a browser
makes when the app subscribes: a P-256 key pair and a 16-byte auth secret; it decrypts a
received message exactly as the browser does (RFC 8291 with RFC 8188 ``aes128gcm``) and
checks the request's VAPID signature (RFC 8292). Written here from the RFCs, apart from
careloop's encryption code, so the two cannot share a mistake.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


@dataclass
class BrowserKeys:
    """One installed app's subscription keys (the private half never leaves the browser)."""

    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def subscription(self, endpoint: str) -> dict[str, Any]:
        """``PushSubscription.toJSON()``."""
        return {
            "endpoint": endpoint,
            "expirationTime": None,
            "keys": {"p256dh": _b64(self.public), "auth": _b64(self.auth)},
        }

    def decrypt(self, body: bytes) -> bytes:
        """The plaintext of an ``aes128gcm`` message (one record), as a browser gets it."""
        salt, rs, idlen = body[:16], *struct.unpack("!IB", body[16:21])
        keyid = body[21 : 21 + idlen]
        ciphertext = body[21 + idlen :]
        assert rs >= 18 and len(ciphertext) <= rs, "one record only"
        sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keyid)
        shared = self.private.exchange(ec.ECDH(), sender)
        ikm = _hkdf(self.auth, shared, b"WebPush: info\x00" + self.public + keyid, 32)
        cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
        data = padded.rstrip(b"\x00")
        assert data.endswith(b"\x02"), "the last record ends with the 0x02 delimiter"
        return data[:-1]


def check_vapid(authorization: str, endpoint_origin: str) -> dict[str, Any]:
    """Verify a ``vapid t=..., k=...`` header as a push service does; its claims."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization
    values = dict(p.strip().split("=", 1) for p in params.split(","))
    head, claims, signature = values["t"].split(".")
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(values["k"]))
    raw = _unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise AssertionError("VAPID signature does not verify") from exc
    header = json.loads(_unb64(head))
    assert header == {"typ": "JWT", "alg": "ES256"}, header
    body: dict[str, Any] = json.loads(_unb64(claims))
    assert body["aud"] == endpoint_origin, body
    assert time.time() < body["exp"] <= time.time() + 24 * 3600, body
    assert body["sub"].startswith(("mailto:", "https://")), body
    body["k"] = values["k"]
    return body


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class PushService:
    """``with PushService() as push: push.endpoint("a") ...``: records every POST."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        #: path -> status to answer (default 201 Created, as real push services do).
        self.status: dict[str, int] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                service.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(service.status.get(self.path, 201))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def endpoint(self, name: str) -> str:
        return f"{self.origin}/push/{name}"

    def wait(self, path: str, n: int = 1, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            got = [r for r in self.received if r.path == path]
            if len(got) >= n:
                return got
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(got)} of {n} pushes to {path}")
            time.sleep(0.02)

    def __enter__(self) -> PushService:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
