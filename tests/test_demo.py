"""``careloop demo`` end to end: 20 residents' live vitals on its broker, care needs for the
showcase emergencies from ``careloop score``, the dashboard the banner opens onto (signed in
with the demo's coordinator token) listing the alert a simulated volunteer accepted; Ctrl-C
cleans up.

The demo runs at ``--speed 3`` here (3 simulated seconds per wall second): the showcase's
fall is confirmed after 60 s of simulated stillness ~150 simulated seconds after the start,
which is ~50 s of wall time instead of ~150 s at the default speed 1.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import httpx
import pytest

from careloop.wire import subscription
from careloop.wire.alerts import AlertNotification, alert_subscription, decode_notification
from careloop.wire.needs import NeedMessage, decode_need, need_subscription
from devservers import free_port
from tests.helpers.mqtt import MqttTestClient
from tests.helpers.procs import alive, children_of, interrupt
from tests.helpers.readings import ReadingCollector

#: Bound, in wall seconds after the banner, for the showcase needs to arrive.
NEEDS_WITHIN_S = 150

pytestmark = pytest.mark.slow


def stored_residents(port: int) -> set[str]:
    q = 'SHOW TAG VALUES FROM vitals WITH KEY = "resident"'
    url = f"http://127.0.0.1:{port}/query?" + urllib.parse.urlencode({"db": "careloop", "q": q})
    with urllib.request.urlopen(url, timeout=10) as resp:
        series = json.load(resp)["results"][0].get("series", [])
    return {row[1] for s in series for row in s["values"]}


def wait_needs(client: MqttTestClient, wanted: set[tuple[str, str]], deadline: float) -> list:
    """Collect needs until every (resident, kind) in ``wanted`` was seen or time is up."""
    seen: list[NeedMessage] = []
    while not wanted <= {(n.resident, n.kind) for n in seen} and time.monotonic() < deadline:
        try:
            msg = client.get(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except TimeoutError:
            continue
        seen.append(decode_need(msg.topic, msg.payload))
    return seen


def wait_pages(client: MqttTestClient, deadline: float) -> list[AlertNotification]:
    """Volunteer notifications until the SOS alert was accepted by v03, or time is up."""
    seen: list[AlertNotification] = []
    while time.monotonic() < deadline:
        if any(n.volunteer == "v03" and n.type == "accepted" for n in seen):
            break
        try:
            msg = client.get(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except TimeoutError:
            continue
        seen.append(decode_notification(msg.topic, msg.payload))
    return seen


def check_app(banner: str, base: str) -> None:
    """The banner's volunteer app link signs in once, as simulated volunteer v01."""
    link = re.search(r"volunteer app\s+: (\S+)/app/#signin=(cls_\S+)", banner)
    assert link and link.group(1) == base, banner
    with httpx.Client(base_url=base, timeout=10, headers={"Origin": base}) as http:
        assert http.get("/app/").status_code == 200
        made = http.post("/api/v1/app/session", json={"link": link.group(2)})
        assert made.status_code == 200, made.text
        assert made.json()["subject"] == "v01"
        assert http.get("/api/v1/app/me").json()["id"] == "v01"
        again = http.post("/api/v1/app/session", json={"link": link.group(2)})
        assert again.status_code == 401  # one use


def check_family(banner: str, base: str) -> None:
    """The banner's family link signs in as the family of r001, whose weekly report is
    produced from the demo's data."""
    link = re.search(r"family page\s+: (\S+)/family/#token=(clt_\S+)", banner)
    assert link and link.group(1) == base, banner
    with httpx.Client(base_url=base, timeout=60, headers={"Origin": base}) as http:
        assert http.get("/family/").status_code == 200
        made = http.post("/api/v1/session", json={"token": link.group(2)})
        assert made.status_code == 200 and made.json()["role"] == "family", made.text
        me = http.get("/api/v1/family/me").json()
        assert (me["resident"], me["report"], me["vitals"]) == ("r001", True, True)
        report = http.get(f"/api/v1/residents/{me['site']}/r001/report", params={"lang": "en"})
        assert report.status_code == 200, report.text
        assert "Simulated resident 1" in report.text
        assert http.get(f"/api/v1/residents/{me['site']}/r002/report").status_code == 404


def check_dashboard(banner: str, http_port: int) -> tuple[str, str]:
    """The banner's first line is a sign-in link to the board; the board answers with it.

    Returns (base URL, token) for later API checks.
    """
    lines = banner.splitlines()
    first = next(i for i, line in enumerate(lines) if "careloop demo is running" in line)
    link = re.fullmatch(
        r"\s*dashboard\s+: (http://127\.0\.0\.1:(\d+))/login#token=(\S+)", lines[first + 1]
    )
    assert link, lines[first : first + 3]
    base, port, token = link.group(1), int(link.group(2)), link.group(3)
    assert port == http_port
    with httpx.Client(base_url=base, timeout=10) as http:
        signed_out = http.get("/board")
        assert signed_out.status_code == 303
        assert signed_out.headers["location"].startswith("/login")
        login = http.get("/login")
        assert login.status_code == 200 and 'id="token"' in login.text
        session = http.post("/api/v1/session", json={"token": token})
        assert session.status_code == 200, session.text
        assert session.json() == {"role": "coordinator", "subject": "coordinator",
                                  "sites": ["demo-home"]}  # fmt: skip
        board = http.get("/board")  # with the HttpOnly cookie the session set
        assert board.status_code == 200, board.text
        assert re.search(r"<h1[^>]*>Open alerts</h1>", board.text), board.text[:300]
        assert '<ul class="alerts" id="alerts"' in board.text
        assert http.get("/static/board.js").status_code == 200
        resident = http.get("/residents/demo-home/r001")
        assert resident.status_code == 200 and 'id="charts"' in resident.text
    return base, token


