"""The benchmark's readings: valid per the contract, distinct, and exactly what ingest writes."""

from __future__ import annotations

import json

import pytest

from bench.workload import Workload
from careloop.wire import VitalsMessage, decode
from ingest import Decoder


@pytest.mark.parametrize("per_message", [1, 10])
def test_every_message_decodes_with_the_contract(per_message: int) -> None:
    workload = Workload(7, seed=3, site="bench-1")
    messages = list(workload.messages(per_message, 20))
    assert len(messages) == 20
    for topic, payload in messages:
        parsed, message = decode(topic.decode(), payload)
        assert isinstance(message, VitalsMessage)
        assert parsed.site == "bench-1" and parsed.device == message.device
        assert len(message.readings) == per_message


def test_every_reading_has_its_own_timestamp() -> None:
    workload = Workload(7, seed=3, site="bench-1")
    stamps = [
        reading["ts"]
        for _, payload in workload.messages(10, 30)
        for reading in json.loads(payload)["readings"]
    ]
    assert len(stamps) == len(set(stamps)) == 300


def test_expected_counts_and_checksums_what_is_sent() -> None:
    workload = Workload(7, seed=3, site="bench-1")
    for per_message, count in [(1, 1), (1, 20), (10, 15)]:
        readings = [
            r for _, p in workload.messages(per_message, count) for r in json.loads(p)["readings"]
        ]
        expected = workload.expected(per_message, count)
        assert expected.readings == len(readings)
        assert expected.steps_sum == sum(r["steps"] for r in readings)


def test_last_message_names_the_last_published() -> None:
    workload = Workload(7, seed=3, site="bench-1")
    *_, (_, payload) = workload.messages(10, 16)
    body = json.loads(payload)
    assert workload.last_message(10, 16) == (body["device"], body["readings"][0]["ts"])


def test_ceiling_lines_are_what_ingest_writes() -> None:
    """The InfluxDB ceiling writes the same points ingest makes of the same readings."""
    workload = Workload(7, seed=3, site="bench-1")
    decoder = Decoder()
    from_ingest = [
        line
        for topic, payload in workload.messages(1, 30)
        for line in decoder.decode(topic.decode(), payload).lines
    ]
    assert list(workload.lines(30)) == from_ingest
    assert decoder.fast == 30  # the common case being measured: ingest's shortcut decoder
    bodies = workload.bodies(30, 8)
    assert [len(b.split(b"\n")) for b in bodies] == [8, 8, 8, 6]


def test_same_seed_same_readings_other_seed_other_values() -> None:
    a = list(Workload(5, seed=1, site="s").messages(1, 10))
    assert a == list(Workload(5, seed=1, site="s").messages(1, 10))
    assert a != list(Workload(5, seed=2, site="s").messages(1, 10))
