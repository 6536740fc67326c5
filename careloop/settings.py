"""One settings object per process, built at its entry point from env vars and CLI flags.

Nothing else in careloop reads ``os.environ``: the CLI builds a :class:`Settings` once
(:func:`load_settings`) and passes it (or the part a component needs) down. Env vars use the
prefix ``CARELOOP_`` and ``__`` between levels, e.g. ``CARELOOP_MQTT__PORT=1884``; CLI flags
override env vars. Secrets are ``SecretStr`` so they never appear in logs or reprs.

Every hop that leaves the machine is encrypted and verified (:mod:`careloop.tls`,
docs/deploy.md): plaintext MQTT, SMTP and InfluxDB are refused for any host but loopback.

Every file a process keeps is resolved in one place, :attr:`Settings.paths` (a
:class:`Paths`): a setting that names a file wins, else it lives under ``data_dir``. No other
module joins ``data_dir`` with a file name, so two processes given the same settings can
never disagree about where the people database or the alert store is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from careloop.apisettings import ApiSettings
from careloop.connections import PLACEHOLDERS as _PLACEHOLDERS
from careloop.connections import InfluxSettings, MqttSettings
from careloop.connections import Section as _Section
from careloop.db import check_url
from careloop.errors import SettingsError
from careloop.paths import Paths
from careloop.tls import refuse_http, refuse_plaintext, smtp_defaults
from careloop.wire import check_id


class PeopleSettings(_Section):
    """The people database (docs/architecture.md): one SQLite file that owns sites,
    residents, consents, care profiles, volunteers, rotations, overrides, the device
    registry, API tokens and the audit of reads. Ingest, the scorer, the alert service and
    the API all read it; nothing keeps a copy."""

    #: Default ``DATA_DIR/people.sqlite3``.
    db: Path | None = None
    #: Seconds between looks for changes made by other processes (roster, profiles).
    follow_every: float = Field(1.0, gt=0, le=60)
    #: Seconds between the services' sweeps applying each site's ``retention_days`` to the
    #: stores they own (alerts, dead letters, scorer state, audit of reads).
    retention_every: float = Field(3600.0, gt=0, le=86_400)


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
    #: Minutes a question is remembered on the device to notice it asked again.
    question_window_min: float = Field(30.0, gt=0, le=24 * 60)
    #: How alike two questions must be (0-1, normalised text) to count as the same.
    question_similarity: float = Field(0.8, gt=0, le=1)

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


class AlertsSettings(_Section):
    """The alert service: needs -> volunteers (docs/alerts.md)."""

    #: MQTT client id; stable so a restarted service finds its persistent session (and the
    #: needs and replies queued for it). Default ``alerts-<site>``.
    client_id: str | None = None
    #: Sites served: "" = the process's ``site``; "+" = every site on the broker.
    sites: str = ""
    #: The SQLite store; default ``DATA_DIR/alerts/alerts.sqlite3``.
    db: Path | None = None
    #: SQLite durability: "full" survives power loss, "normal" survives a process crash.
    synchronous: Literal["full", "normal"] = "full"
    #: Minutes a question is remembered on the device to notice it asked again.
    question_window_min: float = Field(30.0, gt=0, le=24 * 60)
    #: How alike two questions must be (0-1, normalised text) to count as the same.
    question_similarity: float = Field(0.8, gt=0, le=1)
    #: The tier policy file (TOML); default the shipped ``alerts/policy.toml``.
    policy: Path | None = None
    #: A roster file (TOML: volunteers, residents, rotations, overrides) imported into the
    #: people database at start; the service then pages from the people database.
    roster: Path | None = None
    #: Seconds between checks for due deadlines.
    tick_interval: float = Field(0.2, gt=0, le=60)
    #: Seconds an outbox row is held by the replica sending it (plus the channel's send
    #: timeout): a killed replica's unsent rows go out from another after this
    #: (docs/scale-alerts.md).
    lease: float = Field(5.0, gt=0, le=600)
    #: TESTS AND DEMOS ONLY: a file holding seconds added to wall time (alerts/clock.py).
    clock_offset_file: Path | None = None
    #: HMAC-SHA256 key for webhooks; required once a policy names a webhook.
    webhook_secret: SecretStr | None = None
    webhook_timeout: float = Field(10.0, gt=0, le=120)
    #: Outbox retries (webhook, e-mail): jittered exponential backoff, then give up.
    retry_initial: float = Field(1.0, gt=0, le=3600)
    retry_max: float = Field(300.0, gt=0, le=86400)
    max_attempts: int = Field(50, ge=1, le=10_000)
    #: SMTP for e-mail pages; "" = e-mail off.
    smtp_host: str = ""
    #: Default 587 for starttls, 465 for tls, 25 for none.
    smtp_port: int = Field(587, ge=1, le=65535)
    #: "starttls", "tls" (from the first byte), or "none" (plaintext: a loopback relay
    #: only). Unset: "none" for a loopback host, else "starttls". Certificates verified.
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    #: CA bundle (PEM) for the SMTP server's certificate; None = the system's CAs.
    smtp_ca_file: Path | None = None
    smtp_from: str = "careloop@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    #: Prometheus metrics; 0 = off.
    metrics_port: int = Field(0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    #: Web Push to the volunteers' installed apps (VAPID key made at first start in
    #: ``DATA_DIR/keys/vapid.pem``); the contact push services see (RFC 8292 ``sub``).
    push: bool = True
    vapid_subject: str = "mailto:careloop@localhost"
    push_timeout: float = Field(10.0, gt=0, le=120)
    #: SMS through an HTTP gateway: a JSON ``{"to", "text"}`` POST to this URL; "" = off.
    sms_url: str = ""
    #: Sent with each SMS request, e.g. ``Authorization: Bearer ...`` (a secret).
    sms_auth_header: SecretStr | None = None
    sms_timeout: float = Field(10.0, gt=0, le=120)

    @field_validator("vapid_subject")
    @classmethod
    def _vapid_subject(cls, value: str) -> str:
        if not value.startswith(("mailto:", "https://")):
            raise ValueError("must be a mailto: or https: URI (RFC 8292)")
        return value

    @field_validator("sms_url")
    @classmethod
    def _sms_url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        refuse_http(value)  # phone numbers and pages travel encrypted off the machine
        return value

    @field_validator("sms_auth_header")
    @classmethod
    def _sms_header(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and ":" not in value.get_secret_value():
            raise ValueError("must be 'Header-Name: value'")
        return value

    @field_validator("webhook_secret", "smtp_password")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().lower() in _PLACEHOLDERS:
            raise ValueError("is a placeholder; set a real secret")
        return value

    @field_validator("sites")
    @classmethod
    def _valid_sites(cls, value: str) -> str:
        return value if value in ("", "+") else check_id(value, "sites")

    @model_validator(mode="before")
    @classmethod
    def _smtp_defaults(cls, data: Any) -> Any:
        return smtp_defaults(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _smtp_checks(self) -> AlertsSettings:
        if self.smtp_tls == "none":
            refuse_plaintext("plaintext SMTP", self.smtp_host, "smtp_tls starttls or tls")
        return self


class ScoreSettings(_Section):
    """The scoring runtime: readings -> care needs on MQTT (docs/runtime.md)."""

    #: MQTT client id; stable per partition so a restarted scorer finds its persistent
    #: session (and the readings queued for it). Default ``score-<hostname>-<partition>-<n>``.
    client_id: str | None = None
    instance: int = Field(1, ge=0, le=9999)
    #: Sites scored: "" = the process's ``site``; "a,b" = those sites; "+" = every site on
    #: the broker, of which this process keeps its ``partition``.
    sites: str = ""
    #: ``K/N``: with ``sites="+"``, keep the sites whose ``crc32(site) % N == K``.
    partition: str = "0/1"
    #: How a partition of several (``N > 1``) gets its sites' messages: ``sites`` = one
    #: subscription per owned site, following the people database (each partition receives
    #: only its own readings); ``all`` = every partition subscribes to every site and drops
    #: the others' messages (N times the broker traffic: the measured alternative,
    #: docs/scale-scorers.md).
    subscribe: Literal["sites", "all"] = "sites"
    #: Seconds between state snapshots (``DATA_DIR/score/<partition>.snapshot``); 0 = only
    #: at a clean shutdown. What a kill -9 loses is what came since the last one.
    snapshot_every: float = Field(60.0, ge=0)
    #: Messages are scored in batches of at most this many readings, or this old (seconds).
    max_batch_readings: int = Field(5000, ge=1, le=1_000_000)
    max_delay: float = Field(0.1, gt=0, le=60)
    #: Seconds between timer runs (falls without readings, silent devices, care-plan misses).
    tick_every: float = Field(5.0, gt=0, le=3600)
    #: Readings stamped more than this many seconds ahead of this machine's clock are
    #: rejected (``too_far_ahead:ts``): the scorer runs on reading time, and one device with
    #: a clock days fast would make every other resident look silent. 0 = no check
    #: (simulations faster than real time).
    max_clock_skew: float = Field(300.0, ge=0)
    #: Port for Prometheus metrics on ``metrics_host``; 0 = off.
    metrics_port: int = Field(0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    #: Seconds between summary log lines (counts only, never ids or content); 0 = off.
    stats_interval: float = Field(60.0, ge=0)
    #: Posture model for ``motion`` windows; default the shipped one (models/artifacts).
    #: A file that cannot be used leaves motion unscored, the rules running (metrics say so).
    posture_model: Path | None = None

    @field_validator("sites")
    @classmethod
    def _valid_sites(cls, value: str) -> str:
        if value in ("", "+"):
            return value
        sites = [s.strip() for s in value.split(",") if s.strip()]
        if not sites:
            raise ValueError("must name at least one site")
        return ",".join(check_id(s, "sites") for s in sites)

    @field_validator("partition")
    @classmethod
    def _valid_partition(cls, value: str) -> str:
        k, sep, n = value.partition("/")
        if not (sep and k.isdigit() and n.isdigit() and 0 <= int(k) < int(n) <= 4096):
            raise ValueError("must be K/N with 0 <= K < N <= 4096, e.g. 0/2")
        return f"{int(k)}/{int(n)}"

    @model_validator(mode="after")
    def _partition_needs_all_sites(self) -> ScoreSettings:
        if self.partition != "0/1" and self.sites != "+":
            raise ValueError("a partition other than 0/1 needs sites '+' (every site)")
        return self


class ProvisionSettings(_Section):
    """Device provisioning: Mosquitto's password and ACL files (docs/devices.md)."""

    #: Mosquitto's ``password_file`` (PBKDF2-SHA512 hashes); default
    #: ``DATA_DIR/broker/passwd``. careloop rewrites it whole on every change.
    password_file: Path | None = None
    #: Mosquitto's ``acl_file``; default ``DATA_DIR/broker/acl``.
    acl_file: Path | None = None
    #: The broker's ``pid_file``: after writing the files careloop sends it SIGHUP so it
    #: re-reads them. None = no signal (reload the broker yourself).
    broker_pid_file: Path | None = None


