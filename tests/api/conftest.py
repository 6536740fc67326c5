"""API fixtures: the real app served by uvicorn on loopback, against the session's real
Mosquitto and InfluxDB, with an in-process AlertService on a manual clock.

One server per session (``api``) holds two sites, A and B, with residents of different
consents, volunteers, and a token per role. Tests that change data use ids of their own, so
they do not disturb each other; the seeded records are only read or rewritten unchanged.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from alerts import AlertService, ManualClock
from app.api import create_app
from careloop.settings import Settings, load_settings
from careloop.wire.needs import NeedMessage, NeedTopic, encode_need
from devservers import InfluxDB, Mosquitto, PostgreSQL
from models.runtime.careplan import CareProfile
from people import (
    Consent,
    Directory,
    Resident,
    Site,
    Volunteer,
)
from tests.helpers.api_server import serve_in_thread
from tests.helpers.mqtt import MqttTestClient

T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z
ROLES = ("admin", "coord_a", "coord_b", "vol_a", "device", "public")
#: A second origin the session's server accepts cookie-authenticated writes from.
ALLOWED_ORIGIN = "https://care.example.org"


@dataclass
class World:
    """What the session's server knows: sites, tokens by role name, handles for checks."""

    base: str
    site_a: str
    site_b: str
    tokens: dict[str, str]
    directory: Directory
    settings: Settings
    clock: ManualClock
    service: AlertService
    app: Any
    broker: Mosquitto
    influx: InfluxDB
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, role: str = "public", *, source: str | None = None, **kw: Any) -> httpx.Client:
        """A client with ``role``'s bearer token; ``source``: a loopback address of its own
        to connect from (127.0.0.2, ...), so the server counts its failed tokens apart."""
        headers = dict(kw.pop("headers", {}))
        if role != "public":
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        kw.setdefault("timeout", 10)
        if source is not None:
            kw["transport"] = httpx.HTTPTransport(local_address=source)
        return httpx.Client(base_url=self.base, headers=headers, trust_env=False, **kw)

    @contextmanager
    def browser_client(self, role: str) -> Iterator[httpx.Client]:
        """Signed in as ``role`` the way the dashboard is: the session cookie, and the
        page's own ``Origin`` on every request (a browser sends it with every write)."""
        with self.client(headers={"Origin": self.base}) as client:
            made = client.post("/api/v1/session", json={"token": self.tokens[role]})
            assert made.status_code == 200, made.text
            yield client

    def publish_need(
        self, site: str, resident: str, kind: str = "fall", tier: str = "emergency"
    ) -> str:
        """Publish a need on the real broker; returns its id."""
        ts = self.clock.now_ms()
        need_id = f"{resident}:{kind}:{ts}:{uuid.uuid4().hex[:6]}"
        message = NeedMessage(
            id=need_id, site=site, resident=resident, kind=kind,  # type: ignore[arg-type]
            tier=tier, state="open", ts=ts, onset=ts, score=1.0,  # type: ignore[arg-type]
            summary=f"{kind} needs help (test)", language="en",
        )  # fmt: skip
        client = MqttTestClient(self.broker.host, self.broker.port).connect()
        try:
            client.publish(str(NeedTopic(site, resident)), encode_need(message))
        finally:
            client.close()
        return need_id

    def wait_alert(
        self, site: str, resident: str, kind: str, timeout: float = 10
    ) -> dict[str, Any]:
        """Poll the API (as admin) until the alert for this need exists."""
        deadline = time.monotonic() + timeout
        with self.client("admin") as c:
            while time.monotonic() < deadline:
                items = c.get(
                    "/api/v1/alerts",
                    params={"site": site, "resident": resident, "kind": kind, "state": "open"},
                ).json()["items"]
                if items and items[0]["state"] != "open":
                    return items[0]
                time.sleep(0.05)
        raise TimeoutError(f"no alert for {site}/{resident}/{kind}")


