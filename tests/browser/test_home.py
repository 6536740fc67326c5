"""The coordinators' home page in headless Chromium against the real stack: residents listed
with their latest vitals against the usual band, search filters, a column sorts, and a need
published on MQTT shows in its resident's row without a reload; the care-plan section lists
what is overdue (once per resident and plan, with how often it was missed) and due soon.
Labels come from the catalogs in the coordinator's language (c01 speaks zh first: Traditional
Chinese). The screenshot docs/img/dashboard-home.png is taken here."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from careloop.i18n import translate
from people import CareProfile, Expectation, Resident
from tests.browser.conftest import DOCS_IMG, Stack
from tests.browser.test_dashboard import need, sign_in

pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
from playwright.sync_api import expect  # only once playwright is known present

HOUR = 3_600_000
DAY = 86_400_000
LANG = "zh-Hant"
#: Latest heart rate per resident (r4 has no readings: it sorts last either way).
LATEST = {"r1": 96.0, "r2": 61.0, "r3": 72.0}


def _seed(stack: Stack) -> None:
    stack.directory.add_resident(Resident(stack.site, "r3", "Mrs Chen Yu", "zh"))
    stack.directory.add_resident(Resident(stack.site, "r4", "Mr Omar Haddad", "en"))
    now = int(time.time() * 1000)
    start = now - now % DAY - 4 * DAY
    lines = []
    for rid in ("r1", "r2", "r3"):
        tags = f"device=term-{rid},resident={rid},site={stack.site}"
        lines += [  # three days of hourly readings: the usual band 62-78 bpm
            f"vitals,{tags} heart_rate={(66, 70, 74)[i % 3]}.0,spo2={(96, 97, 98)[i % 3]}.0 "
            f"{start + i * HOUR}"
            for i in range(72)
        ]
        lines.append(f"vitals,{tags} heart_rate={LATEST[rid]},spo2=96.5 {now - 60_000}")
        lines.append(f'device_status,{tags} state="online",seq=1i {now - 30_000}')
    stack.write_lines(lines)


def _ids(page) -> list[str]:
    return [r.split("/")[-1] for r in page.locator("#rows tr").evaluate_all(
        "rows => rows.map(r => r.dataset.resident)")]  # fmt: skip


def test_home_lists_searches_sorts_and_updates_live(browser, stack: Stack) -> None:
    _seed(stack)
    context, page, errors = sign_in(browser, stack, "coordinator", then="/home")
    try:
        rows = page.locator("#rows tr")
        expect(rows).to_have_count(4, timeout=10_000)
        expect(page.locator("h1")).to_have_text(translate(LANG, "home.title"))
        expect(page.locator("html")).to_have_attribute("lang", LANG)
        head = page.locator("#head")
        expect(head).to_contain_text(translate(LANG, "vital.heart_rate"))
        expect(head).to_contain_text(translate(LANG, "home.col.needs"))
        # r1's 96 bpm is above the band 62-78, r2's 61 below, r3's 72 inside
        hr = {rid: page.locator(f'tr[data-resident$="/{rid}"] td[data-col="heart_rate"] .vital')
              for rid in ("r1", "r2", "r3")}  # fmt: skip
        expect(hr["r1"]).to_have_attribute("data-state", "high")
        expect(hr["r2"]).to_have_attribute("data-state", "low")
        expect(hr["r3"]).to_have_attribute("data-state", "usual")
        expect(hr["r1"]).to_have_attribute(
            "title", translate(LANG, "home.vital.high", value="96", lo="62", hi="78")
        )
        expect(page.locator('tr[data-resident$="/r4"] td[data-col="devices"]')).to_have_text(
            translate(LANG, "home.devices.none")
        )
        expect(page.locator('tr[data-resident$="/r1"] td[data-col="tickets"]')).to_have_text("0")

        # search: by name, case-insensitive, then by id; clearing shows everyone again
        page.fill("#search", "bell")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Mr Arthur Bell")
        page.fill("#search", "r3")
        expect(rows).to_have_count(1)
        page.fill("#search", "nobody-like-this")
        expect(rows).to_have_count(0)
        expect(page.locator("#empty")).to_be_visible()
        page.fill("#search", "")
        expect(rows).to_have_count(4)

        # sort by heart rate: highest first, then lowest first; no reading sorts last
        sort_hr = page.locator('button.sort[data-col="heart_rate"]')
        sort_hr.click()
        expect(page.locator('th[aria-sort="descending"]')).to_contain_text(
            translate(LANG, "vital.heart_rate")
        )
        assert _ids(page) == ["r1", "r3", "r2", "r4"]
        sort_hr.click()
        assert _ids(page) == ["r2", "r3", "r1", "r4"]
        page.locator('button.sort[data-col="resident"]').click()  # by name, A to Z
        assert _ids(page) == ["r2", "r4", "r3", "r1"]  # Arthur, Omar, Chen Yu, Lin Mei

        # live: a need published on MQTT shows in r3's row without a reload
        needs_r3 = page.locator('tr[data-resident$="/r3"] td[data-col="needs"]')
        expect(needs_r3).to_have_text("0")
        stack.publish_need(need(stack, "r3", "fall", "emergency", "Fall in the bathroom."))
        expect(needs_r3).to_contain_text(translate(LANG, "tier.emergency"), timeout=10_000)
        expect(page.locator('tr[data-resident$="/r3"]')).to_have_attribute("data-tier", "emergency")
        expect(page.locator("#status")).to_contain_text("Mrs Chen Yu")
        expect(page.locator("#live")).to_have_text(translate(LANG, "home.live"))
        page.locator('button.sort[data-col="needs"]').click()
        assert _ids(page)[0] == "r3"

        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1280, "height": 420})
        page.screenshot(path=str(DOCS_IMG / "dashboard-home.png"))
        assert errors == []
    finally:
        context.close()


def test_volunteers_are_sent_to_their_board(browser, stack: Stack) -> None:
    context, page, errors = sign_in(browser, stack, "volunteer", then="/board")
    try:
        page.goto(f"{stack.url}/home")
        expect(page).to_have_url(re.compile(r"/board$"))
        assert errors == []
    finally:
        context.close()


def test_the_care_plan_section_lists_overdue_and_due_soon(browser, stack: Stack) -> None:
    """r1 never took the daily pills (overdue, missed every day since the plan started);
    r2's 90-day check-up opens in three days (due soon, shown once). Profiles read times in
    UTC (offset 0), so today's 00:00-00:01 window has closed unless it is 00:01 now."""
    now = datetime.now(UTC)
    today = now.date()
    missed = 3 + int(now.hour > 0 or now.minute >= 1)
    pills = Expectation(name="morning pills", event="medication_taken", at="00:00",
                        window_min=1, start=today - timedelta(days=3))  # fmt: skip
    checkup = Expectation(name="diabetes check-up", event="checkup_done", at="09:00", every_days=90,
                          window_days=14, start=today + timedelta(days=3))  # fmt: skip
    stack.directory.set_care_profile(stack.site, "r1", CareProfile(expectations=(pills,)))
    stack.directory.set_care_profile(stack.site, "r2", CareProfile(expectations=(checkup,)))
    context, page, errors = sign_in(browser, stack, "coordinator", then="/home")
    try:
        expect(page.locator("#plan-title")).to_have_text(translate(LANG, "home.careplan.title"))
        late = page.locator("#plan-overdue li")
        expect(late).to_have_count(1, timeout=10_000)
        expect(late.first).to_have_attribute("data-resident", f"{stack.site}/r1")
        expect(late.first).to_contain_text("morning pills")
        expect(late.first).to_contain_text(translate(LANG, "home.careplan.missed", count=missed))
        soon = page.locator("#plan-due li")
        expect(soon.filter(has_text="diabetes check-up")).to_have_count(1)
        checkup_row = soon.filter(has_text="diabetes check-up").first
        expect(checkup_row).to_have_attribute("data-resident", f"{stack.site}/r2")
        expect(checkup_row).to_have_attribute("data-state", "upcoming")
        expect(soon.filter(has_text="morning pills")).to_have_count(1)  # the next one only
        assert errors == []
    finally:
        context.close()
