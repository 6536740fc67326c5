"""Errors of the ingest service::

    CareloopError
    └── IngestError              base of everything below
        ├── DeadLetterError      the dead-letter store cannot be read or written
        ├── SpoolError           the disk spool failed (disk full, unreadable segment)
        │   └── SpoolFull        the spool reached max_spool_bytes (backpressure, not loss)
        └── ClientError          the paho-mqtt build lacks what the fast reader relies on

InfluxDB's answers are :mod:`careloop.influx` errors (``InfluxUnavailable``: retry later;
``InfluxRejected``: split the batch and dead-letter what InfluxDB refuses for good), and the
device registry's are :class:`people.PeopleError`. A device's bad message is *not* an error
here: it is a :class:`careloop.wire.WireError` turned into a dead letter. Lower-level
errors (sqlite3, OSError, http.client) are translated at the boundary with ``raise ... from
exc``.
"""

from __future__ import annotations

from careloop.errors import CareloopError


class IngestError(CareloopError):
    """Base of ingest errors."""


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


class ClientError(IngestError):
    """The installed paho-mqtt lacks an internal the fast reader needs (see client.py)."""