def owned_alerts(base: str, token: str) -> list[tuple[str, str, str, str | None]]:
    """(resident, kind, state, owner) of the demo site's alerts, as the board reads them."""
    resp = httpx.get(
        f"{base}/api/v1/alerts",
        params={"per_page": 100},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return [(a["resident"], a["kind"], a["state"], a["owner"]) for a in resp.json()["items"]]


def test_demo_shows_20_residents_and_stops_cleanly(tmp_path):
    broker_port, http_port, influx_port = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "demo",
            "--data-dir",
            str(tmp_path),
            "--broker-port",
            str(broker_port),
            "--influx-port",
            str(influx_port),
            "--http-port",
            str(http_port),
            "--interval",
            "1",
            "--speed",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = ""
        deadline = time.monotonic() + 60
        while "Press Ctrl-C" not in banner and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"demo exited early:\n{banner}"
            banner += line
        shown = time.monotonic()
        assert f"mqtt://127.0.0.1:{broker_port}" in banner
        # the demo's servers accept anyone: the banner says so, beside each of them
        assert "(anonymous, no TLS: demo only)" in banner, banner
        assert "no authentication, no TLS: demo only" in banner, banner
        assert "DEMO USE ONLY" in banner, banner
        assert re.search(r"started in [\d.]+ s", banner)
        assert "-t 'careloop/needs/v1/#'" in banner
        assert "r001 sos_call at ~15 s,\n" in banner, banner
        assert "r002 fall_no_movement at ~30 s" in banner, banner
        assert "r003 lonely_sentence at ~40 s" in banner, banner
        assert "r004 agitated_exchange at ~50 s" in banner, banner
        base, token = check_dashboard(banner, http_port)
        check_app(banner, base)
        check_family(banner, base)
        servers = children_of(proc.pid)
        assert len(servers) == 4  # mosquitto, influxd, careloop ingest and careloop score
        needs = MqttTestClient("127.0.0.1", broker_port).connect()
        needs.subscribe(need_subscription())
        pages = MqttTestClient("127.0.0.1", broker_port).connect()
        pages.subscribe(alert_subscription("volunteer", "demo-home"))
        with ReadingCollector(
            "127.0.0.1", broker_port, subscription(kind="vitals"), client_id="demo-watch"
        ) as sub:
            until = time.monotonic() + 30
            while len(sub.data.devices) < 20 and time.monotonic() < until:
                time.sleep(0.2)
        terminals = sub.data.devices  # one vitals terminal per resident
        assert len(terminals) == 20, terminals
        assert not sub.data.rejected
        # ... and careloop ingest stored them: every resident has vitals in InfluxDB.
        assert f"http://127.0.0.1:{influx_port} " in banner, banner
        until = time.monotonic() + 30
        while len(stored := stored_residents(influx_port)) < 20 and time.monotonic() < until:
            time.sleep(0.5)
        assert len(stored) == 20, stored
        # ... and careloop score turned the showcase into care needs on the need topic
        wanted = {("r001", "sos"), ("r002", "fall"), ("r003", "low_mood"), ("r004", "agitation")}
        seen = wait_needs(needs, wanted, shown + NEEDS_WITHIN_S)
        needs.close()
        got = {(n.resident, n.kind): n for n in seen}
        assert wanted <= got.keys(), [(n.resident, n.kind, n.state) for n in seen]
        assert got["r001", "sos"].tier == got["r002", "fall"].tier == "emergency"
        assert got["r002", "fall"].summary.startswith("Fall detected")
        # one sentence of loneliness and one agitated exchange are enough (docs/stories.md)
        assert got["r003", "low_mood"].tier == got["r004", "agitation"].tier == "emotional"
        # ... and careloop alerts paged the simulated volunteers: v01 ignores the SOS page,
        # the chain escalates to v02 (declines), then v03 accepts and owns it
        notes = wait_pages(pages, shown + NEEDS_WITHIN_S)
        pages.close()
        sos = [n for n in notes if n.resident == "r001" and n.kind == "sos"]
        trail = [(n.volunteer, n.type) for n in sos]
        assert ("v01", "page") in trail, trail
        assert ("v02", "page") in trail, trail  # escalated past v01's silence
        assert ("v03", "accepted") in trail, trail
        assert trail.index(("v01", "page")) < trail.index(("v02", "page"))
        # ... and the dashboard's API shows that alert owned by v03 (it may be resolved by now)
        sos_alerts = [a for a in owned_alerts(base, token) if a[:2] == ("r001", "sos")]
        assert len(sos_alerts) == 1, sos_alerts
        assert sos_alerts[0][2] in ("accepted", "resolved") and sos_alerts[0][3] == "v03", (
            sos_alerts
        )
    finally:
        rest, _took = interrupt(proc, timeout=30)
    assert proc.returncode == 0, rest
    for pid in servers:  # broker, InfluxDB and ingest are gone (or at most unreaped zombies)
        assert not alive(pid), f"server {pid} outlived the demo"
