"""The volunteers' app in headless Chromium at phone size (390x844) against the real stack.

Volunteer v01 reads Traditional Chinese (their profile says zh): they sign in with a
one-time link, a care need published on MQTT arrives on their phone live (no reload), they
accept it in one tap, then hand it over to v02. v02 (English) accepts the handover and
resolves it with a note, which their history shows; v01's list empties by itself. The
installable parts (manifest, service worker) are checked, and a visitor who is not signed in
gets the sign-in form in their browser's language. The screenshot in docs/app.md is taken
here (docs/img/app-zh-Hant.png with CARELOOP_SCREENSHOTS=docs).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from careloop.i18n import translate
from careloop.wire.needs import NeedMessage
from tests.browser.conftest import DOCS_IMG, Stack

pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
from playwright.sync_api import expect  # only once playwright is known present

PHONE = {"width": 390, "height": 844}
SUMMARY = "Fall detected in the bedroom, then no movement for 60 s."


def zh(key: str, **kw: Any) -> str:
    return translate("zh-Hant", key, **kw)


def en(key: str, **kw: Any) -> str:
    return translate("en", key, **kw)


@pytest.fixture(scope="module")
def colleague(stack: Stack) -> str:
    """v02, an English-speaking volunteer, added through the API (so the alert service
    follows it at once), and r1's care profile filled in for the resident card."""
    headers = {"Authorization": f"Bearer {stack.tokens['coordinator']}"}
    made = httpx.post(
        f"{stack.url}/api/v1/volunteers",
        json={"id": "v02", "name": "Sam Reed", "sites": [stack.site], "languages": ["en"]},
        headers=headers, timeout=10,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    resident = stack.directory.resident(stack.site, "r1")
    profile = resident.profile.model_copy(
        update={"room": "房間 12（二樓）", "helps": ("請在她左邊說話，她右耳聽力較弱",)}
    )
    stack.directory.set_care_profile(stack.site, "r1", profile)
    return "v02"


def phone(browser: Any, stack: Stack, volunteer: str | None, locale: str) -> tuple[Any, Any, list]:
    """A phone-sized context, signed in to the app as ``volunteer`` with a one-time link."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, locale=locale
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    if volunteer is None:
        page.goto(f"{stack.url}/app/")
        return context, page, errors
    signin = stack.directory.create_signin(volunteer, lifetime_ms=60_000, max_recent=100)
    page.goto(f"{stack.url}/app/#signin={signin.link}")
    expect(page.locator("#home")).to_be_visible(timeout=10_000)
    assert "signin" not in page.url  # the one-time link is wiped from the address bar
    return context, page, errors


def fall_need(stack: Stack) -> NeedMessage:
    now = int(time.time() * 1000)
    return NeedMessage(
        id=f"r1:fall:{now}", site=stack.site, resident="r1", kind="fall", tier="emergency",
        ts=now, onset=now - 60_000, score=1.0, summary=SUMMARY, language="zh",
    )  # fmt: skip


def test_app_is_installable_and_signs_in_in_the_browsers_language(browser, stack: Stack):
    manifest = httpx.get(f"{stack.url}/app/manifest.webmanifest", timeout=10)
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    data = json.loads(manifest.text)
    assert data["display"] == "standalone" and data["start_url"] == "/app/"
    assert {i["sizes"] for i in data["icons"]} == {"192x192", "512x512"}
    for icon in data["icons"]:
        assert httpx.get(stack.url + icon["src"], timeout=10).content[:4] == b"\x89PNG"
    worker = httpx.get(f"{stack.url}/app/sw.js", timeout=10)
    assert worker.headers["service-worker-allowed"] == "/app/"
    assert "showNotification" in worker.text
    context, page, errors = phone(browser, stack, None, "zh-CN")
    try:
        expect(page.locator("#signin h1")).to_have_text(
            translate("zh-Hans", "app.signin_heading"), timeout=10_000
        )
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        page.fill("#email", "nobody@example.org")
        page.get_by_role("button", name=translate("zh-Hans", "app.send_link")).click()
        # This stack has no SMTP server: the app says so in the visitor's language.
        expect(page.locator("#status")).to_have_text(translate("zh-Hans", "app.signin_unavailable"))
        assert errors == []
    finally:
        context.close()


def test_page_arrives_live_accept_hand_over_resolve_with_a_note(
    browser, stack: Stack, colleague: str
):
    ctx1, v01, errors1 = phone(browser, stack, "v01", "en-GB")  # the profile's zh wins
    ctx2 = None
    try:
        expect(v01.locator("html")).to_have_attribute("lang", "zh-Hant")
        expect(v01.locator("#hello")).to_have_text(zh("app.hello", name="Vera Okafor"))
        expect(v01.locator("#live")).to_have_attribute("data-state", "on", timeout=10_000)
        expect(v01.locator("#no-alerts")).to_be_visible()
        v01.evaluate("window.__sameDocument = true")  # gone if the page reloads

        stack.publish_need(fall_need(stack))
        card = v01.locator("li.card")
        expect(card).to_have_count(1, timeout=10_000)
        assert v01.evaluate("window.__sameDocument === true"), "the app reloaded"
        expect(card).to_have_attribute("data-tier", "emergency")
        expect(card.locator(".tier")).to_have_text(zh("tier.emergency"))
        expect(card.locator("h2")).to_have_text(zh("need.fall"))
        expect(card.locator(".summary")).to_have_text(SUMMARY)
        expect(card.locator(".resident .who")).to_have_text("Mrs Lin Mei")
        expect(card.locator(".resident")).to_contain_text(zh("app.room", room="房間 12（二樓）"))
        expect(card.locator(".helps li")).to_have_text("請在她左邊說話，她右耳聽力較弱")
        expect(card.locator(".state")).to_have_text(zh("app.state_paged"))

        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        v01.screenshot(path=str(DOCS_IMG / "app-zh-Hant.png"), animations="disabled")

        card.get_by_role("button", name=zh("app.action_accept"), exact=True).click()
        expect(v01.locator("#status")).to_have_text(zh("app.done_accept"), timeout=10_000)
        expect(card.locator(".state")).to_have_text(zh("app.state_mine"))
        alert_id = card.get_attribute("data-alert")

        card.locator("select").select_option("v02")
        card.get_by_role("button", name=zh("app.action_handover")).click()
        expect(v01.locator("#status")).to_have_text(
            zh("app.done_handover", name="Sam Reed"), timeout=10_000
        )

        ctx2, v02, errors2 = phone(browser, stack, "v02", "en-GB")
        offered = v02.locator(f'li.card[data-alert="{alert_id}"]')
        expect(offered.locator(".state")).to_have_text(
            en("app.state_offered", owner="v01"), timeout=10_000
        )
        offered.get_by_role("button", name="Accept", exact=True).click()
        expect(offered.locator(".state")).to_have_text(en("app.state_mine"), timeout=10_000)
        expect(v01.locator("li.card")).to_have_count(0, timeout=10_000)  # live on v01's phone

        offered.get_by_label(en("app.note_label")).fill(
            "Helped her up; no injury, daughter called."
        )
        offered.get_by_role("button", name="Resolve").click()
        expect(v02.locator("#status")).to_have_text(en("app.done_resolve"), timeout=10_000)
        expect(v02.locator("li.card")).to_have_count(0)
        v02.get_by_role("tab", name=en("app.tab_history")).click()
        past = v02.locator(f'#history li.card[data-alert="{alert_id}"]')
        expect(past.locator(".outcome")).to_have_text(en("app.outcome_resolved"), timeout=10_000)
        expect(past.locator(".note")).to_have_text(
            en("app.your_note", note="Helped her up; no injury, daughter called.")
        )
        assert errors1 == [] and errors2 == []
    finally:
        ctx1.close()
        if ctx2 is not None:
            ctx2.close()
