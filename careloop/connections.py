"""How a process reaches the servers it talks to: the broker and InfluxDB.

Part of :mod:`careloop.settings` (which re-exports both sections), kept apart because how
a connection is secured is most of what they say: TLS to the broker unless it is on
loopback, ``https://`` to InfluxDB off the machine, certificates always verified
(:mod:`careloop.tls`, docs/deploy.md).
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from careloop.tls import mqtt_defaults, refuse_http, refuse_plaintext
from careloop.wire import check_id

#: Values that are examples, not secrets: refused wherever a secret is set.
PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "xxx", "todo"}


class Section(BaseModel):
    """A settings section: unknown keys are errors, and a built section never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSettings(Section):
    """How to reach the broker, how to prove who we are, and how hard to retry.

    TLS unless ``host`` is loopback; the broker's certificate is always verified (the
    system's CAs or ``ca_file``) and its name checked; a client certificate is optional.
    """

    host: str = "127.0.0.1"
    #: Default 8883 with TLS, 1883 without.
    port: int = Field(1883, ge=1, le=65535)
    #: Unset: on unless ``host`` is loopback (or a file below is named); off is refused
    #: for any other host.
    tls: bool = False
    #: CA bundle (PEM) for the broker's certificate; None = the system's CAs.
    ca_file: Path | None = None
    #: A client certificate (PEM) and its key (None: in ``cert_file``), for brokers that
    #: require one.
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: SecretStr | None = None
    keepalive: int = Field(30, ge=5, le=3600)
    #: Reconnect backoff: first delay, ceiling, both in seconds (full jitter in between).
    backoff_initial: float = Field(0.5, gt=0, le=60)
    backoff_max: float = Field(30.0, gt=0, le=3600)
    #: Seconds to wait for a PUBACK before the connection is treated as broken.
    publish_timeout: float = Field(10.0, gt=0, le=600)

    @model_validator(mode="before")
    @classmethod
    def _tls_defaults(cls, data: Any) -> Any:
        return mqtt_defaults(data, "127.0.0.1") if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _tls_checks(self) -> MqttSettings:
        if not self.tls:
            refuse_plaintext("plaintext MQTT", self.host, "leave mqtt.tls unset or true")
            if self.ca_file or self.cert_file or self.key_file:
                raise ValueError("ca_file, cert_file and key_file need mqtt.tls on")
        if self.key_file and not self.cert_file:
            raise ValueError("key_file needs cert_file")
        return self

    @field_validator("password")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().lower() in PLACEHOLDERS:
            raise ValueError("is a placeholder; set a real password")
        return value


class InfluxSettings(Section):
    """InfluxDB spoken through /write and /query only (1.x natively, 2.x/3.x compatibility).

    Off the machine the URL must be ``https://`` (verified against the system's CAs or
    ``ca_file``; ``http://`` is refused but to loopback), and requests authenticate: a
    2.x/3.x ``token``, or a 1.x ``username`` and ``password`` (docs/deploy.md).
    """

    url: str = "http://127.0.0.1:8086"
    database: str = "careloop"
    token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    #: CA bundle for an ``https://`` URL signed by a private CA; None = the system's.
    ca_file: Path | None = None
    #: More InfluxDB servers by shard name, e.g. ``{"north": "https://influx-n:8086"}``
    #: (docs/scale-influx.md). ``url`` is always the shard named ``default``; empty (the
    #: default) is one server. Every shard has ``database`` and the credentials above.
    shards: dict[str, str] = {}
    #: The shard holding each site's points, e.g. ``{"home-a": "north"}``; a site not named
    #: here is on ``default``. A site is on one shard only.
    sites: dict[str, str] = {}

    @field_validator("token", "password")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().lower() in PLACEHOLDERS:
            raise ValueError("is a placeholder; set a real secret")
        return value

    @field_validator("url")
    @classmethod
    def _https_off_the_machine(cls, value: str) -> str:
        check_url(value)
        return value

    @field_validator("shards")
    @classmethod
    def _valid_shards(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            check_id(name, "shard")
            if name == DEFAULT_SHARD:
                raise ValueError(f"shard {name!r} is influx.url; name the others differently")
            try:
                check_url(url)
            except ValueError as exc:
                raise ValueError(f"shard {name!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _known_shards(self) -> InfluxSettings:
        known = [DEFAULT_SHARD, *self.shards]
        for site, shard in self.sites.items():
            check_id(site, "site")
            if shard not in known:
                raise ValueError(
                    f"site {site!r} is mapped to unknown shard {shard!r}; "
                    f"known shards: {', '.join(known)}"
                )
        return self


#: The shard name of ``influx.url``.
DEFAULT_SHARD = "default"


def check_url(url: str) -> None:
    """Raise a ValueError unless ``url`` is ``http(s)://host[:port]`` (``http://`` only to
    loopback): caught at start-up rather than at the first write."""
    parts = urllib.parse.urlsplit(url)
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise ValueError(f"URL has a bad port: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s)://host[:port] URL, got {url!r}")
    refuse_http(url)
