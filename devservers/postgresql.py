"""A private PostgreSQL server (Debian's ``postgresql-15``) for tests, benchmarks and the demo.

``initdb`` makes a cluster on first start; the server listens on 127.0.0.1 and a free port
only (no unix socket), trusts loopback connections (a dev server: never a deployment, whose
setup docs/database.md describes) and is tied to its parent like the other servers.

PostgreSQL refuses to run as root. Run as root (a container, CI), the cluster belongs to an
unprivileged user (``nobody``) and, because the test's own folders are closed to that user,
lives in a folder of its own under the system temp dir, removed again by :meth:`close`
(``with`` does it); the log and config stay in ``data_dir`` like the other servers'.
Durability is relaxed (``fsync=off``: a killed server loses nothing, a power cut could):
CREATE DATABASE per test stays fast.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from devservers.base import ServerError, _ChildServer

#: Where Debian installs the server binaries (not on PATH).
PG_BIN = Path("/usr/lib/postgresql/15/bin")
#: The unprivileged user a root process runs the server as.
RUN_AS = "nobody"


class PostgreSQL(_ChildServer):
    """A private PostgreSQL; :attr:`url` for careloop, :meth:`create_database` for tests."""

    name = "postgres"
    package = "postgresql"
    log_name = "postgres.log"
    config_name = "postgres.conf"
    stop_signal = signal.SIGINT  # "fast" shutdown: SIGTERM would wait for every client

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        extra_conf: str = "",
        binary: str = str(PG_BIN / "postgres"),
    ) -> None:
        super().__init__(
            data_dir, port=port, host="127.0.0.1", extra_conf=extra_conf, binary=binary
        )
        self._user = pwd.getpwnam(RUN_AS) if os.geteuid() == 0 else None
        self._cluster: Path | None = None

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/postgres``, the maintenance database."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        """The URL of ``database`` on this server (trusted: no password)."""
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    @property
    def cluster(self) -> Path:
        """The cluster's folder (made by ``initdb`` on first start)."""
        if self._cluster is None:
            if self._user is None:
                self._cluster = self.data_dir / "cluster"
            else:
                self._cluster = Path(tempfile.mkdtemp(prefix="careloop-pg-"))
                atexit.register(shutil.rmtree, self._cluster, True)
                os.chown(self._cluster, self._user.pw_uid, self._user.pw_gid)
        return self._cluster

    def render_config(self) -> str:
        """Settings passed on the command line (kept here too, for whoever reads the folder)."""
        return "\n".join(f"{k} = '{v}'" for k, v in self._settings().items()) + "\n"

    def _settings(self) -> dict[str, str]:
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": "",
            "fsync": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "32MB",
            "log_min_messages": "warning",
        }
        for line in self.extra_conf.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                settings[key.strip()] = value.strip().strip("'")
        return settings

    def start(self, timeout: float | None = None) -> None:
        """``initdb`` on first start, then start the server and wait until it answers."""
        if not (self.cluster / "PG_VERSION").exists():
            self._initdb()
        super().start(timeout)

    def _initdb(self) -> None:
        initdb = Path(self.binary).with_name("initdb")
        if self._user is None:
            self.cluster.mkdir(parents=True, exist_ok=True)
        args = ["-D", str(self.cluster), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        done = subprocess.run(
            [str(initdb), *args, "--locale=C", "--no-sync"],
            capture_output=True,
            text=True,
            cwd="/",
            **self._child_user(),
        )
        if done.returncode != 0:
            raise ServerError(f"initdb failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

    def _command(self) -> list[str]:
        args = [self.binary, "-D", str(self.cluster)]
        for key, value in self._settings().items():
            args += ["-c", f"{key}={value}"]
        return args

    def _child_user(self) -> dict[str, Any]:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}

    def _child_env(self) -> dict[str, str]:
        # libpq and the server read PG* variables; a stray one must not move the cluster.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        return {**env, "LC_ALL": "C"}

    def _is_ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    # -- helpers for tests and the demo -------------------------------------------------------
    def execute(self, sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        """Run ``sql`` (autocommit) in ``database``; its rows, if any."""
        import psycopg

        try:
            with psycopg.connect(self.url_for(database), autocommit=True) as conn:
                cur = conn.execute(sql.encode())
                return cur.fetchall() if cur.description is not None else []
        except psycopg.Error as exc:
            raise ServerError(f"postgres: {sql[:80]!r} failed: {exc}") from exc

    def create_database(self, name: str) -> str:
        """Create database ``name`` (an identifier); its URL."""
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting whoever still uses it; fine if it does not exist."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Stop the server and remove a cluster kept outside ``data_dir``."""
        self.stop()
        if self._user is not None and self._cluster is not None:
            shutil.rmtree(self._cluster, ignore_errors=True)
            self._cluster = None

    def __exit__(self, *exc: object) -> None:
        self.close()
