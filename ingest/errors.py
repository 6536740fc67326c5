"""Errors of the ingest service::

    CareloopError
    └── IngestError              base of everything below
        ├── RegistryError        the device registry cannot be read or written
        ├── DeadLetterError      the dead-letter store cannot be read or written
        ├── SpoolError           the disk spool failed (disk full, unreadable segment)
        │   └── SpoolFull        the spool reached max_spool_bytes (backpressure, not loss)
        ├── InfluxError          a /write did not store the batch
        │   ├── InfluxUnavailable  down, unreachable, 5xx, auth or database missing: retry
        │   └── InfluxRejected     400/413/422: InfluxDB refuses these points; retrying the
        │                          same bytes cannot help, so they are split and dead-lettered
        └── ClientError          the paho-mqtt build lacks what the fast reader relies on

A device's bad message is *not* an error here: it is a :class:`careloop.wire.WireError`
turned into a dead letter. Lower-level errors (sqlite3, OSError, http.client) are translated
at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations

from careloop.errors import CareloopError


class IngestError(CareloopError):
    """Base of ingest errors."""


class RegistryError(IngestError):
    """The device registry could not be read or written."""


class DeadLetterError(IngestError):
    """The dead-letter store could not be read or written."""


class SpoolError(IngestError):
    """The disk spool could not store or read a batch."""


class SpoolFull(SpoolError):
    """Adding the batch would exceed ``max_spool_bytes``; the caller must wait, not drop."""

    def __init__(self, size: int, used: int, limit: int) -> None:
        self.size = size
        self.used = used
        self.limit = limit
        super().__init__(f"spool full: {used} + {size} bytes would exceed {limit}")


class InfluxError(IngestError):
    """A write to InfluxDB did not store the batch."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        self.reason = reason
        self.status = status
        shown = f"HTTP {status}: " if status is not None else ""
        super().__init__(f"{shown}{reason}")


class InfluxUnavailable(InfluxError):
    """InfluxDB is down or not accepting writes right now; the same write may work later."""


class InfluxRejected(InfluxError):
    """InfluxDB refused (some of) the points for good; the same write will fail again."""


class ClientError(IngestError):
    """The installed paho-mqtt lacks an internal the fast reader needs (see client.py)."""
