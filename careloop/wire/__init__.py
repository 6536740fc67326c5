"""The wire contract: MQTT topics and payload schemas shared by edge, ingest and simulators.

Public surface::

    Topic, subscription, KINDS, DATA_KINDS     topics.py
    VITALS, EVENT, UTTERANCE, Measure          measures.py (declarative field tables)
    VitalsMessage, MotionMessage, ...,         schemas.py
    MESSAGE_TYPES
    decode, encode, validate, data_message,    codec.py
    encode_stored
    WireError                                  errors.py (the one validation error)
"""

from careloop.wire.codec import (
    data_message,
    decode,
    encode,
    encode_stored,
    status_message,
    validate,
)
from careloop.wire.errors import WireError
from careloop.wire.measures import (
    ACVPU,
    EVENT,
    EVENT_TYPES,
    POSTURES,
    TABLES,
    UTTERANCE,
    VITALS,
    Measure,
)
from careloop.wire.schemas import (
    MAX_PAYLOAD_BYTES,
    MAX_READINGS,
    MESSAGE_TYPES,
    READING_TYPES,
    CommandMessage,
    DataMessage,
    Envelope,
    EventMessage,
    Message,
    MotionMessage,
    MotionReading,
    StatusMessage,
    UtteranceMessage,
    VitalsMessage,
)
from careloop.wire.topics import (
    DATA_KINDS,
    KINDS,
    UPLINK_KINDS,
    Kind,
    Topic,
    check_id,
    subscription,
)

__all__ = [
    "ACVPU",
    "DATA_KINDS",
    "EVENT",
    "EVENT_TYPES",
    "KINDS",
    "MAX_PAYLOAD_BYTES",
    "MAX_READINGS",
    "MESSAGE_TYPES",
    "POSTURES",
    "READING_TYPES",
    "TABLES",
    "UPLINK_KINDS",
    "UTTERANCE",
    "VITALS",
    "CommandMessage",
    "DataMessage",
    "Envelope",
    "EventMessage",
    "Kind",
    "Measure",
    "Message",
    "MotionMessage",
    "MotionReading",
    "StatusMessage",
    "Topic",
    "UtteranceMessage",
    "VitalsMessage",
    "WireError",
    "check_id",
    "data_message",
    "decode",
    "encode",
    "encode_stored",
    "status_message",
    "subscription",
    "validate",
]
