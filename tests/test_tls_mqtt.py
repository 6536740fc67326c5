"""MQTT over TLS on a real Mosquitto with a test-made CA (docs/deploy.md).

Devices reach the broker over the internet, so every careloop MQTT client speaks TLS to a
broker off the machine and verifies it: the asyncio clients (edge agent, scorer, alert
service, the API's device monitor: all built by ``careloop.mqtt.make_client``), the paho
ones (ingest, ``publish_once``), and the CLI flags that configure them. Each broker here
has its plaintext listener (loopback, for the test's own observers) and a TLS listener.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import struct
import threading
import time
import uuid
from types import SimpleNamespace
from typing import Any

import aiomqtt
import pytest
from paho.mqtt.client import MQTTErrorCode

from careloop.errors import SettingsError
from careloop.mqtt import make_client, payload_bytes, publish_once
from careloop.settings import MqttSettings, load_settings
from devservers import Mosquitto, ServerTls
from ingest import IngestClient
from tests.helpers.certs import TestCA
from tests.helpers.feed import vitals_line
from tests.helpers.mqtt import MqttTestClient
from tests.ingest.conftest import EdgeProcess, IngestProcess, register, wait_count


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("pki")
    ca = TestCA.make(root / "ca")
    wrong = TestCA.make(root / "wrong", "someone else's CA")
    return SimpleNamespace(
        ca=ca,
        wrong=wrong,
        device=ca.issue("term-r1", server=False),
        impostor=wrong.issue("term-r1", server=False),
    )


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, pki: SimpleNamespace) -> Any:
    """TLS listener with the CA's server certificate; no client certificate needed."""
    with Mosquitto(tmp_path_factory.mktemp("tls-broker"), tls=pki.ca.server_tls()) as server:
        yield server


@pytest.fixture(scope="module")
def mtls_broker(tmp_path_factory: pytest.TempPathFactory, pki: SimpleNamespace) -> Any:
    """TLS listener that requires a client certificate signed by the CA."""
    tls = pki.ca.server_tls("server-mtls", require_certificate=True)
    with Mosquitto(tmp_path_factory.mktemp("mtls-broker"), tls=tls) as server:
        yield server


def mqtt(**values: Any) -> MqttSettings:
    return load_settings(mqtt={"publish_timeout": 5, **values}).mqtt


async def round_trip(settings: MqttSettings) -> bytes:
    """Connect with careloop's client, subscribe, publish, and get the message back."""
    topic = f"tls/{uuid.uuid4().hex[:8]}"
    async with make_client(settings, f"t-{uuid.uuid4().hex[:8]}", persistent=False) as client:
        await client.subscribe(topic, qos=1)
        await client.publish(topic, b"over tls", qos=1)
        async with asyncio.timeout(5):
            async for message in client.messages:
                return payload_bytes(message)
    raise AssertionError("no message")


def refused(settings: MqttSettings, broker: Mosquitto | None = None, reason: str = "") -> str:
    """The error careloop's client gets when the connection is refused; with ``broker``,
    also check the broker logged ``reason`` for it (a refusal the client only sees as a
    closed connection: the broker refused a client certificate, or spoke no TLS)."""
    before = broker.log_path.read_text().count(reason) if broker else 0
    with pytest.raises(aiomqtt.MqttError) as err:
        asyncio.run(round_trip(settings.model_copy(update={"publish_timeout": 2.0})))
    if broker is not None:
        assert broker.log_path.read_text().count(reason) > before, broker.log_tail()
    return str(err.value)


# -- settings -------------------------------------------------------------------------------
def test_tls_is_the_default_off_the_machine_and_plaintext_is_refused_there():
    remote = load_settings(mqtt={"host": "broker.example.org"}).mqtt
    assert (remote.tls, remote.port) == (True, 8883)
    local = load_settings().mqtt
    assert (local.tls, local.port) == (False, 1883)  # loopback: the demo, tests
    with pytest.raises(SettingsError, match=r"plaintext MQTT .* loopback"):
        load_settings(mqtt={"host": "broker.example.org", "tls": False})
    # A CA (or client certificate) means TLS even on loopback; TLS off with one is an error.
    assert load_settings(mqtt={"ca_file": "/etc/ca.pem"}).mqtt.tls is True
    with pytest.raises(SettingsError, match=r"need mqtt\.tls on"):
        load_settings(mqtt={"tls": False, "ca_file": "/etc/ca.pem"})


