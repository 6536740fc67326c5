"""The dashboard in headless Chromium against the real stack.

A volunteer signs in with a token link, sees a care need published on MQTT arrive on the
board without a reload, accepts it and sees it owned; a resident page plots vitals written
to InfluxDB and shows the model's explanation; text from the wire is shown as text. The
board and resident page screenshots in docs/ are taken here.
"""

from __future__ import annotations

import math
import re
import time

import httpx
import pytest

from careloop.i18n import translate
from careloop.i18n.summary import render_summary
from careloop.wire.needs import Evidence, NeedMessage
from tests.browser.conftest import DOCS_IMG, Stack

pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
from playwright.sync_api import expect  # only once playwright is known present

FALL_SUMMARY = (
    "Fall detected at 14:02 in the bedroom, then no movement for 60 s: no steps, lying, "
    "activity 1.0 MET."
)
HR_SUMMARY = "Heart rate 124 bpm at rest for 15 min: usual at this time of day 71 ± 5 (5 SD above)."
#: The board's language for v01 and c01 (their profiles speak zh first): Traditional Chinese.
LANG = "zh-Hant"
#: A countdown as the board shows it, e.g. "(剩 4:59)".
_LEFT = re.compile(
    re.escape(translate(LANG, "board.left", time="TIME")).replace("TIME", r"\d+:\d\d")
)
#: The SpO2 chart's accessible description names its lowest reading (the dip written below).
_SPO2_LABEL = re.compile(
    re.escape(translate(LANG, "vital.spo2"))
    + ".*".join(
        re.escape(part)
        for part in translate(
            LANG,
            "chart.desc",
            **{k: "\x01" for k in ("title", "from", "to", "count", "hi")},
            lo="88.5",
            latest="\x01",
            unit="\x01",
        ).split("\x01")
    )
)
HYPOXIA_SUMMARY = (
    "Low oxygen saturation for 2 min: SpO2 88.4 % (usual at this time of day 96.9 ± 0.9); "
    "breathing rate 21.3 /min (usual at this time of day 15.1 ± 1.2)."
)


def need(stack: Stack, resident: str, kind: str, tier: str, summary: str, **kw) -> NeedMessage:
    now = int(time.time() * 1000)
    return NeedMessage(
        id=f"{resident}:{kind}:{now}",
        site=stack.site,
        resident=resident,
        kind=kind,  # type: ignore[arg-type]
        tier=tier,  # type: ignore[arg-type]
        ts=now,
        onset=now - 60_000,
        score=1.0,
        summary=summary,
        language="en",
        **kw,
    )


