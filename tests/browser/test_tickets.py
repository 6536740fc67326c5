"""The dashboard's tickets page in headless Chromium against the real stack: a coordinator
raises a complaint from the form and sees it listed (tier, kind, resident, deadline), takes
it, resolves it with a note, and the list shows it resolved with the note; every label from
the catalogs in the coordinator's language (c01 reads zh first: Traditional Chinese). The
home page shows the monthly satisfaction chart. The screenshot docs/img/dashboard-tickets.png
is taken here."""

from __future__ import annotations

import httpx
import pytest

from careloop.i18n import translate
from tests.browser.conftest import DOCS_IMG, Stack
from tests.browser.test_dashboard import sign_in

pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
from playwright.sync_api import expect  # only once playwright is known present

LANG = "zh-Hant"
SUMMARY = "A carer was rude at breakfast."


def _tickets(stack: Stack) -> list[dict]:
    resp = httpx.get(
        f"{stack.url}/api/v1/tickets",
        headers={"Authorization": f"Bearer {stack.tokens['coordinator']}"},
        timeout=10,
    )
    resp.raise_for_status()
    return resp.json()["items"]


def test_raise_take_and_resolve_a_ticket_from_the_page(browser, stack: Stack) -> None:
    context, page, errors = sign_in(browser, stack, "coordinator", then="/tickets")
    try:
        expect(page.locator("h1")).to_have_text(translate(LANG, "tickets.title"))
        expect(page.locator("html")).to_have_attribute("lang", LANG)
        expect(page.locator("#head")).to_contain_text(translate(LANG, "tickets.col.resolve_by"))
        expect(page.locator("#raise-submit")).to_have_text(translate(LANG, "tickets.submit"))
        resident = page.locator("#raise-resident")
        expect(resident.locator("option")).to_have_count(2)  # r1 and r2 of the stack's site
        before = len(_tickets(stack))

        resident.select_option(f"{stack.site}/r2")
        page.select_option("#raise-kind", "complaint")
        page.fill("#raise-summary", SUMMARY)
        page.click("#raise-submit")
        row = page.locator("#rows tr", has_text=SUMMARY)
        expect(row).to_have_count(1, timeout=10_000)
        made = [k for k in _tickets(stack) if k["summary"] == SUMMARY]
        assert len(_tickets(stack)) == before + 1 and len(made) == 1
        ticket = made[0]
        assert (ticket["kind"], ticket["tier"], ticket["resident"]) == (
            "complaint",
            "important",
            "r2",
        )
        expect(row).to_have_attribute("data-ticket", ticket["id"])
        expect(row.locator('td[data-col="tier"]')).to_have_text(translate(LANG, "tier.important"))
        expect(row.locator('td[data-col="kind"]')).to_have_text(
            translate(LANG, "tickets.kind_complaint")
        )
        expect(row.locator('td[data-col="resident"]')).to_have_text("Mr Arthur Bell")
        expect(row.locator('td[data-col="owner"]')).to_have_text(translate(LANG, "tickets.nobody"))
        expect(page.locator("#status")).to_contain_text(translate(LANG, "tier.important"))

        row.locator("button.take").click()
        expect(row).to_have_attribute("data-state", "accepted", timeout=10_000)
        expect(row.locator('td[data-col="owner"]')).to_have_text("c01")
        expect(row.locator('td[data-col="state"]')).to_have_text(
            translate(LANG, "tickets.state.accepted")
        )
        expect(page.locator("#status")).to_have_text(translate(LANG, "tickets.taken"))

        row.locator("input.note").fill("Spoke with the carer; apology made.")
        row.locator("button.resolve").click()
        expect(row).to_have_attribute("data-state", "resolved", timeout=10_000)
        expect(row).to_contain_text(
            translate(LANG, "tickets.resolution", note="Spoke with the carer; apology made.")
        )
        expect(row.locator("button")).to_have_count(0)  # nothing more to do
        done = next(k for k in _tickets(stack) if k["id"] == ticket["id"])
        assert (done["state"], done["owner"]) == ("resolved", "c01")
        assert done["resolution"] == "Spoke with the carer; apology made."

        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1280, "height": 560})
        page.screenshot(path=str(DOCS_IMG / "dashboard-tickets.png"))
        assert errors == []
    finally:
        context.close()


def test_the_home_page_shows_the_monthly_satisfaction_chart(browser, stack: Stack) -> None:
    context, page, errors = sign_in(browser, stack, "coordinator", then="/home")
    try:
        chart = page.locator("#satisfaction-chart")
        expect(chart).to_have_attribute("alt", translate(LANG, "home.chart_alt"))
        expect(chart).to_have_attribute("src", f"/api/v1/ratings/monthly.svg?lang={LANG}")
        page.wait_for_function(
            "() => document.getElementById('satisfaction-chart').naturalWidth > 0",
            timeout=10_000,
        )  # the SVG loaded under the page's CSP, with the session cookie
        expect(page.locator("figure.satisfaction figcaption")).to_have_text(
            translate(LANG, "home.chart_title")
        )
        assert errors == []
    finally:
        context.close()