def test_cli_flags_set_tls_and_the_port_follows(monkeypatch):
    from app.cli import build_parser
    from app.cli.common import settings_from_args

    monkeypatch.setenv("CARELOOP_MQTT__HOST", "broker.example.org")
    args = build_parser().parse_args(
        ["ingest", "--mqtt-ca-file", "/etc/ca.pem", "--mqtt-cert-file", "/etc/c.pem",
         "--mqtt-key-file", "/etc/c.key"]
    )  # fmt: skip
    m = settings_from_args(args).mqtt
    assert (m.host, m.port, m.tls) == ("broker.example.org", 8883, True)
    assert (str(m.ca_file), str(m.cert_file), str(m.key_file)) == (
        "/etc/ca.pem", "/etc/c.pem", "/etc/c.key",
    )  # fmt: skip
    # The host from a flag decides the default as much as one from the env.
    monkeypatch.delenv("CARELOOP_MQTT__HOST")
    args = build_parser().parse_args(["ingest", "--mqtt-host", "broker.example.org"])
    assert settings_from_args(args).mqtt.port == 8883
    args = build_parser().parse_args(["ingest", "--mqtt-tls"])
    assert (settings_from_args(args).mqtt.tls, settings_from_args(args).mqtt.port) == (True, 8883)


# -- the whole path -------------------------------------------------------------------------
def test_edge_agent_to_influxdb_through_a_tls_broker(broker, pki, influxdb, influx_db, tmp_path):
    """``careloop edge`` (TLS from env vars) -> TLS listener -> ``careloop ingest`` (TLS
    from CLI flags) -> InfluxDB, every reading stored, the connection never dropped."""
    site, n = f"t{uuid.uuid4().hex[:8]}", 3000
    src = tmp_path / "term-r1.jsonl"
    src.write_text("".join(vitals_line(i) for i in range(n)))
    over_tls = SimpleNamespace(host=broker.host, port=broker.tls_port)
    register(tmp_path / "ingest", site, ("term-r1", "r1"))
    group = f"g{uuid.uuid4().hex[:8]}"
    ingest = IngestProcess(
        over_tls, influxdb, influx_db, tmp_path / "ingest", "--share-group", group,
        "--client-id", f"ingest-{group}", "--mqtt-tls", "--mqtt-ca-file", str(pki.ca.ca_file),
    )  # fmt: skip
    (tmp_path / "edge").mkdir()
    edge = EdgeProcess(over_tls, site, "term-r1", "r1", src, tmp_path / "edge")
    edge.env.update({"CARELOOP_MQTT__TLS": "true", "CARELOOP_MQTT__CA_FILE": str(pki.ca.ca_file)})
    ingest.start()
    try:
        edge.start()
        stored = wait_count(influxdb, influx_db, "vitals", "heart_rate", n, 60)
        edge.stop()
        final = ingest.stop()
    finally:
        edge.stop()
        ingest.close()
    assert stored == n, edge.log_path.read_text()[-2000:]
    assert final["rejected"] == 0 and final["acked"] == final["received"]
    assert ingest.count("connection to the broker lost") == 0, ingest.log_path.read_text()[-2000:]
    started = ingest.records("ingest started")[-1]
    assert started["tls"] is True and started["broker"].endswith(f":{broker.tls_port}")


# -- verification ---------------------------------------------------------------------------
def test_the_broker_is_verified_against_the_ca(broker, pki):
    ca = str(pki.ca.ca_file)
    assert asyncio.run(round_trip(mqtt(host=broker.host, port=broker.tls_port, ca_file=ca))) == (
        b"over tls"
    )
    error = refused(mqtt(host=broker.host, port=broker.tls_port, ca_file=str(pki.wrong.ca_file)))
    assert "certificate verify failed" in error
    # The system's CAs (no ca_file) do not know the test CA either.
    error = refused(mqtt(host=broker.host, port=broker.tls_port, tls=True))
    assert "certificate verify failed" in error


def test_the_broker_name_is_checked(tmp_path, pki):
    """A certificate from the right CA, but for another host, is refused."""
    elsewhere = pki.ca.issue("elsewhere", hosts=("broker.example.org",))
    tls = ServerTls(elsewhere.cert_file, elsewhere.key_file, pki.ca.ca_file)
    with Mosquitto(tmp_path / "broker", tls=tls) as other:
        error = refused(mqtt(host=other.host, port=other.tls_port, ca_file=str(pki.ca.ca_file)))
    assert "certificate verify failed" in error and "IP address mismatch" in error


def test_publish_once_over_tls(broker, pki):
    """The paho path the API uses for erasure control messages."""
    topic = f"tls/{uuid.uuid4().hex[:8]}"
    with MqttTestClient(broker.host, broker.port) as watcher:  # the plaintext listener
        watcher.subscribe(topic)
        good = mqtt(host=broker.host, port=broker.tls_port, ca_file=str(pki.ca.ca_file))
        publish_once(good, topic, b"erase", client_id=f"t-{uuid.uuid4().hex[:8]}")
        assert watcher.get().payload == b"erase"
        bad = mqtt(host=broker.host, port=broker.tls_port, ca_file=str(pki.wrong.ca_file))
        with pytest.raises(ConnectionError, match="certificate verify failed"):
            publish_once(bad, topic, b"erase", client_id=f"t-{uuid.uuid4().hex[:8]}")
        with pytest.raises(TimeoutError):
            watcher.get(timeout=0.5)


