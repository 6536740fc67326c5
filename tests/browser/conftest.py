"""Browser fixtures: Debian's headless Chromium driven by Playwright, and the real stack.

The stack is what ``careloop demo`` runs, in this process: the session's Mosquitto and
InfluxDB, a directory (SQLite) with a site, two residents, a volunteer and a coordinator and
their tokens, and the API app (with its in-process AlertService) served by uvicorn on a free
loopback port in a thread of its own. Nothing is mocked: needs arrive over MQTT, vitals are
read from InfluxDB, the browser talks HTTP and server-sent events to the real app.

Chromium comes from the OS packages (``scripts/bootstrap`` installs it); Playwright is told
its path, so Playwright's own browser download is never needed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from careloop.settings import Settings, load_settings
from careloop.wire.needs import NeedMessage, NeedTopic, encode_need
from devservers import InfluxDB, Mosquitto, free_port
from people import Consent, Directory, Resident, Site, Volunteer
from tests.helpers.mqtt import MqttTestClient

#: Flags that let Chromium run headless as root on a machine with no network but loopback:
#: without the background-networking ones it keeps trying (and failing) to reach Google.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Where the screenshots go: the docs' folder when ``CARELOOP_SCREENSHOTS=docs`` (to refresh
#: the pictures in docs/dashboard.md), else a scratch folder, so a test run leaves the
#: working tree as it was.
DOCS_IMG = (
    Path(__file__).resolve().parents[2] / "docs" / "img"
    if os.environ.get("CARELOOP_SCREENSHOTS") == "docs"
    else Path(tempfile.gettempdir()) / "careloop-screenshots"
)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per module (each test opens its own context).

    Not per session: Playwright's sync API keeps an event loop running on the main thread
    while it is open, and later tests that call ``asyncio.run`` would fail.
    """
    path = chromium_path()
    if path is None:
        pytest.skip("no chromium: scripts/bootstrap installs Debian's (apt-get install chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is in the dev extra: pip install -e '.[dev]'"
    )
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class ServerThread:
    """The app under uvicorn in a thread with its own event loop (lifespan included)."""

    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="api-under-test", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except BaseException as exc:  # reported by start()/stop() in the test's thread
            self.error = exc

    def start(self, timeout: float = 30.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if self.error is not None or not self.thread.is_alive():
                raise RuntimeError(f"the API did not start: {self.error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError("the API did not start in time")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        if self.error is not None:
            raise self.error


@dataclass
class Stack:
    """The running stack and what a test needs to drive it."""

    url: str
    site: str
    settings: Settings
    influx: InfluxDB
    database: str
    directory: Directory
    tokens: dict[str, str]
    mqtt: MqttTestClient
    published: list[NeedMessage] = field(default_factory=list)
    #: The API's in-process alert service (to make it follow the people database now).
    alerts: Any = None

    def publish_need(self, need: NeedMessage) -> None:
        """A care need on its real topic, as ``careloop score`` publishes it."""
        self.mqtt.publish(str(NeedTopic(need.site, need.resident)), encode_need(need))
        self.published.append(need)

    def write_lines(self, lines: list[str]) -> None:
        """Points in line protocol (ms precision) into the stack's database."""
        import httpx

        resp = httpx.post(
            f"{self.influx.url}/write",
            params={"db": self.database, "precision": "ms"},
            content="\n".join(lines).encode(),
            timeout=10,
        )
        assert resp.status_code == 204, resp.text


@pytest.fixture(scope="module")
def stack(
    mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The API with its alert service on the session's servers, for one test module."""
    from app.api import create_app

    site = f"t{uuid.uuid4().hex[:8]}"
    database = f"test_{uuid.uuid4().hex[:8]}"
    influxdb.create_database(database)
    data_dir = tmp_path_factory.mktemp("dashboard")
    settings = load_settings(
        site=site,
        data_dir=str(data_dir),
        mqtt={"host": mosquitto.host, "port": mosquitto.port, "backoff_initial": 0.1},
        influx={"url": influxdb.url, "database": database},
        alerts={
            "sites": site,
            "client_id": f"alerts-{uuid.uuid4().hex[:8]}",
            "tick_interval": 0.1,
            "webhook_secret": "test-webhook-key-1234",
        },
        # Plain HTTP on loopback: a Secure cookie would never be sent back.
        api={"cookie_secure": False},
    )
    directory = Directory(settings.paths.people)
    directory.add_site(Site(site, "Riverside care home"))
    for rid, name, lang in (("r1", "Mrs Lin Mei", "zh"), ("r2", "Mr Arthur Bell", "en")):
        directory.add_resident(Resident(site, rid, name, language=lang))
        directory.set_consent(
            Consent(
                site, rid, share_with_volunteers=True, share_vitals_with_volunteers=True,
                updated_by="test",
            )
        )  # fmt: skip
    directory.add_volunteer(
        Volunteer("v01", "Vera Okafor", (site,), skills=("medical",), languages=("zh", "en"))
    )
    directory.add_volunteer(
        Volunteer("c01", "Chen Hui", (site,), languages=("zh", "en"), coordinator=True)
    )
    tokens = {
        "volunteer": directory.create_token("volunteer", "v01", [site])[0],
        "coordinator": directory.create_token("coordinator", "c01", [site])[0],
    }
    app = create_app(settings, directory=directory)
    server = ServerThread(app, free_port())
    server.start()
    mqtt = MqttTestClient(mosquitto.host, mosquitto.port).connect()
    try:
        # The alert service subscribes asynchronously: a need published before that is lost.
        service = app.state.alerts
        assert service is not None, "create_app ran no alert service"
        deadline = time.monotonic() + 15
        while not service.connected.is_set():
            assert time.monotonic() < deadline, "the alert service did not connect"
            time.sleep(0.05)
        yield Stack(
            url=f"http://127.0.0.1:{server.server.config.port}",
            site=site,
            settings=settings,
            influx=influxdb,
            database=database,
            directory=directory,
            tokens=tokens,
            mqtt=mqtt,
            alerts=service,
        )
    finally:
        mqtt.close()
        server.stop()
        directory.close()
        influxdb.drop_database(database)
