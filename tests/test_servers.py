"""The real mosquitto and influxd managers: start, talk, persist, restart, and clean up.

Everything else in the suite trusts these servers, so these tests prove the parts that are easy
to get subtly wrong: persistence across restarts, two servers side by side, no leaked children.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from devservers import InfluxDB, Mosquitto, ServerError, free_port
from tests.helpers.mqtt import MqttTestClient


def _count(server: InfluxDB, db: str, measurement: str) -> int:
    body = server.query(f'SELECT count(*) FROM "{measurement}"', db=db)
    series = body["results"][0].get("series")
    return 0 if not series else int(series[0]["values"][0][1])


def _assert_reaped(proc: subprocess.Popen[bytes] | None) -> None:
    assert proc is not None
    assert proc.poll() is not None
    with pytest.raises(ChildProcessError):  # already reaped by us: no zombie left behind
        os.waitpid(proc.pid, os.WNOHANG)


def _pid_gone(pid: int) -> bool:
    """True if ``pid`` no longer runs (a zombie awaiting its new parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


# -- mosquitto ------------------------------------------------------------------------------------


def test_mosquitto_is_running_on_its_port(mosquitto: Mosquitto) -> None:
    assert mosquitto.is_running
    assert mosquitto.url == f"mqtt://127.0.0.1:{mosquitto.port}"
    conf = mosquitto.config_path.read_text()
    assert f"listener {mosquitto.port} 127.0.0.1" in conf
    assert "max_queued_messages 1000000" in conf
    assert "mosquitto version 2." in mosquitto.log_path.read_text()  # log goes to data_dir


def test_qos1_publish_reaches_subscriber(mosquitto: Mosquitto, unique_topic_root: str) -> None:
    topic = f"careloop/{unique_topic_root}/vitals"
    with (
        MqttTestClient(mosquitto.host, mosquitto.port) as sub,
        MqttTestClient(mosquitto.host, mosquitto.port) as pub,
    ):
        sub.subscribe(topic, qos=1)
        pub.publish(topic, b'{"hr": 72}', qos=1)
        message = sub.get()
    assert message.topic == topic
    assert message.payload == b'{"hr": 72}'
    assert message.qos == 1


def test_restart_keeps_retained_message(
    private_mosquitto: Mosquitto, unique_topic_root: str
) -> None:
    broker = private_mosquitto
    topic = f"careloop/{unique_topic_root}/status"
    port_before = broker.port
    with MqttTestClient(broker.host, broker.port) as pub:
        pub.publish(topic, b"online", qos=1, retain=True)

    broker.restart()

    assert broker.port == port_before
    with MqttTestClient(broker.host, broker.port) as sub:
        sub.subscribe(topic, qos=1)
        message = sub.get()
    assert message.payload == b"online"
    assert message.retain


def test_restart_keeps_queued_messages_of_persistent_session(
    private_mosquitto: Mosquitto, unique_topic_root: str
) -> None:
    broker = private_mosquitto
    topic = f"careloop/{unique_topic_root}/alerts"
    client_id = f"ingest-{unique_topic_root}"
    with MqttTestClient(broker.host, broker.port, client_id=client_id, clean_session=False) as s:
        s.subscribe(topic, qos=1)
    with MqttTestClient(broker.host, broker.port) as pub:
        for i in range(5):
            pub.publish(topic, f"alert-{i}", qos=1)

    broker.restart()

    with MqttTestClient(broker.host, broker.port, client_id=client_id, clean_session=False) as s:
        received = [s.get().payload for _ in range(5)]
    assert received == [f"alert-{i}".encode() for i in range(5)]


def test_kill_then_start_again(private_mosquitto: Mosquitto) -> None:
    proc = private_mosquitto.process
    private_mosquitto.kill()
    assert not private_mosquitto.is_running
    _assert_reaped(proc)
    private_mosquitto.start()
    with MqttTestClient(private_mosquitto.host, private_mosquitto.port):
        pass


def test_mosquitto_stop_reaps_child_and_is_idempotent(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path)
    broker.start()
    proc = broker.process
    broker.stop()
    _assert_reaped(proc)
    assert not broker.is_running
    assert broker.process is None
    broker.stop()  # second stop is a no-op


def test_early_exit_raises_with_log_tail(mosquitto: Mosquitto, tmp_path: Path) -> None:
    clash = Mosquitto(tmp_path, port=mosquitto.port)  # the port is taken: mosquitto exits
    with pytest.raises(ServerError, match="exited with code") as info:
        clash.start(timeout=10)
    assert "Address already in use" in str(info.value)
    assert not clash.is_running


def test_missing_binary_names_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="apt-get install mosquitto"):
        Mosquitto(tmp_path, binary="no-such-mosquitto")
    with pytest.raises(ServerError, match="apt-get install influxdb"):
        InfluxDB(tmp_path, binary="no-such-influxd")