def seed(directory: Directory, a: str, b: str) -> None:
    """Sites A and B; residents of A with three kinds of consent; volunteers."""
    directory.add_site(Site(a, "Rose Court", "Europe/London", 30))
    directory.add_site(Site(b, "Elm House", "UTC", 0))
    profile = CareProfile(language="en")
    for rid, name in (("r1", "Ann Alder"), ("r2", "Bob Birch"), ("r3", "Cat Cedar")):
        directory.add_resident(Resident(a, rid, name, "en", profile))
    directory.add_resident(Resident(b, "r1", "Dan Dogwood", "en", profile))
    directory.set_consent(Consent(a, "r1", False, True, True, 0, "test"))
    directory.set_consent(Consent(a, "r3", False, True, False, 0, "test"))  # no vitals
    directory.set_consent(Consent(b, "r1", False, True, True, 0, "test"))
    for vid in ("v1", "v2"):
        directory.add_volunteer(Volunteer(vid, f"Volunteer {vid}", (a,), languages=("en",)))
    directory.add_volunteer(
        Volunteer("c01", "Coordinator A", (a,), coordinator=True, languages=("en",))
    )
    directory.add_volunteer(Volunteer("w1", "Volunteer w1", (b,), languages=("en",)))
    directory.add_volunteer(
        Volunteer("c02", "Coordinator B", (b,), coordinator=True, languages=("en",))
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Modules that set ``BOTH_BACKENDS = True`` run each test that uses ``api`` twice: on
    the SQLite server and on the PostgreSQL one (a representative subset: the whole
    suite twice would double its time for little more coverage)."""
    if getattr(metafunc.module, "BOTH_BACKENDS", False) and "api_backend" in metafunc.fixturenames:
        metafunc.parametrize("api_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def api_backend(request: pytest.FixtureRequest) -> str:
    """Which session server ``api`` is: "sqlite" unless the module asks for both."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def api(request: pytest.FixtureRequest, api_backend: str) -> World:
    """The session's server on the relational backend ``api_backend`` names."""
    world: World = request.getfixturevalue(f"api_{api_backend}")
    return world


@pytest.fixture(scope="session")
def api_sqlite(
    mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The session's server with its relational state in SQLite files (the default)."""
    with serve(mosquitto, influxdb, tmp_path_factory.mktemp("api")) as world:
        yield world


@pytest.fixture(scope="session")
def api_postgresql(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    postgres: PostgreSQL,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    """The same server with ``database_url`` on a database of its own on the session's
    PostgreSQL: people, alerts, dead letters, provisioning and receipts all live there."""
    name = f"api_{uuid.uuid4().hex[:8]}"
    url = postgres.create_database(name)
    try:
        with serve(mosquitto, influxdb, tmp_path_factory.mktemp("api-pg"), url) as world:
            yield world
    finally:
        postgres.drop_database(name)


@contextmanager
def serve(
    mosquitto: Mosquitto, influxdb: InfluxDB, data_dir: Path, database_url: str = ""
) -> Iterator[World]:
    """The app served by uvicorn with a seeded directory, an alert service on a manual
    clock and a token per role; stopped and cleaned up on exit."""
    root = f"t{uuid.uuid4().hex[:8]}"
    a, b = f"{root}a", f"{root}b"
    database = f"api_{uuid.uuid4().hex[:8]}"
    influxdb.create_database(database)
    settings = load_settings(
        site=a,
        data_dir=str(data_dir),
        database_url=database_url,
        mqtt={"host": mosquitto.host, "port": mosquitto.port, "backoff_initial": 0.1,
              "backoff_max": 1},
        influx={"url": influxdb.url, "database": database},
        alerts={"client_id": f"alerts-{root}", "sites": "+", "tick_interval": 0.02,
                "webhook_secret": "test-webhook-key-1234"},
        # Every test here connects from 127.0.0.1, some with bad tokens on purpose (and
        # schemathesis with made-up ones): a limit for one address would let one test
        # throttle the next. tests/api/test_tokens.py checks the limit on a server of its own.
        api={
            "allowed_origins": [ALLOWED_ORIGIN],
            "max_failed_tokens": 10_000,
            "cookie_secure": False,  # plain HTTP on loopback: a Secure cookie is never sent back
        },
    )  # fmt: skip
    directory = Directory(settings.paths.people, url=database_url)
    seed(directory, a, b)
    tokens = {
        "admin": directory.create_token("admin", "root", None)[0],
        "coord_a": directory.create_token("coordinator", "c01", [a])[0],
        "coord_b": directory.create_token("coordinator", "c02", [b])[0],
        "vol_a": directory.create_token("volunteer", "v1", [a])[0],
        "vol_a2": directory.create_token("volunteer", "v2", [a])[0],
        "vol_b": directory.create_token("volunteer", "w1", [b])[0],
        "device": directory.create_token("device", "term-r1", [a])[0],
    }
    clock = ManualClock(T0)
    service = AlertService(settings, clock=clock)
    app = create_app(settings, alert_service=service, directory=directory)
    server, thread, port = serve_in_thread(app)
    try:
        deadline = time.monotonic() + 15
        while not service.connected.is_set():
            if time.monotonic() > deadline:
                raise RuntimeError("the alert service did not connect")
            time.sleep(0.02)
        yield World(
            f"http://127.0.0.1:{port}", a, b, tokens, directory, settings, clock, service,
            app, mosquitto, influxdb,
        )  # fmt: skip
    finally:
        server.should_exit = True
        thread.join(20)
        directory.close()
        influxdb.drop_database(database)
