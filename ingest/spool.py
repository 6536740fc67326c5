"""The disk spool: where batches wait, durably and in order, while InfluxDB is down.

One file per batch (``00000000000000000042.lp``), holding exactly the line protocol body
that would have been POSTed. A file is written to a temporary name, fsynced, renamed into
place and the directory fsynced, so after a crash a segment is either whole or absent, and
the batch's messages are acknowledged to the broker only after that. Why files, not SQLite:
appends and deletes are one rename/unlink each, a torn write can't exist, the size bound is
a sum of file sizes, and an operator can replay a segment by hand with
``curl --data-binary @00000000000000000042.lp '<influx>/write?db=careloop&precision=ms'``.

Bound: ``max_bytes``. A warning is logged when the spool crosses 80 % of it, and
:class:`~ingest.errors.SpoolFull` is raised when a batch does not fit; the caller then stops
acknowledging (the broker keeps the messages) instead of dropping anything. A batch larger
than the whole bound is still taken when the spool is empty, so it can never wedge.

One process owns a spool directory at a time (an ``flock``); a second ingest with the same
client id fails at start-up instead of fighting over the same session and files.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections import deque
from pathlib import Path

from careloop.logs import fields
from ingest.errors import SpoolError, SpoolFull

log = logging.getLogger(__name__)

WARN_FRACTION = 0.8
#: Below this fraction the 80 % warning re-arms.
REARM_FRACTION = 0.7
_SUFFIX = ".lp"


def _measure(body: bytes) -> tuple[int, int]:
    """A segment's bytes and readings (one line of line protocol each)."""
    return len(body), (body.count(b"\n") + 1 if body else 0)


class Spool:
    """A bounded, durable FIFO of line-protocol batches; thread-safe."""

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        #: (seq, bytes, readings) of each segment, oldest first.
        self._segments: deque[tuple[int, int, int]] = deque()
        self._bytes = 0
        self._readings = 0
        self._warned = False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lockfile = os.open(self.directory / "LOCK", os.O_CREAT | os.O_RDWR, 0o600)
        except OSError as exc:
            raise SpoolError(f"cannot open spool {self.directory}: {exc}") from exc
        try:
            fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lockfile)
            raise SpoolError(
                f"spool {self.directory} is in use by another ingest process "
                "(same client id?); give each process its own --client-id"
            ) from exc
        for stray in self.directory.glob("*.tmp"):
            stray.unlink()
        found = sorted(
            (int(p.name.removesuffix(_SUFFIX)), *_measure(p.read_bytes()))
            for p in self.directory.glob(f"*{_SUFFIX}")
        )
        self._segments.extend(found)
        self._bytes = sum(size for _, size, _ in found)
        self._readings = sum(lines for _, _, lines in found)
        self._next = (found[-1][0] + 1) if found else 1

    # -- state ----------------------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        """Bytes of line protocol waiting."""
        return self._bytes

    @property
    def readings(self) -> int:
        """Readings (lines of line protocol) waiting."""
        return self._readings

    def __len__(self) -> int:
        """Batches waiting."""
        return len(self._segments)

    def _path(self, seq: int) -> Path:
        return self.directory / f"{seq:020d}{_SUFFIX}"

    # -- writing --------------------------------------------------------------------------
    def append(self, body: bytes) -> None:
        """Store one batch durably at the end; raises SpoolFull if it does not fit."""
        with self._lock:
            if self._segments and self._bytes + len(body) > self.max_bytes:
                raise SpoolFull(len(body), self._bytes, self.max_bytes)
            seq = self._next
            path = self._path(seq)
            tmp = path.with_suffix(".tmp")
            try:
                fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
                try:
                    view = memoryview(body)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.rename(tmp, path)
                self._sync_dir()
            except OSError as exc:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise SpoolError(f"cannot write spool segment {path}: {exc}") from exc
            self._next += 1
            size, lines = _measure(body)
            self._segments.append((seq, size, lines))
            self._bytes += size
            self._readings += lines
            self._check_level()

    def _sync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _check_level(self) -> None:
        level = self._bytes / self.max_bytes
        if level >= WARN_FRACTION and not self._warned:
            self._warned = True
            log.warning(
                "spool above 80% of its bound; when full, ingest stops acknowledging",
                extra=fields(spool_bytes=self._bytes, max_spool_bytes=self.max_bytes),
            )
        elif level < REARM_FRACTION:
            self._warned = False

    # -- reading --------------------------------------------------------------------------
    def oldest(self) -> tuple[int, bytes] | None:
        """The oldest batch as ``(seq, body)``, or None if the spool is empty."""
        with self._lock:
            if not self._segments:
                return None
            seq = self._segments[0][0]
        try:
            return seq, self._path(seq).read_bytes()
        except OSError as exc:
            raise SpoolError(f"cannot read spool segment {self._path(seq)}: {exc}") from exc

    def remove(self, seq: int) -> None:
        """Forget the oldest batch once InfluxDB has it (a lost unlink only means a replay)."""
        with self._lock:
            if not self._segments or self._segments[0][0] != seq:
                raise SpoolError(f"segment {seq} is not the oldest")
            _, size, lines = self._segments.popleft()
            self._bytes -= size
            self._readings -= lines
            try:
                self._path(seq).unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise SpoolError(f"cannot delete spool segment {seq}: {exc}") from exc
            self._check_level()

    def close(self) -> None:
        """Release the directory lock."""
        with self._lock:
            if self._lockfile >= 0:
                os.close(self._lockfile)
                self._lockfile = -1

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