def sign_in(browser, stack: Stack, role: str, then: str = "/board"):
    """A fresh browser context signed in through the token link the demo prints (the
    login page asks first; tests/browser/test_login.py checks that it does)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{stack.url}/login?next={then}#token={stack.tokens[role]}")
    page.get_by_role("button", name=re.compile(r"^Sign in as ")).click(timeout=10_000)
    page.wait_for_url(f"{stack.url}{then}", timeout=10_000)
    assert "token" not in page.url  # the fragment is wiped from the address bar
    return context, page, errors


def api_alerts(stack: Stack, role: str = "coordinator", state: str | None = "open") -> list[dict]:
    """The alerts as the API lists them (not through the browser)."""
    resp = httpx.get(
        f"{stack.url}/api/v1/alerts",
        params={"state": state} if state else {},
        headers={"Authorization": f"Bearer {stack.tokens[role]}"},
        timeout=10,
    )
    resp.raise_for_status()
    return resp.json()["items"]


def test_signed_out_board_goes_to_login(stack: Stack) -> None:
    resp = httpx.get(f"{stack.url}/board", follow_redirects=False, timeout=10)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=%2Fboard"
    page = httpx.get(f"{stack.url}/login", timeout=10)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<form id="login">' in page.text


def test_board_shows_a_new_alert_live_and_the_volunteer_accepts_it(browser, stack: Stack):
    context, page, errors = sign_in(browser, stack, "volunteer")
    try:
        expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=10_000)
        expect(page.locator("#who")).to_contain_text("v01")
        expect(
            page.get_by_label(translate(LANG, "board.acting_as"))
        ).to_be_hidden()  # acts as themself
        expect(page.locator("li.alert")).to_have_count(0)
        page.evaluate("window.__sameDocument = true")  # gone if the page reloads

        fall = need(
            stack, "r1", "fall", "emergency", FALL_SUMMARY,
            evidence=[Evidence(measure="fall_detected", value=True, rule="fall, then still 60 s")],
        )  # fmt: skip
        stack.publish_need(fall)
        card = page.locator("li.alert", has_text=translate(LANG, "need.fall"))
        expect(card).to_have_count(1, timeout=10_000)
        assert page.evaluate("window.__sameDocument === true"), "the board reloaded"
        expect(card).to_have_attribute("data-tier", "emergency")
        expect(card.locator(".summary")).to_have_text(FALL_SUMMARY)
        expect(card.get_by_role("link", name="r1")).to_have_attribute(
            "href", f"/residents/{stack.site}/r1"
        )
        expect(card.locator(".owner")).to_have_text(translate(LANG, "board.nobody"))
        # the respond deadline counts down in the browser
        countdown = card.locator(".countdown").first
        expect(countdown).to_have_text(_LEFT, timeout=5_000)
        first = countdown.text_content()
        expect(countdown).not_to_have_text(first or "", timeout=3_000)

        # a second, less urgent need, so the board shows an owned and a waiting alert
        stack.publish_need(need(stack, "r2", "heart_rate_abnormal", "important", HR_SUMMARY))
        expect(page.locator("li.alert")).to_have_count(2, timeout=10_000)
        # the emergency sorts first
        expect(page.locator("li.alert").first).to_have_attribute("data-tier", "emergency")

        card.get_by_role("button", name=translate(LANG, "board.action.accept")).click()
        expect(card.locator(".owner")).to_have_text("v01", timeout=10_000)
        expect(card.locator(".state")).to_have_text(translate(LANG, "board.alert_state.accepted"))
        expect(
            card.get_by_role("button", name=translate(LANG, "board.action.resolve"))
        ).to_be_visible()
        expect(
            card.get_by_role("button", name=translate(LANG, "board.action.accept"))
        ).to_have_count(0)
        expect(card).to_contain_text(translate(LANG, "board.resolve_by"))
        owned = [a for a in api_alerts(stack) if a["resident"] == "r1" and a["kind"] == "fall"]
        assert [(a["state"], a["owner"]) for a in owned] == [("accepted", "v01")]
        assert page.evaluate("window.__sameDocument === true"), "the board reloaded"

        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        page.locator("#status").evaluate("n => n.textContent = ''")
        page.screenshot(
            path=str(DOCS_IMG / "dashboard_board.png"), full_page=True, animations="disabled"
        )
        assert not errors, errors
    finally:
        context.close()


def vitals_lines(stack: Stack, resident: str, minutes: int = 60) -> list[str]:
    """A resident's last hour, one reading every 30 s, with a dip in SpO2 near the end."""
    now = int(time.time() * 1000)
    lines = []
    for i in range(minutes * 2):
        ts = now - (minutes * 60 - i * 30) * 1000
        dip = i > minutes * 2 - 12
        hr = 72 + 6 * math.sin(i / 9) + (14 if dip else 0)
        spo2 = 88.5 if dip else 96.8 + 0.6 * math.sin(i / 7)
        resp = 21 if dip else 15 + math.sin(i / 5)
        temp = 36.7 + 0.15 * math.sin(i / 30)
        sbp = 128 + 8 * math.sin(i / 20)
        dbp = 78 + 5 * math.sin(i / 20)
        lines.append(
            f"vitals,device=term-{resident},resident={resident},site={stack.site} "
            f"heart_rate={hr:.1f},spo2={spo2:.1f},respiration_rate={resp:.1f},"
            f"temperature={temp:.2f},systolic_bp={sbp:.0f}i,diastolic_bp={dbp:.0f}i {ts}"
        )
    return lines


def test_resident_page_plots_vitals_and_explains_needs(browser, stack: Stack) -> None:
    stack.write_lines(vitals_lines(stack, "r2"))
    hypoxia = need(
        stack, "r2", "hypoxia", "emergency", HYPOXIA_SUMMARY,
        evidence=[
            Evidence(measure="spo2", value=88.4, unit="%", baseline=96.9, baseline_scale=0.9,
                     rule="SpO2 <= 91 and >= 3 SD below usual for 2 min"),
            Evidence(measure="respiration_rate", value=21.3, unit="/min", baseline=15.1,
                     baseline_scale=1.2, rule="NEWS2 respiration band"),
        ],
    )  # fmt: skip
    stack.publish_need(hypoxia)
    deadline = time.monotonic() + 10
    while not any(a["kind"] == "hypoxia" for a in api_alerts(stack)):
        assert time.monotonic() < deadline, "the hypoxia need never became an alert"
        time.sleep(0.1)

    context, page, errors = sign_in(browser, stack, "coordinator", f"/residents/{stack.site}/r2")
    try:
        expect(page.locator("#title")).to_have_text("Mr Arthur Bell (r2)", timeout=10_000)
        charts = page.locator("figure.chart")
        expect(charts).to_have_count(5, timeout=10_000)
        paths = page.locator("figure.chart path.series")
        expect(paths).to_have_count(6)  # heart rate, SpO2, respiration, temperature, 2 × BP
        for i in range(6):
            d = paths.nth(i).get_attribute("d") or ""
            assert d.count("L") >= 50, (i, d[:80])  # an hour at 30 s: a real line, not a dot
        spo2 = page.locator("figure.chart[data-plot='spo2']")
        expect(spo2.locator("svg")).to_have_attribute("aria-label", _SPO2_LABEL)
        explanation = page.locator("li.need", has_text=translate(LANG, "need.hypoxia"))
        expect(explanation.locator(".summary")).to_have_text(HYPOXIA_SUMMARY, timeout=10_000)

        # a shorter range redraws from the API
        vitals_from = translate(LANG, "resident.vitals_range", **{"from": "\x01", "to": "\x01"})
        time_range = page.get_by_label(translate(LANG, "resident.range"))
        time_range.select_option("900")
        status = page.locator("#status")
        expect(status).to_contain_text(vitals_from.split("\x01")[0], timeout=10_000)
        time_range.select_option("3600")
        expect(status).to_contain_text(vitals_from.split("\x01")[0], timeout=10_000)

        page.screenshot(
            path=str(DOCS_IMG / "dashboard_resident.png"), full_page=True, animations="disabled"
        )
        assert not errors, errors
    finally:
        context.close()


