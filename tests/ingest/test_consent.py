"""Consent drives storage: utterance text reaches InfluxDB only for a consenting resident.

Real broker, real InfluxDB, real ingest, and the real directory deciding consent. The edge
strips text without consent; here the devices send it anyway (a misconfigured or tampered
device), and ingest must still keep only the features for the resident who did not agree.
"""

from __future__ import annotations

import json
import time

from careloop.wire import Topic
from ingest import Ingestor
from people import Consent, Directory, Resident, Site
from tests.helpers.feed import T0
from tests.helpers.mqtt import MqttTestClient
from tests.ingest.conftest import count, ingest_settings, register, wait_count, wait_until

WORDS = "I fell, please help"


def utterance(device: str, resident: str, seq: int, ts: int, text: str | None) -> bytes:
    reading = {"ts": ts, "language": "en", "speech_rate": 3.5, "pitch_hz": 210.0}
    if text is not None:
        reading["text"] = text
    body = {"v": 1, "device": device, "resident": resident, "seq": seq, "ts": ts}
    return json.dumps({**body, "readings": [reading]}).encode()


def texts(influxdb, db: str, resident: str) -> list[str]:
    q = f"SELECT \"text\" FROM utterance WHERE resident = '{resident}'"
    series = influxdb.query(q, db)["results"][0].get("series") or []
    return [row[1] for s in series for row in s["values"] if row[1] is not None]


def test_text_stored_only_with_consent(
    mosquitto, influxdb, influx_db, tmp_path, unique_topic_root, database_url
):
    site = unique_topic_root
    url = database_url
    register(tmp_path, site, ("voice-yes", "r-yes"), ("voice-no", "r-no"), url=url)
    with Directory(tmp_path / "people.sqlite3", url=url) as directory:
        directory.add_site(Site(site, "Home"))
        for resident in ("r-yes", "r-no"):
            directory.add_resident(Resident(site, resident, f"name {resident}"))
        directory.set_consent(Consent(site, "r-yes", store_utterance_text=True))

        settings = ingest_settings(mosquitto, influxdb, influx_db, tmp_path, database_url=url)
        with Ingestor(settings) as ingest:
            wait_until(lambda: ingest.connected, 10, "ingest did not connect")
            time.sleep(0.2)  # SUBACK
            with MqttTestClient(mosquitto.host, mosquitto.port).connect() as pub:
                for device, resident in (("voice-yes", "r-yes"), ("voice-no", "r-no")):
                    topic = str(Topic(site, device, "utterance"))
                    pub.publish(topic, utterance(device, resident, 1, T0, WORDS), qos=1)
                    pub.publish(topic, utterance(device, resident, 2, T0 + 1000, None), qos=1)
                assert wait_count(influxdb, influx_db, "utterance", "language", 4) == 4

                assert texts(influxdb, influx_db, "r-yes") == [WORDS]
                assert texts(influxdb, influx_db, "r-no") == []
                # The features of the one who did not consent are all there.
                where = "resident = 'r-no'"
                assert count(influxdb, influx_db, "utterance", "speech_rate", where) == 2
                m = ingest.metrics
                assert m.value("careloop_ingest_utterance_text_stored_total") == 1
                assert m.value("careloop_ingest_utterance_text_dropped_total") == 1

                # Consent withdrawn: the very next utterance keeps features only.
                directory.set_consent(Consent(site, "r-yes", store_utterance_text=False))
                topic = str(Topic(site, "voice-yes", "utterance"))
                pub.publish(topic, utterance("voice-yes", "r-yes", 3, T0 + 2000, "later"), qos=1)
                assert wait_count(influxdb, influx_db, "utterance", "language", 5) == 5
                assert texts(influxdb, influx_db, "r-yes") == [WORDS]
                assert m.value("careloop_ingest_utterance_text_dropped_total") == 2
