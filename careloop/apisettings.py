"""The HTTP API's settings section (``careloop api``, docs/api.md).

Part of :mod:`careloop.settings` (which re-exports it), kept apart because the API has the
most knobs: where it listens, TLS, cookies, token lifetimes, and where people's phones reach
it (links in e-mails and push notifications, the volunteers' app sign-in).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from careloop.connections import Section


class ApiSettings(Section):
    """The HTTP API and dashboard (``careloop api``, docs/api.md)."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    #: Mark the session cookie ``Secure`` (sent over HTTPS only); off only for plain HTTP
    #: on loopback (the demo turns it off).
    cookie_secure: bool = True
    #: Serve HTTPS: the certificate chain (PEM) and its key (None: in the cert file).
    #: Unset: plain HTTP, for loopback or behind a TLS reverse proxy (docs/deploy.md).
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    #: Seconds before an InfluxDB /query counts as failed.
    influx_timeout: float = Field(10.0, gt=0, le=300)
    #: Most points per series a vitals/events answer returns; longer ranges are averaged
    #: with ``GROUP BY time()`` down to about this many.
    max_points: int = Field(2000, ge=10, le=100_000)
    #: Origins (``https://care.example.org``) allowed, besides the API's own, to make
    #: cookie-authenticated writes: e.g. the public address behind a reverse proxy.
    allowed_origins: list[str] = Field(default_factory=list)
    #: Failed token attempts per client address per minute before answers become 429.
    max_failed_tokens: int = Field(10, ge=1, le=10_000)
    #: Days a new token lives, per role (``careloop token create --days N`` overrides).
    token_days_admin: int = Field(30, ge=1, le=3650)
    token_days_coordinator: int = Field(90, ge=1, le=3650)
    token_days_volunteer: int = Field(180, ge=1, le=3650)
    token_days_device: int = Field(365, ge=1, le=3650)
    token_days_family: int = Field(90, ge=1, le=3650)
    #: The address volunteers' phones reach the API at (links in e-mails and push
    #: notifications), e.g. ``https://care.example.org``; "" = ``http://HOST:PORT``.
    public_url: str = ""
    #: Minutes a one-time sign-in code or link (sent by e-mail) stays valid.
    signin_minutes: int = Field(15, ge=1, le=1440)
    #: Days an app session made by a one-time sign-in lives.
    app_session_days: int = Field(30, ge=1, le=365)
    #: A bearer token for Prometheus alone (``GET /metrics``), checked without the people
    #: database, so the API can still be scraped while that database is away (a secret:
    #: ``CARELOOP_API__METRICS_TOKEN``; at least 32 characters). Unset: an admin token.
    metrics_token: SecretStr | None = Field(None, min_length=32)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            scheme, sep, rest = origin.partition("://")
            if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
                raise ValueError(f"{origin!r} is not an origin like https://host[:port]")
        return [o.lower() for o in value]

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://care.example.org")
        return value

    def base_url(self) -> str:
        """Where people's browsers reach the API (``public_url``, else host and port)."""
        if self.public_url:
            return self.public_url
        scheme = "https" if self.tls_cert_file else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def token_days(self, role: str) -> int:
        """Days a new ``role`` token lives (``token_days_<role>``)."""
        return int(getattr(self, f"token_days_{role}"))
