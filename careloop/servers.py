"""Real MQTT broker and InfluxDB servers, run as child processes on free loopback ports.

Tests, benchmarks and the demo talk to the same software production uses (Debian's
``mosquitto`` 2.0.11 and ``influxd`` 1.6.7) instead of mocks, so a passing test means the wire
protocol, persistence and failure behaviour are real. Each server gets its own data folder and
its own ports, so any number can run side by side and none touches the system services.

A server never outlives the Python process that started it: children are tied to their parent
with ``PR_SET_PDEATHSIG`` (see ``tie_to_parent``), so even ``kill -9`` of a test run leaves no
orphaned broker holding a port.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import httpx

from careloop.errors import CareloopError

__all__ = ["InfluxDB", "Mosquitto", "ServerError", "free_port"]

# Debian installs daemons in /usr/sbin, which is not on a normal user's PATH.
_EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_POLL_INTERVAL = 0.05


class ServerError(CareloopError):
    """A child server (mosquitto, influxd) is missing, failed to start, or refused a request."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that is free right now.

    The kernel picks it (bind to port 0), so parallel callers get different ports; the small
    window before the server binds it is acceptable for tests and the demo.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _find_binary(binary: str, package: str) -> str:
    """Resolve ``binary`` on PATH or in the sbin folders, or say which package provides it."""
    found = shutil.which(binary) or shutil.which(binary, path=os.pathsep.join(_EXTRA_BIN_DIRS))
    if found is None:
        raise ServerError(
            f"{binary!r} not found on PATH or in {', '.join(_EXTRA_BIN_DIRS)}; "
            f"install it with: apt-get install {package}  (or run scripts/bootstrap)"
        )
    return found


def tie_to_parent() -> Callable[[], None] | None:
    """Build a ``preexec_fn`` that makes the kernel SIGKILL the child when its parent dies.

    Without this, a test run killed with ``kill -9`` (or an OOM kill, or a CI timeout) leaves
    brokers running that hold ports and data folders until someone notices. ``atexit`` and
    ``__exit__`` only cover clean exits; PDEATHSIG also covers the unclean ones.

    Caveat: Linux delivers the signal when the *thread* that forked the child exits, not the
    process. Start servers from a long-lived thread (the main thread, or a pool that lives as
    long as the servers), never from a short-lived worker thread.

    libc is loaded here, in the parent, so the child only makes one foreign call between
    ``fork`` and ``exec``.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent_pid = os.getpid()
    sigkill = int(signal.SIGKILL)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sigkill, 0, 0, 0)
        # If the parent died between fork() and prctl(), the signal will never come.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def _owns_listener(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a listening TCP socket on ``port``.

    "The port accepts connections" is not enough to call a child ready: if the port was taken
    (say by another broker), mosquitto logs the clash, keeps running for ~100 ms and exits,
    and a plain connect during that window reaches the *other* server. Matching the socket's
    inode in /proc against the child's file descriptors proves the listener is ours. Where
    /proc is missing (not Linux), this check is skipped.
    """
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return True
    inodes: set[str] = set()
    for table in tables:
        with contextlib.suppress(OSError):
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                # fields: sl, local "ADDR:PORT" (hex), remote, state ("0A" is LISTEN), ... inode
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return False
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        fds = list(fd_dir.iterdir())
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(fd) in inodes:
                return True
    return False


