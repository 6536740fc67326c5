"""The family page in headless Chromium at phone size (390x844) against the real stack.

A daughter reading Traditional Chinese signs in with a family token link
(``/family/#token=...``), sees her mother's weekly report link, sends a complaint; a
coordinator (through the API) takes it and resolves it with a note; the page shows it
answered with the note without a reload, and she rates it 4 of 5. The screenshot in
docs/family.md is taken here (docs/img/family-zh-Hant.png with CARELOOP_SCREENSHOTS=docs).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from careloop.i18n import translate
from careloop.wire.needs import Evidence, NeedMessage
from people import CareProfile, Consent, Expectation, FamilyContact
from tests.browser.conftest import DOCS_IMG, Stack

pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
from playwright.sync_api import expect  # only once playwright is known present

PHONE = {"width": 390, "height": 844}
COMPLAINT = "上週三晚餐送來時已經冷掉了。"
NOTE = "已與廚房確認，晚餐改用保溫餐車送餐。"


def zh(key: str, **kw: Any) -> str:
    return translate("zh-Hant", key, **kw)


def test_a_family_member_complains_sees_the_answer_and_rates_it(browser: Any, stack: Stack) -> None:
    site = stack.site
    stack.directory.set_consent(
        Consent(site, "r1", share_with_volunteers=True, share_vitals_with_volunteers=True,
                share_reports_with_family=True, updated_by="test")
    )  # fmt: skip
    token = stack.directory.create_token("family", "r1", [site])[0]
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, locale="zh-TW"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{stack.url}/family/#token={token}")
        expect(page.locator("#home")).to_be_visible(timeout=10_000)
        assert "token" not in page.url  # the token is wiped from the address bar
        expect(page.locator("#hello")).to_have_text(zh("family.hello", name="Mrs Lin Mei"))
        link = page.locator("#report-link")
        expect(link).to_have_text(zh("family.report_open"))
        href = link.get_attribute("href")
        assert href == f"/api/v1/residents/{site}/r1/report?lang=zh-Hant"
        expect(page.locator("#no-tickets")).to_be_visible()

        # The complaint, in Traditional Chinese.
        page.get_by_label(zh("family.kind_complaint")).check()
        page.locator("#summary").fill(COMPLAINT)
        page.locator("#send").click()
        expect(page.locator("#status")).to_have_text(zh("family.sent_complaint"))
        card = page.locator("#tickets li").first
        expect(card).to_contain_text(COMPLAINT)
        expect(card).to_contain_text(zh("family.state_open"))
        expect(card).to_contain_text(zh("tier.important"))

        # A coordinator takes it and answers it, through the API.
        headers = {"Authorization": f"Bearer {stack.tokens['coordinator']}"}
        with httpx.Client(base_url=stack.url, headers=headers, timeout=10) as coord:
            mine = coord.get("/api/v1/tickets", params={"site": site, "open": True}).json()
            ticket = next(t for t in mine["items"] if t["summary"] == COMPLAINT)
            assert ticket["source"] == "family" and ticket["kind"] == "complaint"
            taken = coord.post(f"/api/v1/tickets/{ticket['id']}/accept")
            assert taken.status_code == 200, taken.text
            done = coord.post(f"/api/v1/tickets/{ticket['id']}/resolve", json={"note": NOTE})
            assert done.status_code == 200, done.text

        # The page reads its tickets again by itself: answered, with the note.
        expect(card).to_contain_text(zh("family.state_resolved"), timeout=20_000)
        expect(card.locator(".answer")).to_have_text(zh("family.answer", note=NOTE))
        page.screenshot(path=str(DOCS_IMG / "family-zh-Hant.png"), full_page=True)
        card.get_by_role("button", name=zh("family.rate_n", score=4)).click()
        expect(page.locator("#status")).to_have_text(zh("family.rated_thanks"))
        expect(card.locator(".rated")).to_have_text(zh("family.rated", score=4))
        with httpx.Client(base_url=stack.url, headers=headers, timeout=10) as coord:
            rated = coord.get(f"/api/v1/tickets/{ticket['id']}").json()["ratings"]
        assert [(r["rater"], r["score"], r["via"]) for r in rated if r["rater"] == "family"] == [
            ("family", 4, "api")
        ]

        # The report link opens the report in her language.
        page.goto(f"{stack.url}{href}")
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
        expect(page.locator("body")).to_contain_text("Mrs Lin Mei")
        assert errors == []
    finally:
        context.close()


def test_a_visitor_without_a_token_is_asked_for_one_in_their_language(
    browser: Any, stack: Stack
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{stack.url}/family/")
        expect(page.locator("#signin")).to_be_visible(timeout=10_000)
        expect(page.locator("#signin h1")).to_have_text(
            translate("zh-Hans", "family.signin_heading")
        )
        page.locator("#token").fill("clt_not-a-real-token")
        page.locator("#token-form button").click()
        expect(page.locator("#status")).to_have_text(translate("zh-Hans", "family.signin_failed"))
        expect(page.locator("#home")).to_be_hidden()
    finally:
        context.close()


def test_a_son_sees_his_fathers_missed_pills_and_says_he_will_handle_them(
    browser: Any, stack: Stack
) -> None:
    """A missed care-plan item the family was e-mailed about shows on the family page, in
    English; "I'll handle it" stands the care team down (alerts/family.py)."""
    site = stack.site
    pills = Expectation(name="evening pills", event="medication_taken", at="20:00")
    profile = CareProfile(expectations=(pills,), family=(FamilyContact(email="son@example.org"),))
    stack.directory.set_care_profile(site, "r2", profile)
    stack.directory.set_consent(Consent(site, "r2", notify_family=True, updated_by="test"))
    assert stack.alerts.follow_people(force=True)
    opens = int(time.time() * 1000) // 86_400_000 * 86_400_000 + 20 * 3_600_000
    stack.publish_need(
        NeedMessage(
            id=f"r2:missed_care_plan:{opens}", site=site, resident="r2", kind="missed_care_plan",
            tier="general", state="open", ts=opens + 3_600_000, onset=opens, score=1.0,
            summary="Missed: evening pills", language="en",
            evidence=[Evidence(measure="medication_taken", value=False, rule="plan", ts=opens)],
        )
    )  # fmt: skip
    token = stack.directory.create_token("family", "r2", [site])[0]
    context = browser.new_context(viewport=PHONE, is_mobile=True, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{stack.url}/family/#token={token}")
        card = page.locator("#missed li").first
        expect(card).to_contain_text("evening pills", timeout=20_000)  # read again every 10 s
        card.get_by_role("button", name=translate("en", "family.missed_handle")).click()
        expect(page.locator("#status")).to_have_text(translate("en", "family.missed_handled"))
        expect(card.locator(".rated")).to_have_text(translate("en", "family.missed_handled"))
        assert card.get_by_role("button").count() == 0
        assert errors == []
    finally:
        context.close()
