"""Errors of the edge agent::

CareloopError
└── EdgeError          base of everything below
    ├── OutboxError    the on-disk outbox failed (disk full, corrupt file)
    ├── AdapterError   a sensor adapter failed; its device is reported unavailable
    └── SpeechError    a voice device's words or audio cannot be measured (``reason`` code)
        └── AudioError the audio is unreadable, in the wrong format, too short or silent
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


class SpeechError(EdgeError):
    """Words or audio of one utterance that cannot give a feature.

    ``reason`` is a short code from :data:`edge.speech.REASONS` (bounded, so it can label a
    counter); ``detail`` says more for a person and holds numbers only, never words.
    """

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class AudioError(SpeechError):
    """Audio that cannot be measured (unreadable, wrong format, too short or long, silent)."""
