"""A private InfluxDB 1.x server (Debian's ``influxd``), spoken to through careloop's one
InfluxDB client (:mod:`careloop.influx`).

Plain HTTP without authentication by default (loopback: tests, the demo). With ``tls`` it
serves ``https://`` only, with the given certificate; with ``auth_enabled`` every request
needs a user (influxd 1.x lets the first admin user be created without one, through
``/query``: :meth:`InfluxDB.create_admin`), the setup docs/deploy.md describes.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from careloop.influx import InfluxClient, InfluxError, ident, literal, tls_context
from devservers.base import ServerError, ServerTls, _ChildServer, free_port


class InfluxDB(_ChildServer):
    """A private InfluxDB 1.x server, spoken to only through its 1.x ``/query`` and ``/write``."""

    name = "influxd"
    package = "influxdb"
    log_name = "influxd.log"
    config_name = "influxdb.conf"
    default_start_timeout = 30.0  # opening shards after a restart can take a few seconds

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        extra_conf: str = "",
        binary: str = "influxd",
        rpc_port: int | None = None,
        tls: ServerTls | None = None,
        auth_enabled: bool = False,
    ) -> None:
        super().__init__(data_dir, port=port, host=host, extra_conf=extra_conf, binary=binary)
        self.tls = None if tls is None else tls.resolved()
        self.auth_enabled = auth_enabled
        #: The user the helpers below authenticate as (with ``auth_enabled``), set by
        #: :meth:`create_admin`.
        self.username: str | None = None
        self.password: str | None = None
        # The backup/restore RPC port. influxd binds 127.0.0.1:8088 unless told otherwise, so
        # without a port of its own a second server (or a system influxdb) makes start-up fail.
        self.rpc_port = rpc_port if rpc_port is not None else free_port("127.0.0.1")

    @property
    def url(self) -> str:
        """``http(s)://host:port``, the base of the 1.x HTTP API."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def render_config(self) -> str:
        """The influxd TOML config; every key exists in ``influxd config`` of 1.6.7.

        ``extra_conf`` is appended; it may add keys and tables but not repeat ones set here
        (TOML forbids duplicates, and influxd then refuses to start).
        """
        data = self.data_dir

        def q(value: object) -> str:
            return json.dumps(str(value))  # a TOML basic string

        https = ""
        if self.tls is not None:
            https = (
                f"  https-certificate = {q(self.tls.cert_file)}\n"
                f"  https-private-key = {q(self.tls.key_file)}\n"
            )

        text = f"""\
# Written by devservers; rewritten on every start.
# Debian's build renamed upstream's `reporting-disabled` to opt-in `reporting-enabled`;
# upstream's key would be silently ignored here.
reporting-enabled = false
bind-address = {q(f"127.0.0.1:{self.rpc_port}")}

[meta]
  dir = {q(data / "meta")}
  logging-enabled = false

[data]
  dir = {q(data / "data")}
  wal-dir = {q(data / "wal")}
  query-log-enabled = false

[http]
  enabled = true
  bind-address = {q(self.url.split("://", 1)[1])}
  auth-enabled = {"true" if self.auth_enabled else "false"}
  https-enabled = {"true" if self.tls else "false"}
{https}  log-enabled = false
  pprof-enabled = false

[monitor]
  # Otherwise influxd writes its own stats into an _internal database every 10 s.
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  log-enabled = false

[logging]
  level = "warn"
  suppress-logo = true
"""
        if self.extra_conf:
            text += "\n" + self.extra_conf + "\n"
        return text

    def _command(self) -> list[str]:
        return [self.binary, "-config", str(self.config_path)]

    def _child_env(self) -> dict[str, str]:
        # influxd lets INFLUXDB_<SECTION>_<KEY> variables override the file (for example
        # INFLUXDB_HTTP_BIND_ADDRESS); a stray one in the developer's shell must not move ports.
        return {k: v for k, v in os.environ.items() if not k.upper().startswith("INFLUXDB_")}

    def _is_ready(self) -> bool:
        verify: ssl.SSLContext | bool = True
        if self.tls is not None:
            verify = tls_context(str(self.tls.ca_file))
        try:
            response = httpx.get(f"{self.url}/ping", timeout=1.0, trust_env=False, verify=verify)
        except httpx.HTTPError:
            return False
        return response.status_code == 204

    # -- helpers for tests and the demo -------------------------------------------------------
    def client(self, db: str = "") -> InfluxClient:
        """careloop's InfluxDB client for database ``db`` on this server (trusting its CA,
        as the admin user once there is one)."""
        return InfluxClient(
            self.url,
            db,
            timeout=30.0,
            username=self.username,
            password=self.password,
            ca_file=str(self.tls.ca_file) if self.tls else None,
        )

    def create_admin(self, username: str, password: str) -> None:
        """Create the first admin user (influxd allows it unauthenticated while there are no
        users); the helpers authenticate as it from then on."""
        user, secret = ident(username), literal(password)
        self.query(f"CREATE USER {user} WITH PASSWORD {secret} WITH ALL PRIVILEGES")
        self.username, self.password = username, password

    def query(self, q: str, db: str | None = None, *, epoch: str | None = None) -> dict[str, Any]:
        """Run InfluxQL and return the decoded JSON; any statement error raises ServerError."""
        with self.client(db or "") as client:
            try:
                return client.query(q, epoch=epoch, db=db is not None)
            except InfluxError as exc:
                raise ServerError(f"influxd query {q!r} failed: {exc}") from exc

    def write(self, db: str, lines: str | Iterable[str], *, precision: str = "ms") -> None:
        """Write line protocol (milliseconds); anything but success raises ServerError."""
        if precision != "ms":
            raise ServerError("careloop writes millisecond timestamps only")
        payload = lines if isinstance(lines, str) else "\n".join(lines)
        with self.client(db) as client:
            try:
                client.write(payload.encode())
            except InfluxError as exc:
                raise ServerError(f"influxd write to {db!r} failed: {exc}") from exc

    def create_database(self, name: str) -> None:
        """Create ``name``; succeeds if it already exists (InfluxDB's own semantics)."""
        self.query(f"CREATE DATABASE {ident(name)}")

    def drop_database(self, name: str) -> None:
        """Drop ``name`` and its data; succeeds if it does not exist."""
        self.query(f"DROP DATABASE {ident(name)}")
