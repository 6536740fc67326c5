"""How a process reaches the servers it talks to: the broker and InfluxDB.

Part of :mod:`careloop.settings` (which re-exports both sections), kept apart because how
a connection is secured is most of what they say: TLS to the broker unless it is on
loopback, ``https://`` to InfluxDB off the machine, certificates always verified
(:mod:`careloop.tls`, docs/deploy.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from careloop.tls import mqtt_defaults, refuse_http, refuse_plaintext

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

    @field_validator("token", "password")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().lower() in PLACEHOLDERS:
            raise ValueError("is a placeholder; set a real secret")
        return value

    @field_validator("url")
    @classmethod
    def _https_off_the_machine(cls, value: str) -> str:
        refuse_http(value)
        return value
