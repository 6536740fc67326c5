"""InfluxDB over https with authentication: influxd 1.6.7 with a test-made certificate and
``auth-enabled`` (docs/deploy.md), reached through careloop's one client
(:mod:`careloop.influx`) by ingest and the API's reader.

The admin user is created the way influxd 1.x allows it on a fresh server: through
``/query``, before any user exists. Services then authenticate as users of their own.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from careloop.errors import SettingsError
from careloop.influx import (
    AsyncInfluxClient,
    InfluxClient,
    InfluxUnavailable,
    connect_async,
    ident,
    literal,
)
from careloop.settings import load_settings
from devservers import InfluxDB
from ingest import Ingestor
from tests.helpers.certs import TestCA
from tests.helpers.mqtt import MqttTestClient
from tests.ingest.conftest import count, ingest_settings, register, vitals, wait_until

ADMIN, ADMIN_PASSWORD = "admin", "influx-admin-test-1"
INGEST, INGEST_PASSWORD = "ingest", "influx-ingest-test-1"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("pki")
    return SimpleNamespace(
        ca=TestCA.make(root / "ca"), wrong=TestCA.make(root / "wrong", "someone else's CA")
    )


@pytest.fixture(scope="module")
def secure_influx(tmp_path_factory: pytest.TempPathFactory, pki: SimpleNamespace) -> Any:
    """influxd serving https only, every request authenticated; a database ``careloop``
    and a user ``ingest`` with every privilege on it (and on nothing else)."""
    server = InfluxDB(
        tmp_path_factory.mktemp("influxdb"), tls=pki.ca.server_tls(), auth_enabled=True
    )
    with server:
        assert server.url.startswith("https://")
        server.create_admin(ADMIN, ADMIN_PASSWORD)
        server.create_database("careloop")
        server.query(f"CREATE USER {ident(INGEST)} WITH PASSWORD {literal(INGEST_PASSWORD)}")
        server.query(f"GRANT ALL ON {ident('careloop')} TO {ident(INGEST)}")
        yield server


def client(server: InfluxDB, ca: TestCA, user: str = INGEST, password: str = INGEST_PASSWORD):
    return InfluxClient(
        server.url, "careloop", username=user, password=password, ca_file=str(ca.ca_file)
    )


def test_http_off_the_machine_is_refused_by_the_settings():
    with pytest.raises(SettingsError, match=r"influx\.url.*https://"):
        load_settings(influx={"url": "http://influx.example.org:8086"})
    assert load_settings(influx={"url": "https://influx.example.org:8086"}).influx.url


def secure_ingest(mosquitto, server, ca: TestCA, data_dir, password=INGEST_PASSWORD) -> Any:
    """Settings for an in-process Ingestor writing to ``server`` as the ingest user."""
    base = ingest_settings(mosquitto, server, "careloop", data_dir)
    influx = {
        "url": server.url, "database": "careloop", "username": INGEST, "password": password,
        "ca_file": str(ca.ca_file),
    }  # fmt: skip
    return base.model_copy(update={"influx": load_settings(influx=influx).influx})


def ingest_one_message(settings: Any, mosquitto: Any, site: str, timestamps: list[int]) -> dict:
    """Run ingest until one message of ``timestamps`` is acknowledged; its counts."""
    with Ingestor(settings) as ingest, MqttTestClient(mosquitto.host, mosquitto.port) as device:
        wait_until(lambda: ingest.connected, 10, "ingest did not connect")
        time.sleep(0.2)  # SUBACK
        topic = f"careloop/v1/{site}/term-r1/vitals"
        device.publish(topic, vitals("term-r1", "r1", 1, *timestamps))
        wait_until(lambda: ingest.counts()["acked"] >= 1, 15, "not acknowledged")
        return ingest.counts()


def test_ingest_writes_over_https_as_its_own_user(
    secure_influx, pki, mosquitto, tmp_path, unique_topic_root
):
    site = unique_topic_root
    register(tmp_path, site, ("term-r1", "r1"))
    settings = secure_ingest(mosquitto, secure_influx, pki.ca, tmp_path)
    timestamps = [1_764_000_000_000 + i * 1000 for i in range(50)]
    assert ingest_one_message(settings, mosquitto, site, timestamps)["spooled_batches"] == 0
    where = f"site = {literal(site)}"
    assert count(secure_influx, "careloop", "vitals", "heart_rate", where) == len(timestamps)

    # The API's asyncio reader, as a user with the right CA, reads them back.
    async def read() -> Any:
        async with connect_async(settings.influx) as reader:
            return await reader.query(f'SELECT count("heart_rate") FROM "vitals" WHERE {where}')

    answer = asyncio.run(read())
    assert answer["results"][0]["series"][0]["values"][0][1] == len(timestamps)


def test_a_wrong_ca_is_refused_with_a_clear_error(secure_influx, pki):
    with client(secure_influx, pki.wrong) as influx, pytest.raises(InfluxUnavailable) as err:
        influx.ping()
    assert "certificate verify failed" in str(err.value)

    async def read() -> None:
        async with AsyncInfluxClient(
            secure_influx.url, "careloop", username=INGEST, password=INGEST_PASSWORD,
            ca_file=str(pki.wrong.ca_file),
        ) as reader:  # fmt: skip
            await reader.query("SHOW MEASUREMENTS")

    with pytest.raises(InfluxUnavailable) as err:
        asyncio.run(read())
    assert "certificate verify failed" in str(err.value)


def test_ingest_with_a_wrong_password_keeps_the_readings_and_says_why(
    secure_influx, pki, mosquitto, tmp_path, unique_topic_root, caplog
):
    """Refused writes are spooled on disk (acknowledged, not lost) and the log says 401."""
    site = unique_topic_root
    register(tmp_path, site, ("term-r1", "r1"))
    settings = secure_ingest(mosquitto, secure_influx, pki.ca, tmp_path, "not-the-password")
    with caplog.at_level("WARNING", logger="ingest"):
        counts = ingest_one_message(settings, mosquitto, site, [1_764_000_000_000])
    assert counts["spooled_batches"] >= 1 and counts["written"] == 0
    where = f"site = {literal(site)}"
    assert count(secure_influx, "careloop", "vitals", "heart_rate", where) == 0
    refused = [r for r in caplog.records if "spooling" in r.getMessage()]
    assert refused and "authorization failed" in refused[0].__dict__["fields"]["error"]


def test_a_wrong_password_is_refused_with_a_clear_error(secure_influx, pki):
    line = f"vitals,site=s{uuid.uuid4().hex[:6]} heart_rate=70 1764000000000".encode()
    with client(secure_influx, pki.ca, password="not-the-password") as influx:
        with pytest.raises(InfluxUnavailable) as err:
            influx.write(line)
        assert err.value.status == 401 and "authorization failed" in str(err.value)
        with pytest.raises(InfluxUnavailable, match="authorization failed"):
            influx.query("SHOW MEASUREMENTS")
    with InfluxClient(secure_influx.url, "careloop", ca_file=str(pki.ca.ca_file)) as anonymous:
        with pytest.raises(InfluxUnavailable) as err:
            anonymous.write(line)
        assert err.value.status == 401
    # ... while the right password writes.
    with client(secure_influx, pki.ca) as influx:
        influx.write(line)


def test_plain_http_to_the_https_port_gets_nothing(secure_influx):
    plain = secure_influx.url.replace("https://", "http://")
    with (
        InfluxClient(plain, "careloop", username=INGEST, password=INGEST_PASSWORD) as influx,
        pytest.raises(InfluxUnavailable) as err,
    ):
        influx.ping()
    # Go's TLS server answers a plaintext request with a bare 400 and nothing else.
    assert err.value.status == 400, err.value
