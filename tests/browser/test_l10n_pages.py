"""The alert board and the SLA page speak the coordinator's language (c01's profile speaks zh
first: Traditional Chinese), and the signed-out pages (sign-in, public board) speak the
browser's (GET /api/v1/messages answers anonymous callers by Accept-Language). Checked in
headless Chromium: headings and labels come from the catalogs and none of the English labels
the pages used to hard-code is left visible."""

from __future__ import annotations

import re

import pytest

from careloop.i18n import translate
from tests.browser.conftest import Stack
from tests.browser.test_dashboard import need, sign_in

pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
from playwright.sync_api import expect  # only once playwright is known present

LANG = "zh-Hant"
#: English the board and the SLA page showed before they took their words from the catalogs.
ENGLISH = [
    "Open alerts", "Alert board", "Residents", "Tickets", "Public board", "Log out",
    "All my sites", "All tiers", "Acting as volunteer", "nobody yet", "Respond by", "State",
    "Owner", "Accept", "Decline", "How fast needs were answered", "Refresh", "Figures per tier",
    "Deadlines missed", "median", "No alerts yet", "Skip to content",
]  # fmt: skip


def _english_left(page) -> list[str]:
    """The English labels still visible on the page (whole words, case-sensitive)."""
    text = page.locator("body").inner_text()
    return [w for w in ENGLISH if re.search(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", text)]


def test_board_and_sla_speak_traditional_chinese(browser, stack: Stack) -> None:
    stack.publish_need(need(stack, "r1", "fall", "emergency", "Fall in the bedroom."))
    context, page, errors = sign_in(browser, stack, "coordinator", then="/board")
    try:
        expect(page.locator("h1")).to_have_text(translate(LANG, "board.title"), timeout=10_000)
        expect(page.locator("html")).to_have_attribute("lang", LANG)
        card = page.locator("li.alert", has_text=translate(LANG, "need.fall"))
        expect(card).to_have_count(1, timeout=10_000)
        expect(card.locator(".tier")).to_have_text(translate(LANG, "tier.emergency"))
        expect(card.locator(".owner")).to_have_text(translate(LANG, "board.nobody"))
        expect(card).to_contain_text(translate(LANG, "board.respond_by"))
        expect(card.locator("[data-action=accept]")).to_have_text(
            translate(LANG, "board.action.accept")
        )
        expect(page.locator("#live")).to_have_text(translate(LANG, "home.live"), timeout=10_000)
        nav = page.get_by_role("navigation")
        expect(nav).to_contain_text(translate(LANG, "home.nav.home"))
        expect(nav).to_contain_text(translate(LANG, "home.nav.tickets"))
        expect(page.locator("#tier option[value=emergency]")).to_have_text(
            translate(LANG, "tier.emergency")
        )
        assert _english_left(page) == []
        assert page.title().startswith(translate(LANG, "board.title"))

        page.goto(f"{stack.url}/sla")
        expect(page.locator("h1")).to_have_text(translate(LANG, "sla.title"), timeout=10_000)
        expect(page.locator("#refresh")).to_have_text(translate(LANG, "sla.refresh"))
        table = page.locator("#sla table")
        expect(table.locator("caption")).to_have_text(translate(LANG, "sla.caption"))
        expect(table.locator("thead")).to_contain_text(translate(LANG, "sla.col.accept_p50"))
        expect(table.locator("tbody th").first).to_have_text(translate(LANG, "tier.emergency"))
        expect(page.locator("#sla figure").first).to_contain_text(translate(LANG, "sla.median"))
        assert _english_left(page) == []
        assert errors == []
    finally:
        context.close()


def test_signed_out_pages_speak_the_browsers_language(browser, stack: Stack) -> None:
    context = browser.new_context(locale="zh-CN")  # Accept-Language: zh-CN: Simplified
    page = context.new_page()
    try:
        page.goto(f"{stack.url}/login")
        expect(page.locator("h1")).to_have_text(translate("zh-Hans", "login.title"))
        expect(page.locator("#login button")).to_have_text(translate("zh-Hans", "login.submit"))
        page.goto(f"{stack.url}/public")
        expect(page.locator("h1")).to_have_text(translate("zh-Hans", "public.title"))
        expect(page.locator("#recent-h")).to_have_text(translate("zh-Hans", "public.by_group"))
    finally:
        context.close()
