"""Dead letters on their way to PostgreSQL, held in a local file while the server is away.

With ``database_url`` naming PostgreSQL the dead letters live on the server, but ingest
writes them from its hot path: a writer thread acknowledges a batch only once its rejected
messages are durable. Waiting there for a server that is down would hold back the good
readings of the same batch and of every batch behind it. :class:`HeldDeadLetters` keeps
that path cheap and never blocking on the server:

* normally ``add`` writes the batch's letters to PostgreSQL in one transaction (as to the
  SQLite file in the default setup);
* if that fails (server down, a failover, a network cut) the letters go to a local SQLite
  file instead (``DATA_DIR/ingest/deadletters-held.sqlite3``, fsynced, private), and so do
  all later ones while anything is held, keeping their order; the batch is acknowledged
  as usual, its readings written as usual;
* a thread of its own (:meth:`run`) moves held letters to the server, oldest first, in
  chunks, with backoff between failed attempts; the held file empties when the server is
  back. A crash between a chunk's commit on the server and its removal here stores that
  chunk twice (at least once, never lost). Held letters survive a restart: the next start
  moves them.

Only if the local file cannot be written either (disk full) does ``add`` raise
:class:`~ingest.errors.DeadLetterError`: the batch is then retried, unacknowledged, as
before. The gauge ``careloop_ingest_deadletters_held`` says how many letters wait.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from careloop.logs import fields
from careloop.mqtt import Backoff
from careloop.paths import Paths
from ingest.deadletters import DeadLetter, DeadLetterStore
from ingest.errors import DeadLetterError
from ingest.metrics import IngestMetrics

log = logging.getLogger(__name__)

#: Letters moved to the server per transaction.
CHUNK = 500
#: Backoff (first, ceiling, seconds) between attempts to reach the server.
RETRY = (0.5, 30.0)


class HeldDeadLetters:
    """``add`` to ``store`` (PostgreSQL), or to the file ``held`` while it fails.

    Thread-safe: writer threads call :meth:`add`, one thread runs :meth:`run`.
    """

    def __init__(
        self,
        store: DeadLetterStore,
        held: Path,
        *,
        on_held: Callable[[int], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.held_path = Path(held)
        self._on_held = on_held
        self._clock = clock
        self._lock = threading.Lock()
        self._hold: DeadLetterStore | None = None
        self._held = 0
        self._retry_at = 0.0
        self._backoff = Backoff(*RETRY)
        #: Set when letters are held, so :meth:`run` starts moving them at once.
        self.wake = threading.Event()
        if self.held_path.exists():  # letters held by an earlier run: move them first
            hold = self._open_hold()
            self._set_held(sum(hold.counts().values()))
            if self._held:
                self.wake.set()

    @property
    def held(self) -> int:
        """How many letters wait in the local file."""
        return self._held

    def add(self, letters: Sequence[DeadLetter]) -> None:
        """Store ``letters`` on the server, or hold them locally; DeadLetterError only if
        neither can be written (the caller retries the batch)."""
        if not letters:
            return
        with self._lock:
            if not self._held and self._clock() >= self._retry_at:
                try:
                    self.store.add(letters)
                except DeadLetterError as exc:
                    self._note_down(exc)
                else:
                    return
            self._open_hold().add(letters)
            self._set_held(self._held + len(letters))
        self.wake.set()

    def flush(self) -> bool:
        """Move held letters to the server until none are left; False if the server failed
        (try again after :attr:`retry_in`)."""
        while self._held:
            hold = self._open_hold()
            chunk = hold.oldest(CHUNK)
            try:
                self.store.add(chunk)
            except DeadLetterError as exc:
                with self._lock:
                    self._note_down(exc)
                return False
            hold.remove([d.id for d in chunk])
            with self._lock:
                self._set_held(sum(hold.counts().values()))
                if not self._held:
                    self._backoff.reset()
                    self._retry_at = 0.0
                    log.info("held dead letters moved to the database")
        return True

    @property
    def retry_in(self) -> float:
        """Seconds until the server is tried again (0: now)."""
        return max(0.0, self._retry_at - self._clock())

    def run(self, stop: threading.Event) -> None:
        """The mover thread: flush whenever letters are held, with backoff, until ``stop``."""
        while not stop.is_set():
            if not self._held:
                self.wake.wait(1.0)
                self.wake.clear()
                continue
            wait = self.retry_in
            if wait == 0:
                try:
                    self.flush()
                except DeadLetterError as exc:  # the local file itself failed: log, retry
                    log.error("held dead letters not moved", extra=fields(error=str(exc)[:300]))
                    with self._lock:
                        self._note_down(exc)
                wait = self.retry_in
            if wait:
                stop.wait(wait)

    def close(self) -> None:
        """Close the local file (the server's store is the caller's to close)."""
        with self._lock:
            if self._hold is not None:
                self._hold.close()
                self._hold = None

    # -- plumbing (callers hold the lock, or run before other threads start) ----------------
    def _open_hold(self) -> DeadLetterStore:
        if self._hold is None:
            # Bounded like the server's table: a flood during a long outage keeps the newest.
            self._hold = DeadLetterStore(self.held_path, max_rows=self.store.max_rows)
        return self._hold

    def _note_down(self, exc: DeadLetterError) -> None:
        first = self._retry_at == 0.0
        self._retry_at = self._clock() + self._backoff.next_delay()
        if first:
            log.warning(
                "dead-letter database unavailable; holding dead letters locally",
                extra=fields(error=str(exc)[:300], held=self._held),
            )

    def _set_held(self, n: int) -> None:
        self._held = n
        if self._on_held is not None:
            self._on_held(n)


def hold_on_postgres(
    store: DeadLetterStore, paths: Paths, metrics: IngestMetrics
) -> HeldDeadLetters | None:
    """Ingest's way to ``store`` if it lives on PostgreSQL (None: a SQLite file is written
    directly, as it always was), held in ``paths.deadletters_held`` while the server is
    away and counted by the ``deadletters_held`` gauge."""
    if store.dialect == "sqlite":
        return None
    return HeldDeadLetters(store, paths.deadletters_held, on_held=metrics.deadletters_held.set)
