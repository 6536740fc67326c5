"""One received message into the open batch: topic, contract, registry; never raises for
anything a device sends.

Runs on the MQTT thread for every message, so it does no logging and no I/O (except the
rare ``--auto-register`` insert): a valid message becomes lines, a rejected one a dead
letter, a downlink command is skipped; all three are acknowledged with their batch.

Utterances (rare next to vitals) take one more step: their ``text`` is stored only where
the resident consented (:mod:`people.consent`); otherwise it is dropped and counted.
"""

from __future__ import annotations

import logging

import pydantic_core

from careloop.logs import fields
from careloop.wire import WireError, decode
from careloop.wire.shortcut import strict_id
from ingest.batch import Batch
from ingest.deadletters import DeadLetter
from ingest.decoder import Decoder
from ingest.lineproto import message_lines
from ingest.metrics import IngestMetrics
from people.consent import ConsentCache
from people.devices import Device, DeviceRegistry, Verdict
from people.errors import PeopleError

log = logging.getLogger(__name__)


class Intake:
    """Validates messages against the contract and the registry, into batches."""

    def __init__(
        self,
        decoder: Decoder,
        registry: DeviceRegistry,
        metrics: IngestMetrics,
        auto_register: bool,
        consent: ConsentCache | None = None,
    ) -> None:
        self.decoder = decoder
        self.registry = registry
        self.metrics = metrics
        self.auto_register = auto_register
        #: None = nobody consented (text is never stored).
        self.consent = consent

    def accept(self, batch: Batch, topic_bytes: bytes, mid: int, qos: int, payload: bytes) -> None:
        """Add one message to ``batch`` as lines, a dead letter, or a skip."""
        try:
            topic = topic_bytes.decode()
        except UnicodeDecodeError:
            topic = topic_bytes.decode("utf-8", "replace")
            letter = DeadLetter.make(topic, "bad_topic:topic", "topic is not UTF-8", payload)
            batch.reject(mid, qos, letter)
            return
        parsed = self.decoder.topic(topic)
        if parsed is not None and parsed.kind == "cmd":
            batch.skip(mid, qos)
            self.metrics.ignored.inc()
            return
        try:
            decoded = self.decoder.decode(topic, payload)
        except WireError as exc:
            batch.reject(mid, qos, DeadLetter.make(topic, exc.reason, exc.description, payload))
            return
        site = decoded.topic.site
        verdict = self.registry.check(decoded.device, site, decoded.resident)
        if verdict == "unknown_device" and self.auto_register:
            verdict = self._register(decoded.device, site, decoded.resident)
        if verdict != "ok":
            detail = (
                f"device {decoded.device!r} is not registered"
                if verdict == "unknown_device"
                else f"device {decoded.device!r} is not registered to resident "
                f"{decoded.resident!r} at site {site!r}"
            )
            batch.reject(mid, qos, DeadLetter.make(topic, verdict, detail, payload))
            return
        lines = decoded.lines
        if decoded.topic.kind == "utterance":
            lines = self._utterance_lines(topic, payload, lines, site, decoded.resident)
        batch.add(mid, qos, topic, payload, lines, decoded.first_ts)

    def _utterance_lines(
        self, topic: str, payload: bytes, lines: list[str], site: str, resident: str
    ) -> list[str]:
        """The lines to store for a valid utterance message: with its text where the
        resident consented, else the decoder's features-only lines (text counted, dropped)."""
        texts = _texts(payload)
        if not texts:
            return lines
        if self.consent is not None and self.consent.allows_text(site, resident):
            checked, message = decode(topic, payload)  # valid: the decoder accepted it
            self.metrics.text_stored.inc(texts)
            return message_lines(checked, message, keep_text=True)
        self.metrics.text_dropped.inc(texts)
        return lines

    def _register(self, device: str, site: str, resident: str) -> Verdict:
        """--auto-register: take the message's word for whom the device belongs to."""
        if not strict_id(site):
            return "unknown_device"
        try:
            self.registry.add([Device(device, site, resident)], replace=False)
            self.registry.refresh(force=True)
        except PeopleError as exc:
            log.warning("auto-register failed", extra=fields(device=device, error=str(exc)))
            return "unknown_device"
        return self.registry.check(device, site, resident)


def _texts(payload: bytes) -> int:
    """How many readings of a (valid) utterance message carry text."""
    if b"text" not in payload and b"\\u" not in payload:
        return 0  # neither the key nor an escape that could spell it
    obj = pydantic_core.from_json(payload)
    return sum(1 for r in obj["readings"] if r.get("text") is not None)
