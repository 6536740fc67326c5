"""Transport security for every hop: where plaintext is allowed, and verifying TLS contexts.

Every connection careloop makes off the machine is encrypted and its peer verified
(docs/deploy.md): MQTT over TLS, e-mail with STARTTLS or implicit TLS, InfluxDB over
``https://``, the API over HTTPS (itself or behind a TLS reverse proxy). Plaintext is allowed
only to a loopback address, where it never leaves the machine (the demo, tests, a local mail
relay); the settings refuse it for any other host at start-up. Nothing offers to skip
certificate verification: a client that trusts any certificate hands its password to
whoever answers.
"""

from __future__ import annotations

import ipaddress
import ssl
import urllib.parse
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from careloop.errors import SettingsError

_BOOL = TypeAdapter(bool)
#: Ports used when none is given.
MQTT_PORTS = {True: 8883, False: 1883}
SMTP_PORTS = {"starttls": 587, "tls": 465, "none": 25}


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine's loopback (``localhost``, 127.0.0.0/8, ``::1``):
    traffic to it never leaves the machine, the one place plaintext is allowed."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def mqtt_defaults(data: dict[str, Any], default_host: str) -> dict[str, Any]:
    """Raw MQTT settings with ``tls`` and ``port`` filled in when not given.

    TLS is on unless the host is loopback, or whenever a CA or client certificate is
    named; the port follows TLS (8883 or 1883). Done on the raw input (env vars and flags
    already merged) so a host given by a flag decides as much as one from the env.
    """
    data = dict(data)
    if data.get("tls") is None:
        named = any(data.get(k) for k in ("ca_file", "cert_file", "key_file"))
        data["tls"] = named or not is_loopback(str(data.get("host") or default_host))
    if data.get("port") is None:
        data["port"] = MQTT_PORTS[_as_bool(data["tls"]) is True]
    return data


def smtp_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Raw alert settings with ``smtp_tls`` ("none" to a loopback relay, else "starttls")
    and ``smtp_port`` (587, 465 or 25 to match) filled in when not given."""
    if "smtp_starttls" in data:
        raise ValueError(
            "alerts.smtp_starttls was replaced by alerts.smtp_tls ('starttls', 'tls' or "
            "'none'; docs/deploy.md)"
        )
    data = dict(data)
    if data.get("smtp_tls") is None:
        local = is_loopback(str(data.get("smtp_host") or ""))
        data["smtp_tls"] = "none" if local else "starttls"
    if data.get("smtp_port") is None:
        data["smtp_port"] = SMTP_PORTS.get(str(data["smtp_tls"]), 587)
    return data


def refuse_plaintext(what: str, host: str, fix: str) -> None:
    """Raise the ValueError that refuses plaintext ``what`` to a host off the machine."""
    if host and not is_loopback(host):
        raise ValueError(
            f"{what} to {host!r} would travel in clear (passwords, residents' data); "
            f"plaintext is allowed only to a loopback host: {fix} (docs/deploy.md)"
        )


def refuse_http(url: str) -> None:
    """Raise a ValueError for an ``http://`` URL whose host is off the machine."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "http":
        refuse_plaintext("http://", parts.hostname or "", "use https://")


def client_context(
    ca_file: Path | str | None,
    cert_file: Path | str | None = None,
    key_file: Path | str | None = None,
    *,
    setting: str,
) -> ssl.SSLContext:
    """A verifying client context: the peer's certificate must chain to ``ca_file`` (None:
    the system's CAs) and name the host; TLS 1.2 or later; an optional client certificate.

    A file that cannot be read raises :class:`SettingsError` naming ``setting`` + the file's
    setting (e.g. ``mqtt.`` -> ``mqtt.ca_file``), so a typo fails at start-up, loudly.
    """
    try:
        ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise SettingsError(f"{setting}ca_file", f"cannot load {ca_file}: {exc}") from exc
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file:
        try:
            ctx.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
        except (OSError, ValueError) as exc:
            raise SettingsError(f"{setting}cert_file", f"cannot load {cert_file}: {exc}") from exc
    return ctx


def _as_bool(value: Any) -> bool | None:
    """A raw setting (``True``, ``"true"``, ``"0"``...) read as pydantic reads it; None if it
    is not a boolean (the field's own validation then says so)."""
    try:
        return _BOOL.validate_python(value)
    except ValidationError:
        return None
