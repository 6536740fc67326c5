"""Encode and decode messages; the only place pydantic errors become :class:`WireError`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from careloop.wire.errors import WireError
from careloop.wire.schemas import MAX_PAYLOAD_BYTES, MESSAGE_TYPES, Message, StatusMessage
from careloop.wire.topics import Topic


def translate_error(exc: ValidationError) -> WireError:
    """The first pydantic error as a WireError naming the field and the rule."""
    err = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in err["loc"]) or "payload"
    rule = err["msg"]
    if err["type"] == "json_invalid":
        field, rule = "payload", f"not valid JSON: {err.get('ctx', {}).get('error', rule)}"
    if err["type"] == "missing":
        rule = "is required"
    if err["type"] == "extra_forbidden":
        rule = "is not a field of this message"
    value = err.get("input") if err["type"] not in ("missing", "json_invalid") else None
    if isinstance(value, dict | list):
        value = None
    return WireError(field, rule, value, code=err["type"])


M = TypeVar("M", bound=BaseModel)


def parse_json(model: type[M], payload: bytes | str) -> M:
    """``model`` from JSON, with pydantic's first error as a WireError: every decoder of the
    contract (device messages, needs, alerts, control) goes through here."""
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        raise translate_error(exc) from exc


def decode(topic: str | Topic, payload: bytes | str) -> tuple[Topic, Message]:
    """Validate an incoming MQTT message against the contract.

    Checks, in order: size, topic layout, JSON and schema for the topic's kind, and that the
    payload's ``device`` is the topic's device (a device may only speak for itself).
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise WireError(
            "payload", f"must be at most {MAX_PAYLOAD_BYTES} bytes", len(payload), code="too_large"
        )
    parsed = topic if isinstance(topic, Topic) else Topic.parse(topic)
    message: Any = parse_json(MESSAGE_TYPES[parsed.kind], payload)
    device = getattr(message, "device", None)
    if device is not None and device != parsed.device:
        raise WireError(
            "device", f"must equal the topic's device {parsed.device!r}", device, code="spoofed"
        )
    return parsed, message


def validate(kind: str, data: Mapping[str, Any]) -> Message:
    """Validate a Python mapping as a message of ``kind`` (used by producers before sending)."""
    if kind not in MESSAGE_TYPES:
        raise WireError("kind", f"must be one of {', '.join(MESSAGE_TYPES)}", kind)
    try:
        return MESSAGE_TYPES[kind].model_validate(dict(data))  # type: ignore[return-value]
    except ValidationError as exc:
        raise translate_error(exc) from exc


def encode(message: BaseModel) -> bytes:
    """Compact JSON of a message, leaving out absent (None) fields."""
    return message.model_dump_json(exclude_none=True).encode()


def encode_stored(
    *, device: str, resident: str, seq: int, ts: int, readings: Sequence[str]
) -> bytes:
    """A data message's bytes around ``readings`` that are already compact JSON objects,
    each validated when it was stored (the edge agent's outbox): the envelope is built
    here, once, without parsing and validating every reading again on the way out."""
    head = json.dumps(
        {"v": 1, "device": device, "resident": resident, "seq": seq, "ts": ts},
        separators=(",", ":"),
    )
    return f'{head[:-1]},"readings":[{",".join(readings)}]}}'.encode()


def data_message(
    kind: str,
    *,
    device: str,
    resident: str,
    seq: int,
    ts: int,
    readings: Iterable[Mapping[str, Any]],
) -> Message:
    """Build and validate a data message of ``kind`` (any data kind) carrying ``readings``."""
    return validate(
        kind,
        {
            "device": device,
            "resident": resident,
            "seq": seq,
            "ts": ts,
            "readings": [dict(r) for r in readings],
        },
    )


def status_message(
    *, device: str, resident: str, seq: int, ts: int, state: str, reason: str | None = None
) -> StatusMessage:
    """Build a birth (``online``) or last-will (``offline``) status message."""
    msg = validate(
        "status",
        {
            "device": device,
            "resident": resident,
            "seq": seq,
            "ts": ts,
            "state": state,
            "reason": reason,
        },
    )
    assert isinstance(msg, StatusMessage)
    return msg
