"""A private Mosquitto broker (Debian's ``mosquitto``), configured for careloop's tests."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

from devservers.base import ServerTls, _ChildServer, _owns_listener, free_port


class Mosquitto(_ChildServer):
    """A private mosquitto 2.0 broker with persistence, for tests, benchmarks and the demo.

    The plaintext listener on :attr:`port` is always there (loopback, like the demo's). With
    ``tls``, a second listener on :attr:`tls_port` speaks MQTT over TLS only, with the given
    certificate, and, with ``tls.require_certificate``, refuses clients without a
    certificate signed by ``tls.ca_file`` (docs/deploy.md shows the same for a deployment).
    """

    name = "mosquitto"
    package = "mosquitto"
    log_name = "mosquitto.log"
    config_name = "mosquitto.conf"

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        max_queued_messages: int = 1_000_000,
        max_inflight_messages: int = 1000,
        extra_conf: str = "",
        binary: str = "mosquitto",
        password_file: Path | None = None,
        acl_file: Path | None = None,
        tls: ServerTls | None = None,
        tls_port: int | None = None,
    ) -> None:
        super().__init__(data_dir, port=port, host=host, extra_conf=extra_conf, binary=binary)
        self.tls = None if tls is None else tls.resolved()
        #: The TLS listener's port (None without ``tls``); kept across restarts.
        self.tls_port = None if tls is None else (tls_port or free_port(host))
        self.max_queued_messages = max_queued_messages
        self.max_inflight_messages = max_inflight_messages
        #: With a password file the broker refuses anonymous clients (app.provision
        #: writes both files); None keeps the open broker tests and the demo use.
        self.password_file = None if password_file is None else Path(password_file).resolve()
        self.acl_file = None if acl_file is None else Path(acl_file).resolve()

    @property
    def url(self) -> str:
        """``mqtt://host:port``, the form careloop settings take."""
        return f"mqtt://{self.host}:{self.port}"

    def mqtt_settings(self, *, tls: bool = False, **more: object) -> dict[str, object]:
        """``mqtt`` settings (for ``load_settings(mqtt=...)``) that reach this broker: the
        plaintext listener, or with ``tls`` the TLS one, trusting ``tls.ca_file``."""
        if not tls:
            return {"host": self.host, "port": self.port, "tls": False, **more}
        if self.tls is None:
            raise ValueError("this broker has no TLS listener")
        return {
            "host": self.host,
            "port": self.tls_port,
            "tls": True,
            "ca_file": str(self.tls.ca_file),
            **more,
        }

    def render_config(self) -> str:
        """The broker config; ``extra_conf`` is appended so its numeric options win."""
        lines = [
            "# Written by devservers; rewritten on every start.",
            f"listener {self.port} {self.host}",
            # Mosquitto 2.x refuses anonymous clients once a listener is configured.
            f"allow_anonymous {'false' if self.password_file else 'true'}",
            # Persistent sessions and retained messages must survive restart(). The db is
            # always saved on SIGTERM; autosaving every second bounds what kill() loses to ~1 s,
            # which is what fault-injection tests reason about. The whole db is rewritten each
            # time, so a benchmark with a huge backlog may raise it via extra_conf.
            "persistence true",
            f"persistence_location {self.data_dir}/",
            "autosave_interval 1",
            # Mosquitto's default of 1000 queued QoS1 messages per client silently DROPS the
            # rest when a subscriber is slow or offline, which would look like data loss in
            # ingest. Size the queue for the longest outage we test instead.
            f"max_queued_messages {self.max_queued_messages}",
            "max_queued_bytes 0",
            # Unacked QoS1 messages in flight to each subscriber (default 20). Mosquitto 2.0
            # applies it to clients that send no MQTT v5 Receive Maximum (3.1.1 ones); a v5
            # client's own Receive Maximum wins, larger or smaller. careloop ingest sends
            # (writers + 2) x max_batch_messages (docs/ingest.md, "In flight is bounded").
            f"max_inflight_messages {self.max_inflight_messages}",
            # Alerts are latency-sensitive and small; don't let Nagle hold them back.
            "set_tcp_nodelay true",
            f"log_dest file {self.log_path}",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        ]
        if self.password_file is not None:
            lines.append(f"password_file {self.password_file}")
        if self.acl_file is not None:
            lines.append(f"acl_file {self.acl_file}")
        if self.tls is not None:
            # Listener options apply to the listener line before them.
            lines += [
                f"listener {self.tls_port} {self.host}",
                f"cafile {self.tls.ca_file}",
                f"certfile {self.tls.cert_file}",
                f"keyfile {self.tls.key_file}",
                f"require_certificate {'true' if self.tls.require_certificate else 'false'}",
                "tls_version tlsv1.2",
            ]
        if os.geteuid() == 0:
            # As root, mosquitto drops to the "mosquitto" user, which cannot write our data
            # folder: it then runs WITHOUT its log or persistence, saying so only on stderr.
            lines.append("user root")
        if self.extra_conf:
            lines.append(self.extra_conf)
        return "\n".join(lines) + "\n"

    def reload(self) -> None:
        """SIGHUP: re-read the password and ACL files without dropping connected clients.

        What :mod:`app.provision` does to a broker it was given the pid of; a no-op when
        the broker is not running.
        """
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGHUP)

    def _command(self) -> list[str]:
        return [self.binary, "-c", str(self.config_path)]

    def _is_ready(self) -> bool:
        proc = self._proc
        tls_port = self.tls_port
        if tls_port is not None and proc is not None and not _owns_listener(proc.pid, tls_port):
            return False
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False
