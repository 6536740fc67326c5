"""What every dev server shares: free ports, binaries, and a child process tied to its parent.

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
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

from careloop.errors import CareloopError

# Debian installs daemons in /usr/sbin, which is not on a normal user's PATH.
_EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_POLL_INTERVAL = 0.05


class ServerError(CareloopError):
    """A child server (mosquitto, influxd) is missing, failed to start, or refused a request."""


@dataclass(frozen=True)
class ServerTls:
    """A server's TLS: its certificate chain and key (PEM), and the CA bundle that clients
    are told to trust (and that client certificates must chain to, where the server asks
    for them). Tests make their own CA; nothing here skips verification."""

    cert_file: Path
    key_file: Path
    ca_file: Path
    #: Mosquitto only: refuse clients without a certificate signed by ``ca_file``.
    require_certificate: bool = False

    def resolved(self) -> ServerTls:
        """The same files as absolute paths (config files are read by a child elsewhere)."""
        return ServerTls(
            Path(self.cert_file).resolve(),
            Path(self.key_file).resolve(),
            Path(self.ca_file).resolve(),
            self.require_certificate,
        )


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
    #: What asks the server to stop gracefully (PostgreSQL's fast shutdown is SIGINT).
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM

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

    def _child_user(self) -> dict[str, Any]:
        """Extra ``Popen`` arguments: ``user``/``group`` for a server that refuses root."""
        return {}

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
                **self._child_user(),
            )
        atexit.register(self.stop)
        self._wait_ready(self.default_start_timeout if timeout is None else timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM, so state is saved), SIGKILL after ``timeout``; idempotent."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(self.stop_signal)
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