class _ChildServer:
    """Process management shared by every server: spawn, wait until ready, stop, kill."""

    name: ClassVar[str]
    package: ClassVar[str]
    log_name: ClassVar[str]
    config_name: ClassVar[str]
    default_start_timeout: ClassVar[float] = 15.0

    def __init__(
        self, data_dir: Path, *, port: int | None, host: str, extra_conf: str, binary: str
    ) -> None:
        # Absolute, because the paths end up in config files read by a child in another cwd.
        self.data_dir = Path(data_dir).resolve()
        self._host = host
        self._port = port if port is not None else free_port(host)
        self.extra_conf = extra_conf
        self.binary = _find_binary(binary, self.package)
        self._proc: subprocess.Popen[bytes] | None = None

    # -- what each server defines -------------------------------------------------------------

    def render_config(self) -> str:
        """Return the config file text; written to ``config_path`` on every start."""
        raise NotImplementedError

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _is_ready(self) -> bool:
        raise NotImplementedError

    def _child_env(self) -> dict[str, str]:
        return dict(os.environ)

    # -- public API -----------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return self._host

    @property
    def port(self) -> int:
        """The client port; fixed for the object's lifetime so ``restart()`` keeps it."""
        return self._port

    @property
    def config_path(self) -> Path:
        """Where the config file is written."""
        return self.data_dir / self.config_name

    @property
    def log_path(self) -> Path:
        """Where the server's log (and its stdout/stderr) goes; appended across restarts."""
        return self.data_dir / self.log_name

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The running child, or None; exposed so tests can check it was reaped."""
        return self._proc

    @property
    def is_running(self) -> bool:
        """Whether the child process is alive (not whether it is ready)."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float | None = None) -> None:
        """Spawn the server and return once it accepts clients; a no-op if already running.

        Raises ServerError with the tail of the log if the child exits early or is not ready
        within ``timeout`` seconds, so a broken config is diagnosable from the test output.
        """
        if self.is_running:
            return
        self._reap()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.render_config(), encoding="utf-8")
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.data_dir,
                env=self._child_env(),
                # Own session: a Ctrl-C in the terminal reaches only the parent, which then
                # stops servers in order (a broker that died first would lose in-flight acks).
                start_new_session=True,
                preexec_fn=tie_to_parent(),
            )
        atexit.register(self.stop)
        self._wait_ready(self.default_start_timeout if timeout is None else timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM, so state is saved), SIGKILL after ``timeout``; idempotent."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._reap()

    def kill(self) -> None:
        """SIGKILL the server without letting it save anything, to inject a crash."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
        self._reap()

    def restart(self, timeout: float | None = None) -> None:
        """Stop and start on the same port and data folder, so persisted state survives."""
        self.stop()
        self.start(timeout)

    def log_tail(self, n: int = 40) -> str:
        """The last ``n`` lines of the log, for error messages."""
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log file yet)"
        return "\n".join(lines[-n:])

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<{type(self).__name__} {self.host}:{self.port} {state} {self.data_dir}>"

    # -- internals ------------------------------------------------------------------------------

    def _reap(self) -> None:
        """Wait for a dead child so no zombie is left, and forget it."""
        if self._proc is not None:
            self._proc.wait()
            self._proc = None
            atexit.unregister(self.stop)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                code = None if proc is None else proc.returncode
                self._reap()
                raise ServerError(
                    f"{self.name} exited with code {code} during start-up "
                    f"(config {self.config_path}); log tail:\n{self.log_tail()}"
                )
            if _owns_listener(proc.pid, self.port) and self._is_ready():
                return
            if time.monotonic() > deadline:
                self.kill()
                raise ServerError(
                    f"{self.name} did not become ready on {self.host}:{self.port} within "
                    f"{timeout:.0f}s; log tail:\n{self.log_tail()}"
                )
            time.sleep(_POLL_INTERVAL)


class Mosquitto(_ChildServer):
    """A private mosquitto 2.0 broker with persistence, for tests, benchmarks and the demo."""

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
    ) -> None:
        super().__init__(data_dir, port=port, host=host, extra_conf=extra_conf, binary=binary)
        self.max_queued_messages = max_queued_messages
        self.max_inflight_messages = max_inflight_messages
        #: With a password file the broker refuses anonymous clients (careloop.provision
        #: writes both files); None keeps the open broker tests and the demo use.
        self.password_file = None if password_file is None else Path(password_file).resolve()
        self.acl_file = None if acl_file is None else Path(acl_file).resolve()

    @property
    def url(self) -> str:
        """``mqtt://host:port``, the form careloop settings take."""
        return f"mqtt://{self.host}:{self.port}"

    def render_config(self) -> str:
        """The broker config; ``extra_conf`` is appended so its numeric options win."""
        lines = [
            "# Written by careloop.servers; rewritten on every start.",
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
        if os.geteuid() == 0:
            # As root, mosquitto drops to the "mosquitto" user, which cannot write our data
            # folder: it then runs WITHOUT its log or persistence, saying so only on stderr.
            lines.append("user root")
        if self.extra_conf:
            lines.append(self.extra_conf)
        return "\n".join(lines) + "\n"

    def reload(self) -> None:
        """SIGHUP: re-read the password and ACL files without dropping connected clients.

        What :mod:`careloop.provision` does to a broker it was given the pid of; a no-op when
        the broker is not running.
        """
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGHUP)

    def _command(self) -> list[str]:
        return [self.binary, "-c", str(self.config_path)]

    def _is_ready(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False


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
    ) -> None:
        super().__init__(data_dir, port=port, host=host, extra_conf=extra_conf, binary=binary)
        # The backup/restore RPC port. influxd binds 127.0.0.1:8088 unless told otherwise, so
        # without a port of its own a second server (or a system influxdb) makes start-up fail.
        self.rpc_port = rpc_port if rpc_port is not None else free_port("127.0.0.1")

    @property
    def url(self) -> str:
        """``http://host:port``, the base of the 1.x HTTP API."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def render_config(self) -> str:
        """The influxd TOML config; every key exists in ``influxd config`` of 1.6.7.

        ``extra_conf`` is appended; it may add keys and tables but not repeat ones set here
        (TOML forbids duplicates, and influxd then refuses to start).
        """
        data = self.data_dir

        def q(value: object) -> str:
            return json.dumps(str(value))  # a TOML basic string

        text = f"""\