def test_server_dies_with_its_parent_even_on_sigkill(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from devservers import Mosquitto
        broker = Mosquitto(Path({str(tmp_path)!r}))
        broker.start()
        print(broker.process.pid, flush=True)
        time.sleep(60)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert not _pid_gone(child_pid)
        parent.kill()  # SIGKILL: no atexit, no __exit__, only PDEATHSIG can clean up
        parent.wait()
        deadline = time.monotonic() + 5
        while not _pid_gone(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _pid_gone(child_pid)
    finally:
        parent.kill()
        parent.wait()


# -- influxd --------------------------------------------------------------------------------------


def test_influx_write_and_count(influxdb: InfluxDB, influx_db: str) -> None:
    now_ms = int(time.time() * 1000)
    lines = [f"vitals,site=s1 hr={70 + i}i {now_ms + i}" for i in range(3)]
    response = httpx.post(
        f"{influxdb.url}/write",
        params={"db": influx_db, "precision": "ms"},
        content="\n".join(lines).encode(),
        trust_env=False,
    )
    assert response.status_code == 204, response.text
    assert _count(influxdb, influx_db, "vitals") == 3


def test_influx_restart_keeps_data_on_same_port(private_influxdb: InfluxDB) -> None:
    server = private_influxdb
    server.create_database("care")
    server.write(
        "care", ["vitals,site=s1 hr=71i 1700000000000", "vitals,site=s1 hr=72i 1700000001000"]
    )
    port_before = server.port

    server.stop()
    assert not server.is_running
    server.start()

    assert server.port == port_before
    assert _count(server, "care", "vitals") == 2


def test_influx_survives_kill(private_influxdb: InfluxDB) -> None:
    server = private_influxdb
    server.create_database("care")
    server.write("care", "vitals,site=s1 hr=71i 1700000000000")
    server.kill()  # the WAL is fsynced per write, so an acknowledged point survives a crash
    server.start()
    assert _count(server, "care", "vitals") == 1


def test_two_influx_servers_side_by_side(influxdb: InfluxDB, private_influxdb: InfluxDB) -> None:
    assert influxdb.is_running and private_influxdb.is_running
    assert influxdb.rpc_port != private_influxdb.rpc_port != 8088
    for server in (influxdb, private_influxdb):
        ping = httpx.get(f"{server.url}/ping", trust_env=False)
        assert ping.status_code == 204


def test_influx_query_error_raises(influxdb: InfluxDB, influx_db: str) -> None:
    with pytest.raises(ServerError, match="failed"):
        influxdb.query("SELECT FROM WHERE", db=influx_db)
    with pytest.raises(ServerError, match="database not found"):
        influxdb.query("SELECT * FROM vitals", db="no_such_db_here")


def test_influx_stop_reaps_child(tmp_path: Path) -> None:
    server = InfluxDB(tmp_path)
    with server:
        proc = server.process
    _assert_reaped(proc)
    server.stop()


def test_influx_config_uses_only_keys_this_influxd_knows(tmp_path: Path) -> None:
    server = InfluxDB(tmp_path, port=free_port())
    ours = tomllib.loads(server.render_config())
    defaults = tomllib.loads(
        subprocess.run([server.binary, "config"], capture_output=True, text=True, check=True).stdout
    )
    for key, value in ours.items():
        assert key in defaults, f"unknown top-level key {key!r}"
        if isinstance(value, dict):
            unknown = set(value) - set(defaults[key])
            assert not unknown, f"unknown keys in [{key}]: {unknown}"
