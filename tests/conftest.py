"""Shared fixtures: real mosquitto, influxd and PostgreSQL servers, and per-test names to
isolate data.

Session-scoped servers keep the suite fast (one start each); tests isolate themselves by
database name and topic root instead. A test that stops, kills or restarts a server must use
``private_mosquitto`` / ``private_influxdb`` so it never disturbs the shared ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devservers import InfluxDB, Mosquitto, PostgreSQL


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One broker shared by the whole session; do not stop or restart it."""
    with Mosquitto(tmp_path_factory.mktemp("mosquitto")) as server:
        yield server


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    """One InfluxDB shared by the whole session; do not stop or restart it."""
    with InfluxDB(tmp_path_factory.mktemp("influxdb")) as server:
        yield server


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker of this test's own, free to be stopped, killed and restarted."""
    with Mosquitto(tmp_path / "mosquitto") as server:
        yield server


@pytest.fixture
def private_influxdb(tmp_path: Path) -> Iterator[InfluxDB]:
    """An InfluxDB of this test's own, free to be stopped, killed and restarted."""
    with InfluxDB(tmp_path / "influxdb") as server:
        yield server


@pytest.fixture
def influx_db(influxdb: InfluxDB) -> Iterator[str]:
    """A fresh database on the shared server, named uniquely and dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:8]}"
    influxdb.create_database(name)
    yield name
    influxdb.drop_database(name)


@pytest.fixture
def unique_topic_root() -> str:
    """A unique string (``t`` + 8 hex digits) to build per-test site ids and topics from."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgreSQL]:
    """One PostgreSQL shared by the whole session; tests use a database of their own."""
    with PostgreSQL(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PostgreSQL]:
    """A PostgreSQL of this test's own, free to be stopped, killed and restarted."""
    with PostgreSQL(tmp_path / "postgres") as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The ``database_url`` setting, once per backend: "" (SQLite files, the default) and
    a fresh database on the session's PostgreSQL, dropped afterwards."""
    yield from _database_url(request)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """:func:`database_url` for a module-scoped setup (a broker and its provisioner): the
    module's tests run once on each backend."""
    yield from _database_url(request)


def _database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        yield ""
        return
    server: PostgreSQL = request.getfixturevalue("postgres")
    name = f"test_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    yield url
    server.drop_database(name)
