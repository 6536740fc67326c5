"""Mosquitto's password hashes (``$7$``: PBKDF2-HMAC-SHA512), written natively.

``mosquitto_passwd`` (2.0) stores ``user:$7$<iterations>$<base64 salt>$<base64 hash>`` with
a 12-byte salt, 101 iterations and a 64-byte derived key. Hashing here rather than calling
``mosquitto_passwd -b`` keeps the plaintext out of a child's argv (``/proc/<pid>/cmdline``
is world-readable) and out of temporary files; ``tests/test_acl.py`` proves the broker
accepts what this module writes, and that this module verifies what the tool writes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["hash_password", "new_password", "verify_password"]

#: mosquitto_passwd's defaults (src/password_mosq.h in mosquitto 2.0).
ITERATIONS = 101
SALT_BYTES = 12
_KEY_BYTES = 64


def new_password() -> str:
    """A random MQTT password (256 bits, URL-safe): shown once, then only its hash is kept."""
    return secrets.token_urlsafe(32)


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The ``$7$`` hash of ``password`` as Mosquitto's ``password_file`` stores it."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, _KEY_BYTES)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash (constant-time); False for other formats."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != "7" or not parts[2].isdigit():
        return False
    try:
        salt, key = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    except ValueError:
        return False
    got = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]), len(key))
    return hmac.compare_digest(got, key)
