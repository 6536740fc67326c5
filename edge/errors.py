"""Errors of the edge agent::

CareloopError
└── EdgeError          base of everything below
    ├── OutboxError    the on-disk outbox failed (disk full, corrupt file)
    └── AdapterError   a sensor adapter failed; its device is reported unavailable
"""

from __future__ import annotations

from careloop.errors import CareloopError


class EdgeError(CareloopError):
    """Base of edge agent errors."""


class OutboxError(EdgeError):
    """The durable outbox could not store or read readings."""


class AdapterError(EdgeError):
    """A sensor adapter could not produce readings."""

    def __init__(self, device: str, reason: str) -> None:
        self.device = device
        self.reason = reason
        super().__init__(f"device {device}: {reason}")
