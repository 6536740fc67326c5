"""Line protocol: types and escaping, checked by a real InfluxDB reading the points back."""

from __future__ import annotations

import json

from careloop.wire import Topic, decode
from ingest.lineproto import FIELDS, escape_tag, head, message_lines, quote

TS = 1_764_000_000_000


def lines_of(kind: str, readings: list[dict], site="home", device="term-1") -> list[str]:
    body = {"v": 1, "device": device, "resident": "r1", "seq": 1, "ts": TS, "readings": readings}
    return message_lines(*decode(Topic(site, device, kind), json.dumps(body).encode()))


def test_types_follow_the_tables():
    [line] = lines_of(
        "vitals",
        [
            {
                "ts": TS,
                "heart_rate": 72,
                "spo2": 97.5,
                "steps": 12,
                "bed_occupied": True,
                "room_motion": False,
                "consciousness": "A",
            }
        ],
    )
    assert line == (
        "vitals,device=term-1,resident=r1,site=home "
        'heart_rate=72.0,spo2=97.5,consciousness="A",steps=12i,bed_occupied=true,'
        f"room_motion=false {TS}"
    )


def test_event_type_is_a_tag_and_utterance_text_is_never_stored():
    [event] = lines_of("event", [{"ts": TS, "type": "fall_detected", "confidence": 0.9}])
    assert event == (
        f"event,device=term-1,resident=r1,site=home,type=fall_detected confidence=0.9,n=1i {TS}"
    )
    [utterance] = lines_of("utterance", [{"ts": TS, "language": "zh", "text": "今天有点闷"}])
    assert "text" not in utterance and "今天" not in utterance
    assert "text" not in FIELDS["utterance"]


def test_escaping():
    assert escape_tag("a b,c=d") == r"a\ b\,c\=d"
    assert escape_tag("plain-id_1.2") == "plain-id_1.2"
    assert quote('say "hi"\\') == r'"say \"hi\"\\"'
    assert quote("two\nlines") == '"two\\\\nlines"'
    assert head("status", "s", "r", "d") == "device_status,device=d,resident=r,site=s"


def test_points_read_back_from_influxdb(influxdb, influx_db):
    tricky = 'quote " backslash \\ comma, equals= space newline\nend'
    lines = [
        *lines_of("event", [{"ts": TS, "type": "door", "detail": tricky}]),
        *lines_of("vitals", [{"ts": TS + 1, "heart_rate": 61, "steps": 3, "bed_occupied": True}]),
    ]
    influxdb.write(influx_db, lines)
    event = influxdb.query("SELECT * FROM event", influx_db, epoch="ms")
    columns = event["results"][0]["series"][0]["columns"]
    row = dict(zip(columns, event["results"][0]["series"][0]["values"][0], strict=True))
    assert row["detail"] == tricky.replace("\n", "\\n")  # newline kept as the two chars \n
    assert (row["time"], row["type"], row["n"], row["site"]) == (TS, "door", 1, "home")
    fields = influxdb.query("SHOW FIELD KEYS FROM vitals", influx_db)["results"][0]["series"][0]
    types = {"bed_occupied": "boolean", "heart_rate": "float", "steps": "integer"}
    assert dict(fields["values"]) == types


def test_a_motion_window_is_stored_as_one_summary_point_not_its_samples():
    t = [0, 500, 1000, 1500]
    window = {
        "ts": TS + 1500,
        "start": TS,
        "t_ms": t,
        "acc_mg": [[0, 1000, 0]] * 3 + [[0, 0, 2000]],
    }
    [line] = lines_of("motion", [window])
    assert line == (
        f"motion,device=term-1,resident=r1,site=home start={TS}i,samples=4i,span_ms=1500i,"
        f"peak_mg=2000i {TS + 1500}"
    )
    with_peaks = lines_of("motion", [{**window, "peak_mg": [1000, 3100, 1000, 1000]}])
    assert with_peaks[0].endswith(f"peak_mg=3100i {TS + 1500}")
