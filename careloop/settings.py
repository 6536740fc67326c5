"""One settings object per process, built at its entry point from env vars and CLI flags.

Nothing else in careloop reads ``os.environ``: the CLI builds a :class:`Settings` once
(:func:`load_settings`) and passes it (or the part a component needs) down. Env vars use the
prefix ``CARELOOP_`` and ``__`` between levels, e.g. ``CARELOOP_MQTT__PORT=1884``; CLI flags
override env vars. Secrets are ``SecretStr`` so they never appear in logs or reprs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from careloop.errors import SettingsError
from careloop.wire import check_id

_PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "xxx", "todo"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSettings(_Section):
    """How to reach the broker, and how hard to retry."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    keepalive: int = Field(30, ge=5, le=3600)
    #: Reconnect backoff: first delay, ceiling, both in seconds (full jitter in between).
    backoff_initial: float = Field(0.5, gt=0, le=60)
    backoff_max: float = Field(30.0, gt=0, le=3600)
    #: Seconds to wait for a PUBACK before the connection is treated as broken.
    publish_timeout: float = Field(10.0, gt=0, le=600)

    @field_validator("password")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().lower() in _PLACEHOLDERS:
            raise ValueError("is a placeholder; set a real password")
        return value


class InfluxSettings(_Section):
    """InfluxDB spoken through /write and /query only (1.x natively, 2.x/3.x compatibility)."""

    url: str = "http://127.0.0.1:8086"
    database: str = "careloop"
    token: SecretStr | None = None


class EdgeSettings(_Section):
    """One edge agent: which device it is, and how its durable outbox behaves."""

    device: str | None = None
    resident: str | None = None
    #: Send utterance text only where the resident consented; otherwise features only.
    text_consent: bool = False
    outbox: Path | None = None
    #: Most readings per message while catching up after an outage.
    max_batch: int = Field(200, ge=1, le=500)
    #: Outbox bound in readings; see docs/edge.md for what happens when it is full.
    max_rows: int = Field(1_000_000, ge=10)
    #: SQLite durability: "full" survives power loss, "normal" survives a process crash.
    synchronous: Literal["full", "normal"] = "full"

    @field_validator("device", "resident")
    @classmethod
    def _valid_id(cls, value: str | None) -> str | None:
        return None if value is None else check_id(value, "id")


class IngestSettings(_Section):
    """The ingest service: MQTT -> validated -> InfluxDB, at least once (docs/ingest.md)."""

    #: MQTT client id; stable per process so a restarted ingest finds its session again.
    #: Default ``ingest-<hostname>-<instance>``.
    client_id: str | None = None
    instance: int = Field(1, ge=0, le=9999)
    #: Shared-subscription group: every ingest process in a group gets a share of the load.
    #: "" = a plain subscription (one instance only; survives broker restarts, see docs).
    share_group: str = "ingest"
    #: The device registry (SQLite); default ``DATA_DIR/registry.sqlite3``.
    registry: Path | None = None
    #: Demos and benchmarks only: register unknown devices on first sight instead of rejecting.
    auto_register: bool = False
    #: A batch is written when it holds this many messages or readings, or is this old.
    max_batch_messages: int = Field(5000, ge=1, le=32_000)
    max_batch_readings: int = Field(5000, ge=1, le=1_000_000)
    max_delay: float = Field(0.2, gt=0, le=60)
    #: Concurrent /write requests (each on its own keep-alive connection).
    writers: int = Field(2, ge=1, le=8)
    #: Seconds before a /write without an answer counts as InfluxDB being down.
    write_timeout: float = Field(10.0, gt=0, le=600)
    #: Disk spool bound, in bytes, used while InfluxDB is down; full means backpressure.
    max_spool_bytes: int = Field(1 << 30, ge=1 << 16)
    #: Dead letters kept (the newest ones).
    max_dead_letters: int = Field(100_000, ge=10)
    #: Port for Prometheus metrics on ``metrics_host``; 0 = off.
    metrics_port: int = Field(0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    #: How long the broker keeps this client's session (and its queued messages), seconds.
    session_expiry: int = Field(24 * 3600, ge=60)
    #: Seconds between summary log lines (counts only, never message content); 0 = off.
    stats_interval: float = Field(60.0, ge=0)
    #: Send ``CREATE DATABASE`` at start-up (InfluxDB 1.x; harmless if it exists).
    create_database: bool = True

    @field_validator("share_group")
    @classmethod
    def _valid_group(cls, value: str) -> str:
        return value and check_id(value, "share_group")


class Settings(BaseSettings):
    """Everything one careloop process needs to know."""

    model_config = SettingsConfigDict(
        env_prefix="CARELOOP_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    site: str = "demo-home"
    data_dir: Path = Path("var")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    mqtt: MqttSettings = MqttSettings()
    influx: InfluxSettings = InfluxSettings()
    edge: EdgeSettings = EdgeSettings()
    ingest: IngestSettings = IngestSettings()

    @field_validator("site")
    @classmethod
    def _valid_site(cls, value: str) -> str:
        return check_id(value, "site")


def load_settings(**overrides: Any) -> Settings:
    """Build the process's settings: env vars, then ``overrides`` (CLI flags) on top.

    ``overrides`` take dotted section names as nested dicts, e.g.
    ``load_settings(mqtt={"port": 1884})``; ``None`` values are ignored so unset flags keep
    the env/default value. Any problem raises :class:`SettingsError` naming the setting.
    """
    clean = _drop_none(overrides)
    try:
        base = Settings()
        if not clean:
            return base
        merged = base.model_dump()
        for key, value in clean.items():
            if isinstance(value, dict):
                merged[key] = {**merged.get(key, {}), **value}
            else:
                merged[key] = value
        return Settings.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        name = ".".join(str(p) for p in err["loc"]) or "settings"
        raise SettingsError(name, err["msg"]) from exc


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            inner = _drop_none(value)
            if inner:
                out[key] = inner
        elif value is not None:
            out[key] = value
    return out
