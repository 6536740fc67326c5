"""The durable outbox on its own: order, atomic cursor, bound policy, persistence."""

from __future__ import annotations

import json

import pytest

from edge.errors import OutboxError
from edge.outbox import Outbox


def vit(i: int) -> tuple[str, str]:
    return ("vitals", json.dumps({"ts": 1_764_000_000_000 + i, "heart_rate": 70}))


def test_fifo_by_kind_runs_and_ack(tmp_path):
    with Outbox(tmp_path / "o.sqlite3") as box:
        box.put([vit(0), vit(1), ("event", '{"ts":1,"type":"door"}'), vit(2)], cursor="4")
        first = box.peek(10)
        assert [r.kind for r in first] == ["vitals", "vitals"]  # a run stops at another kind
        box.ack(first)
        second = box.peek(10)
        assert [r.kind for r in second] == ["event"]
        box.ack(second)
        third = box.peek(10)
        assert [r.kind for r in third] == ["vitals"] and len(box) == 1
        assert box.cursor == "4"


def test_peek_respects_limit_and_bytes(tmp_path):
    with Outbox(tmp_path / "o.sqlite3") as box:
        box.put([vit(i) for i in range(100)])
        assert len(box.peek(7)) == 7
        body = len(vit(0)[1]) + 1
        assert len(box.peek(100, max_bytes=body * 10)) == 10


def test_ids_only_grow_across_acks_and_reopen(tmp_path):
    path = tmp_path / "o.sqlite3"
    with Outbox(path) as box:
        box.put([vit(0), vit(1)])
        rows = box.peek(10)
        box.ack(rows)
        last = rows[-1].id
    with Outbox(path) as box:
        box.put([vit(2)])
        assert box.peek(10)[0].id > last  # AUTOINCREMENT: a seq never repeats


def test_readings_and_cursor_survive_reopen(tmp_path):
    path = tmp_path / "o.sqlite3"
    with Outbox(path) as box:
        box.put([vit(i) for i in range(5)], cursor="5")
        box.ack(box.peek(2))
    with Outbox(path) as box:
        assert len(box) == 3
        assert box.cursor == "5"
        assert [json.loads(r.body)["ts"] % 1000 for r in box.peek(10)] == [2, 3, 4]


def test_full_outbox_drops_oldest_vitals_first(tmp_path):
    with Outbox(tmp_path / "o.sqlite3", max_rows=5) as box:
        box.put([("event", '{"ts":1,"type":"sos_button"}')])
        box.put([vit(i) for i in range(4)])
        dropped = box.put([vit(10), vit(11)])
        assert dropped == 2
        head = box.peek(10)
        assert [(r.kind, json.loads(r.body)["ts"]) for r in head] == [("event", 1)]  # SOS kept
        assert len(box) == 5 and box.dropped == 2
        box.ack(head)
        assert [json.loads(r.body)["ts"] % 1000 for r in box.peek(10)] == [2, 3, 10, 11]


def test_full_of_events_drops_oldest_event(tmp_path):
    with Outbox(tmp_path / "o.sqlite3", max_rows=2) as box:
        box.put([("event", f'{{"ts":{i},"type":"door"}}') for i in range(3)])
        assert len(box) == 2 and box.dropped == 1


def test_session_counter_persists(tmp_path):
    path = tmp_path / "o.sqlite3"
    with Outbox(path) as box:
        assert box.next_session() == 1
        assert box.next_session() == 2
    with Outbox(path) as box:
        assert box.next_session() == 3


def test_closed_outbox_fails_loudly(tmp_path):
    box = Outbox(tmp_path / "o.sqlite3")
    box.close()
    with pytest.raises(OutboxError, match="closed"):
        box.put([vit(0)])


def test_unopenable_outbox_is_an_outbox_error(tmp_path):
    (tmp_path / "dir.sqlite3").mkdir()
    with pytest.raises(OutboxError, match="cannot open"):
        Outbox(tmp_path / "dir.sqlite3")