def test_text_from_the_wire_is_shown_as_text(browser, stack: Stack) -> None:
    """A summary with markup in it is displayed verbatim and runs nothing."""
    hostile = 'Agitated <img src=x onerror="window.__pwned=1"><b>bold</b> & "quoted"'
    stack.publish_need(need(stack, "r1", "agitation", "emotional", hostile))
    context, page, errors = sign_in(browser, stack, "coordinator")
    try:
        card = page.locator("li.alert", has_text=translate(LANG, "need.agitation"))
        expect(card.locator(".summary")).to_have_text(hostile, timeout=10_000)
        assert card.locator("img, b").count() == 0
        assert page.evaluate("window.__pwned === undefined")
        assert not errors, errors
    finally:
        context.close()


def test_a_summary_reads_in_the_boards_language(browser, stack: Stack) -> None:
    """A need raised with its catalog key shows, on a Traditional Chinese board, the
    Traditional Chinese wording, not the English summary that travels beside it."""
    args = {
        "what_msg": "summary.fall_what.event", "conf": 0.9, "secs": 75,
        "how_msg": "summary.fall_how.still",
    }  # fmt: skip
    english = render_summary("en", "summary.fall", args)
    chinese = render_summary(LANG, "summary.fall", args)
    assert english and chinese and english != chinese
    keyed = need(
        stack, "r2", "fall", "emergency", english, summary_key="summary.fall", summary_args=args
    )
    stack.publish_need(keyed)
    context, page, errors = sign_in(browser, stack, "coordinator")
    try:
        card = page.locator("li.alert", has_text=chinese)
        expect(card).to_have_count(1, timeout=10_000)
        expect(card.locator(".summary")).to_have_text(chinese)
        expect(page.locator("li.alert", has_text=english)).to_have_count(0)
        assert not errors, errors
    finally:
        context.close()


def past_needs(stack: Stack) -> dict[str, int]:
    """Needs of earlier days in the alert store (the public board leaves today out): seven
    emergencies answered in time, two important ones; returns how many of each tier."""
    from alerts import Alert, AlertStore

    day = 86_400_000
    start = int(time.time() * 1000) // day * day - 2 * day
    with AlertStore(stack.settings.paths.alerts) as store, store.tx():
        for n, tier in enumerate(["emergency"] * 7 + ["important"] * 2):
            opened = start + n * 60_000
            a = Alert(f"a-past-{n}", stack.site, f"past{n}", "sos", tier, "resolved",
                      f"past{n}:sos:{opened}", opened)  # fmt: skip
            a.accepted_ms, a.respond_due_ms = opened + 40_000, opened + 600_000
            store.save(a, new=True)
    return {"emergency": 7, "important": 2}


def test_public_and_sla_pages_show_the_closed_loop(browser, stack: Stack) -> None:
    """The anonymised board and the SLA charts count the alerts the store holds."""
    if not stack.published:  # run on its own: give the pages something to count
        stack.publish_need(need(stack, "r1", "sos", "emergency", "SOS button pressed."))
    deadline = time.monotonic() + 10
    while len(alerts := api_alerts(stack, state=None)) < len(stack.published):
        assert time.monotonic() < deadline, (alerts, stack.published)
        time.sleep(0.1)
    emergencies = sum(a["tier"] == "emergency" for a in alerts)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        board = past_needs(stack)  # whole days before today only: the board's window
        page.goto(f"{stack.url}/public")
        stats = page.locator("#stats")
        expect(stats.locator("[data-stat=needs] strong")).to_have_text(str(board["emergency"]))
        row = page.locator("#recent tbody tr[data-tier='important']")
        expect(row.locator("td").nth(2)).to_have_text("fewer than 5")  # 2 needs: withheld
        expect(page.locator("#charts svg")).to_have_count(1)
        shown = page.locator("main").inner_text()
        for a in alerts:  # anonymised: no resident or alert ids, no summaries
            assert a["resident"] not in shown and a["id"] not in shown
        assert "Fall detected" not in shown
        page.screenshot(path=str(DOCS_IMG / "dashboard_public.png"), full_page=True)
    finally:
        context.close()
    context, page, errors = sign_in(browser, stack, "coordinator", "/sla")
    try:
        expect(page.locator("#sla svg")).to_have_count(3, timeout=10_000)
        row = page.locator("#sla tbody tr[data-tier='emergency']")
        # the staff view counts every alert (today's and the past days' seven)
        expect(row.locator("td").nth(1)).to_have_text(str(emergencies + board["emergency"]))
        page.screenshot(path=str(DOCS_IMG / "dashboard_sla.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()