def test_a_broker_that_requires_client_certificates(mtls_broker, pki):
    base = {"host": mtls_broker.host, "port": mtls_broker.tls_port, "ca_file": str(pki.ca.ca_file)}
    refused(mqtt(**base), mtls_broker, "peer did not return a certificate")
    impostor = {"cert_file": str(pki.impostor.cert_file), "key_file": str(pki.impostor.key_file)}
    refused(mqtt(**base, **impostor), mtls_broker, "certificate verify failed")
    with_cert = mqtt(**base, cert_file=str(pki.device.cert_file), key_file=str(pki.device.key_file))
    assert asyncio.run(round_trip(with_cert)) == b"over tls"
    # ... and so does the paho path (configure_paho, as ingest's client is set up).
    topic = f"tls/{uuid.uuid4().hex[:8]}"
    with MqttTestClient(mtls_broker.host, mtls_broker.port) as watcher:
        watcher.subscribe(topic)
        publish_once(with_cert, topic, b"ok", client_id=f"t-{uuid.uuid4().hex[:8]}")
        assert watcher.get().payload == b"ok"


def test_plaintext_cannot_talk_to_the_tls_port(broker):
    refused(mqtt(host=broker.host, port=broker.tls_port, tls=False), broker, "wrong version number")
    plain = MqttTestClient(broker.host, broker.tls_port)
    with pytest.raises((ConnectionError, TimeoutError, OSError)):
        plain.connect(timeout=2)
    plain.client.loop_stop()
    assert not plain._connected.is_set()


def test_a_missing_ca_file_fails_at_start_naming_the_setting(broker, tmp_path):
    settings = mqtt(host=broker.host, port=broker.tls_port, ca_file=str(tmp_path / "nope.pem"))
    with pytest.raises(SettingsError, match=r"mqtt\.ca_file"):
        make_client(settings, "t-missing")


# -- ingest's reader over TLS ---------------------------------------------------------------
def _publish_packet(topic: bytes, mid: int, payload: bytes) -> bytes:
    body = struct.pack("!H", len(topic)) + topic + struct.pack("!H", mid) + b"\x00" + payload
    length, out = len(body), bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        out.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([0x32]) + bytes(out) + body


def test_ingest_reader_waits_for_the_rest_of_a_tls_record(pki):
    """A socket select() calls readable may hold only part of a TLS record: reading it is
    "try again", not a lost connection (which would drop every in-flight batch)."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert = pki.ca.issue("reader-test")
    server_ctx.load_cert_chain(cert.cert_file, cert.key_file)
    packet = _publish_packet(b"careloop/v1/s/term-r1/vitals", 7, b"x" * 3000)
    listener = socket.create_server(("127.0.0.1", 0))
    half_sent, rest = threading.Event(), threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = server_ctx.wrap_bio(incoming, outgoing, server_side=True)
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    conn.sendall(outgoing.read())
                    incoming.write(conn.recv(65536))
            conn.sendall(outgoing.read())
            tls.write(packet)
            record = outgoing.read()
            conn.sendall(record[:40])  # a record header and a little of its body
            half_sent.set()
            rest.wait(10)
            conn.sendall(record[40:])
            time.sleep(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    got: list[tuple[bytes, int, int, bytes]] = []
    client = IngestClient("t", lambda *a: got.append(a))
    ctx = ssl.create_default_context(cafile=str(pki.ca.ca_file))
    sock = ctx.wrap_socket(
        socket.create_connection(listener.getsockname(), timeout=5), server_hostname="127.0.0.1"
    )
    sock.setblocking(False)
    client._sock = sock
    try:
        assert half_sent.wait(5)
        assert select.select([sock], [], [], 5)[0]
        time.sleep(0.2)  # the whole first piece is in
        assert client._packet_read() == MQTTErrorCode.MQTT_ERR_AGAIN
        assert not got
        rest.set()
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            select.select([sock], [], [], 0.5)
            assert client._packet_read() in (
                MQTTErrorCode.MQTT_ERR_SUCCESS,
                MQTTErrorCode.MQTT_ERR_AGAIN,
            )
        assert got == [(b"careloop/v1/s/term-r1/vitals", 7, 1, b"x" * 3000)]
    finally:
        client._sock = None
        sock.close()
        listener.close()
        thread.join(5)
