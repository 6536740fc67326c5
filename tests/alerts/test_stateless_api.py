"""Two ``careloop api --no-alerts`` processes serve the same volunteer (docs/scale-alerts.md):
neither runs an alert service; a ``careloop alerts`` process pages; the board, the actions and
the events stream go through the shared alert store, so whichever API process a request
lands on sees and does the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from devservers import free_port
from people import Directory
from tests.alerts.conftest import make_roster, need, write_roster
from tests.helpers.procs import start_alerts


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "CARELOOP_DATABASE_URL": url}  # "" = SQLite files


def _api(
    mosquitto, tmp_path: Path, site: str, name: str, url: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [
        sys.executable, "-m", "app", "api", "--no-alerts", "--port", str(port),
        "--site", site, "--data-dir", str(tmp_path / "data"), "--no-cookie-secure",
        "--mqtt-host", mosquitto.host, "--mqtt-port", str(mosquitto.port),
        "--log-level", "WARNING",
    ]  # fmt: skip
    log = (tmp_path / f"api-{name}.log").open("ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=_env(url))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, (
            tmp_path / f"api-{name}.log"
        ).read_text()
        time.sleep(0.2)


class Events:
    """The events stream of one API process, read in a thread."""

    def __init__(self, url: str, token: str) -> None:
        self.frames: list[dict[str, object]] = []
        self._url, self._token = url, token
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            with httpx.stream("GET", f"{self._url}/api/v1/alerts/events", headers=headers,
                              timeout=httpx.Timeout(5, read=30)) as response:  # fmt: skip
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        self.frames.append(json.loads(line[6:]))
        except httpx.HTTPError:
            return  # the server stopped at the end of the test

    def wait(self, action: str, timeout: float = 15) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.frames:
                if frame["action"] == action:
                    return frame
            time.sleep(0.05)
        raise TimeoutError(f"no {action} event; got {[f['action'] for f in self.frames]}")


def test_two_api_processes_without_an_alert_service_serve_one_volunteer(
    mosquitto, tmp_path, site, apps, database_url
):
    from careloop.settings import load_settings

    settings = load_settings(site=site, data_dir=str(tmp_path / "data"), database_url=database_url)
    write_roster(settings, make_roster(site))
    with Directory(settings.paths.people, url=database_url) as people:
        coordinator = people.create_token("coordinator", "c01", [site])[0]
    procs = []
    try:
        (p1, url1), (p2, url2) = (
            _api(mosquitto, tmp_path, site, n, database_url) for n in ("1", "2")
        )
        procs += [p1, p2]
        alerts = start_alerts(
            mosquitto, tmp_path / "data", tmp_path / "alerts.log",
            client_id=f"alerts-{site}-0", site=site, database_url=database_url,
        )  # fmt: skip
        procs.append(alerts)
        board = Events(url2, coordinator)  # watched on the other process
        time.sleep(0.5)
        message = need(site, kind="fall", tier="emergency", ts=int(time.time() * 1000))
        deadline = time.monotonic() + 20
        while not apps.seen:  # the service's first start creates its session
            assert time.monotonic() < deadline, (tmp_path / "alerts.log").read_text()
            apps.publish_need(message)
            apps.drain(0.5)
        paged = apps.wait(lambda x: x.type == "page", n=3)
        alert_id = paged[0].alert
        volunteer = paged[0].volunteer
        with Directory(settings.paths.people, url=database_url) as people:  # they sign in
            token = people.create_token("volunteer", volunteer, [site])[0]

        auth = {"Authorization": f"Bearer {token}"}
        listed = [httpx.get(f"{u}/api/v1/alerts", headers=auth).json() for u in (url1, url2)]
        assert [[a["id"] for a in page["items"]] for page in listed] == [[alert_id]] * 2
        accepted = httpx.post(f"{url1}/api/v1/alerts/{alert_id}/accept", headers=auth)
        assert accepted.status_code == 200, accepted.text
        again = httpx.post(f"{url2}/api/v1/alerts/{alert_id}/accept", headers=auth)
        assert again.status_code == 409 and again.json()["reason"] == "not_allowed"
        seen = httpx.get(f"{url2}/api/v1/alerts/{alert_id}", headers=auth).json()
        assert (seen["state"], seen["owner"]) == ("accepted", volunteer)
        # The notifications the first process queued go out through the alert service.
        apps.wait(lambda x: x.type == "accepted" and x.volunteer == volunteer, timeout=5)
        apps.wait(lambda x: x.type == "taken", n=2, timeout=5)
        event = board.wait("accept")  # made on process 1, streamed by process 2
        assert event["alert"] == alert_id and event["site"] == site
        resolved = httpx.post(f"{url2}/api/v1/alerts/{alert_id}/resolve", headers=auth)
        assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
        assert board.wait("resolved")["alert"] == alert_id
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
