"""``GET /api/v1/residents/{site}/{resident}/report`` on the real app (uvicorn), the seeded
InfluxDB, people database and alert store of tests/reports/conftest.py: the page in the
caller's language, the PDF, consent for volunteers, 422/404 with reasons, the audit row."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.api import create_app
from careloop.i18n import translate
from careloop.settings import load_settings
from devservers import Mosquitto
from people import Consent, Directory, Volunteer
from tests.helpers.api_server import serve_in_thread
from tests.reports.conftest import SITE, WEEK, World

PATH = f"/api/v1/residents/{SITE}/r1/report"


@dataclass
class Server:
    base: str
    tokens: dict[str, str]
    directory: Directory

    def get(self, who: str, path: str = PATH, **kw: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}", **kw.pop("headers", {})}  # type: ignore[dict-item]
        return httpx.get(self.base + path, headers=headers, timeout=60, trust_env=False, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server(world: World, mosquitto: Mosquitto) -> Iterator[Server]:
    settings = load_settings(
        site=SITE,
        data_dir=str(world.data_dir),
        mqtt={"host": mosquitto.host, "port": mosquitto.port, "backoff_initial": 0.1},
        influx={"url": world.influx_url, "database": world.database},
        api={"cookie_secure": False},
    )
    assert settings.paths.alerts == world.alert_db
    directory = Directory(world.people_db)
    directory.add_volunteer(Volunteer("c02", "Coordinator 2", (SITE,), languages=("zh-CN",),
                                      coordinator=True))  # fmt: skip
    tokens = {
        "coord": directory.create_token("coordinator", "c01", [SITE])[0],  # languages: en
        "coord_hans": directory.create_token("coordinator", "c02", [SITE])[0],
        "admin": directory.create_token("admin", "root", None)[0],
        "vol": directory.create_token("volunteer", "v01", [SITE])[0],
        "elsewhere": directory.create_token("coordinator", "c01", ["other-site"])[0],
    }
    app = create_app(settings, alert_service=False, directory=directory)
    srv, thread, port = serve_in_thread(app)
    try:
        yield Server(f"http://127.0.0.1:{port}", tokens, directory)
    finally:
        srv.should_exit = True
        thread.join(20)
        directory.close()


def test_the_page_in_the_callers_language_and_an_audit_row(server: Server) -> None:
    before = server.directory.audit(frozenset({SITE}), resident="r1")[1]
    resp = server.get("coord", params={"week": WEEK})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["content-language"] == "en"  # c01's profile says en
    assert "script-src" not in resp.headers["content-security-policy"]  # no script at all
    html = resp.text
    assert "王美玲" in html and "<svg" in html
    for key in ("summary", "needs", "vitals", "activity"):
        assert translate("en", f"report.section.{key}") in html
    vital = translate("en", "vital.heart_rate")
    assert translate("en", "report.finding.higher_nights", vital=vital, count=3) in html
    rows, total = server.directory.audit(frozenset({SITE}), resident="r1")
    assert total == before + 1
    assert (rows[0].action, rows[0].subject) == ("read_report", "c01")


def test_locale_from_profile_then_accept_language_then_lang(server: Server) -> None:
    hans = server.get("coord_hans", params={"week": WEEK})  # profile zh-CN: Simplified
    assert hans.headers["content-language"] == "zh-Hans"
    assert translate("zh-Hans", "report.section.vitals") in hans.text
    # an admin has no profile: the browser's Accept-Language decides
    accept = server.get("admin", params={"week": WEEK}, headers={"Accept-Language": "zh-TW,en"})
    assert accept.headers["content-language"] == "zh-Hant"
    assert translate("zh-Hant", "report.section.vitals") in accept.text
    # ?lang= beats both
    forced = server.get("coord_hans", params={"week": WEEK, "lang": "en"})
    assert forced.headers["content-language"] == "en"


def test_bad_week_is_422_with_why_and_unknown_resident_404(server: Server) -> None:
    for week, why in (("2026-02", "use YYYY-Www"), ("2026-W60", "has no week 60")):
        resp = server.get("coord", params={"week": week})
        assert resp.status_code == 422
        assert why in resp.json()["detail"]
    assert server.get("coord", f"/api/v1/residents/{SITE}/nobody/report").status_code == 404
    assert server.get("elsewhere", params={"week": WEEK}).status_code == 404  # not their site
    assert server.get("coord", params={"format": "docx"}).status_code == 422


def test_volunteers_get_what_the_residents_consent_allows(server: Server) -> None:
    d = server.directory
    d.set_consent(Consent(SITE, "r2", share_reports_with_family=True))  # nothing for volunteers
    assert server.get("vol", f"/api/v1/residents/{SITE}/r2/report").status_code == 404
    d.set_consent(Consent(SITE, "r2", share_with_volunteers=True))
    plain = server.get("vol", f"/api/v1/residents/{SITE}/r2/report", params={"week": WEEK})
    assert plain.status_code == 200
    assert "陳志明" in plain.text and "<svg" not in plain.text
    assert translate("en", "report.withheld") in plain.text
    d.set_consent(Consent(SITE, "r2", share_with_volunteers=True,
                          share_vitals_with_volunteers=True))  # fmt: skip
    full = server.get("vol", f"/api/v1/residents/{SITE}/r2/report", params={"week": WEEK})
    assert "<svg" in full.text and translate("en", "report.withheld") not in full.text


def test_the_pdf(server: Server, tmp_path: Path) -> None:
    resp = server.get("coord", params={"week": WEEK, "format": "pdf", "lang": "zh-Hant"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/pdf"
    assert f"report-{SITE}-r1-{WEEK}.pdf" in resp.headers["content-disposition"]
    pdf = tmp_path / "r1.pdf"
    pdf.write_bytes(resp.content)
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout  # fmt: skip
    flat = "".join(text.split())
    assert "".join(translate("zh-Hant", "report.section.vitals").split()) in flat
    assert "王美玲" in flat