# Written by careloop.servers; rewritten on every start.
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
  bind-address = {q(self.url.removeprefix("http://"))}
  auth-enabled = false
  log-enabled = false
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
        try:
            response = httpx.get(f"{self.url}/ping", timeout=1.0, trust_env=False)
        except httpx.HTTPError:
            return False
        return response.status_code == 204

    # -- helpers for tests and the demo (1.x HTTP API only) ------------------------------------

    def query(self, q: str, db: str | None = None, *, epoch: str | None = None) -> dict[str, Any]:
        """Run InfluxQL through ``POST /query`` and return the decoded JSON.

        Raises ServerError if the server reports an error for the request or any statement,
        because InfluxDB answers statement errors with HTTP 200.
        """
        params = {"q": q}
        if db is not None:
            params["db"] = db
        if epoch is not None:
            params["epoch"] = epoch
        try:
            # trust_env=False: an HTTP(S)_PROXY in the environment must not capture loopback.
            response = httpx.post(f"{self.url}/query", data=params, timeout=30.0, trust_env=False)
            body: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ServerError(f"influxd query failed: {q!r}: {exc}") from exc
        errors = [body["error"]] if "error" in body else []
        errors += [r["error"] for r in body.get("results", []) if "error" in r]
        if errors:
            raise ServerError(f"influxd query {q!r} failed: {'; '.join(errors)}")
        return body

    def write(self, db: str, lines: str | Iterable[str], *, precision: str = "ms") -> None:
        """Write line protocol through ``POST /write``; raises ServerError unless 204."""
        payload = lines if isinstance(lines, str) else "\n".join(lines)
        try:
            response = httpx.post(
                f"{self.url}/write",
                params={"db": db, "precision": precision},
                content=payload.encode(),
                timeout=30.0,
                trust_env=False,
            )
        except httpx.HTTPError as exc:
            raise ServerError(f"influxd write to {db!r} failed: {exc}") from exc
        if response.status_code != 204:
            raise ServerError(
                f"influxd write to {db!r} failed: HTTP {response.status_code}: {response.text}"
            )

    def create_database(self, name: str) -> None:
        """Create ``name``; succeeds if it already exists (InfluxDB's own semantics)."""
        self.query(f"CREATE DATABASE {_ident(name)}")

    def drop_database(self, name: str) -> None:
        """Drop ``name`` and its data; succeeds if it does not exist."""
        self.query(f"DROP DATABASE {_ident(name)}")


def _ident(name: str) -> str:
    """Quote an InfluxQL identifier so any database name is safe to interpolate."""
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
