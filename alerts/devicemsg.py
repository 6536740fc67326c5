"""A resident's device message heard by the alert service: the answer to a waiting reminder
("吃過藥了", or the event itself) or to the satisfaction question (words or a rating button).

Every replica of the service hears each message; the message's key (device, kind, ``seq``,
``ts``, reading) lets exactly one of them take it (:meth:`alerts.claims.Claims.first_sight_of_need`
inside the answer's transaction), the others see ``duplicate``.
"""

from __future__ import annotations

import logging

from alerts.engine import AlertEngine
from careloop.i18n.confirm import is_confirmation
from careloop.logs import fields
from careloop.wire import Topic, WireError, decode

log = logging.getLogger(__name__)


def device_answers(engine: AlertEngine, topic: str, payload: bytes) -> None:
    """An utterance or event of a resident's device: an answer to a waiting satisfaction
    question, or (mostly) nothing to do here. Bad messages are ingest's to dead-letter."""
    try:
        parsed, message = decode(Topic.parse(topic), payload)
    except WireError as exc:
        log.debug("device message not read for answers", extra=fields(reason=exc.reason))
        return
    resident = str(getattr(message, "resident", ""))
    ts = int(getattr(message, "ts", 0))
    # Every replica hears the message: its key lets one of them take it as an answer. It
    # starts with the resident, so erasing them erases it (AlertStore.erase_resident).
    seq = getattr(message, "seq", "")
    base = f"{resident}:msg:{parsed.device}:{parsed.kind}:{seq}:{ts}"
    for i, reading in enumerate(getattr(message, "readings", ())):
        key = f"{base}:{i}"
        kind, text = getattr(reading, "type", None), getattr(reading, "text", None)
        if (kind and kind != "rating_button") or (text and is_confirmation(text)):
            answer = engine.confirm_reminder(  # "吃過藥了" or the event itself
                parsed.site, parsed.device, resident, text=text, event=kind, key=key,
                ts_ms=ts,
            )  # fmt: skip
            if answer in ("confirmed", "not_their_device"):
                log.info("reminder answer", extra=fields(device=parsed.device, outcome=answer))
            if kind or answer in ("confirmed", "duplicate"):  # taken by a replica
                continue
        if parsed.kind == "event":
            button = str(getattr(reading, "detail", None) or "")
            outcome = engine.answer(
                parsed.site, parsed.device, resident, button=button, key=key, ts_ms=ts
            )
        else:
            text = getattr(reading, "text", None)
            outcome = engine.answer(
                parsed.site, parsed.device, resident, text=text, key=key, ts_ms=ts
            )
        if outcome not in ("no_question", "no_words", "duplicate"):
            log.info("satisfaction answer", extra=fields(device=parsed.device, outcome=outcome))