class Settings(BaseSettings):
    """Everything one careloop process needs to know."""

    model_config = SettingsConfigDict(
        env_prefix="CARELOOP_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    site: str = "demo-home"
    data_dir: Path = Path("var")
    #: Where the relational state lives (people, alerts and audit, tokens, registry, dead
    #: letters, tickets): "" = SQLite files under ``data_dir`` (the default, no server), or
    #: ``postgresql://user@host/db`` (docs/database.md). A secret: it may hold a password.
    database_url: SecretStr = SecretStr("")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    mqtt: MqttSettings = MqttSettings()
    influx: InfluxSettings = InfluxSettings()
    people: PeopleSettings = PeopleSettings()
    edge: EdgeSettings = EdgeSettings()
    ingest: IngestSettings = IngestSettings()
    alerts: AlertsSettings = AlertsSettings()
    score: ScoreSettings = ScoreSettings()
    provision: ProvisionSettings = ProvisionSettings()
    api: ApiSettings = ApiSettings()

    @field_validator("site")
    @classmethod
    def _valid_site(cls, value: str) -> str:
        return check_id(value, "site")

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, value: SecretStr) -> SecretStr:
        check_url(value.get_secret_value())
        return value

    @property
    def store_url(self) -> str:
        """The relational stores' URL ("" = SQLite files), for the stores' ``url=``."""
        return self.database_url.get_secret_value()

    @property
    def paths(self) -> Paths:
        """Every file and folder this process keeps (computed: a ``model_copy`` with another
        ``data_dir`` gets its own)."""
        root = Path(self.data_dir)  # a model_copy(update=...) may hold a str
        broker = root / "broker"
        return Paths(
            data_dir=root,
            people=self.people.db or root / "people.sqlite3",
            alerts=self.alerts.db or root / "alerts" / "alerts.sqlite3",
            deadletters=root / "ingest" / "deadletters.sqlite3",
            deadletters_held=root / "ingest" / "deadletters-held.sqlite3",
            spool=root / "ingest" / "spool",
            score=root / "score",
            edge=root / "edge",
            password_file=self.provision.password_file or broker / "passwd",
            acl_file=self.provision.acl_file or broker / "acl",
            sim=root / "sim",
            vapid_key=root / "keys" / "vapid.pem",
            link_key=root / "keys" / "links.key",
        )


def load_settings(**overrides: Any) -> Settings:
    """Build the process's settings: env vars, then ``overrides`` (CLI flags) on top.

    ``overrides`` take dotted section names as nested dicts, e.g.
    ``load_settings(mqtt={"port": 1884})``; ``None`` values are ignored so unset flags keep
    the env/default value. Any problem raises :class:`SettingsError` naming the setting.
    """
    clean = _drop_none(overrides)
    try:
        # Env vars and overrides merge key by key before validation, so defaults that
        # depend on other settings (MQTT TLS and port on the host) see both.
        return Settings(**clean)
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
