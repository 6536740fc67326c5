"""The login page in headless Chromium against the real stack: where it sends you after
signing in, and what a token link may do without asking."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from careloop.i18n import translate
from tests.browser.conftest import Stack

pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
from playwright.sync_api import expect  # only once playwright is known present

#: ?next= values that a "starts with / but not //" check lets through or that name another
#: origin outright; the URL parser resolves each to evil.example or a non-http scheme.
HOSTILE_NEXT = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\\evil.example",
    "/\t\\evil.example/board",
    "//evil.example",
    "https://evil.example/board",
    "javascript:alert(document.domain)",
]


def session_of(page) -> dict:
    """Who the page's cookie signs in, as the API says (fetched from inside the page)."""
    return page.evaluate(
        "async () => (await fetch('/api/v1/session', {credentials: 'same-origin'})).json()"
    )


def has_session_cookie(context) -> bool:
    return any(c["name"] == "careloop_token" for c in context.cookies())


def sign_in_with_form(page, stack: Stack, role: str, next_value: str | None) -> None:
    query = "" if next_value is None else f"?next={quote(next_value, safe='')}"
    page.goto(f"{stack.url}/login{query}")
    page.get_by_label("API token").fill(stack.tokens[role])
    page.get_by_role("button", name="Sign in", exact=True).click()


@pytest.mark.parametrize("next_value", HOSTILE_NEXT)
def test_next_never_leaves_this_origin(browser, stack: Stack, next_value: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        sign_in_with_form(page, stack, "coordinator", next_value)
        page.wait_for_url(f"{stack.url}/board", timeout=10_000)
    finally:
        context.close()


def test_next_within_this_origin_is_kept(browser, stack: Stack) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        sign_in_with_form(page, stack, "coordinator", "/sla?x=1")
        page.wait_for_url(f"{stack.url}/sla?x=1", timeout=10_000)
    finally:
        context.close()


def test_a_token_link_asks_before_signing_in(browser, stack: Stack) -> None:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{stack.url}/login?next=/sla#token={stack.tokens['volunteer']}")
        question = page.locator("#confirm-question")
        expect(question).to_have_text(f"Sign in as volunteer v01 ({stack.site})?")
        assert "token" not in page.url  # wiped before anything else
        page.wait_for_timeout(300)  # give a silent sign-in the time it would need
        assert not has_session_cookie(context)
        assert session_of(page)["role"] == "public"
        page.get_by_role("button", name="Sign in as volunteer v01").click()
        page.wait_for_url(f"{stack.url}/sla", timeout=10_000)
        assert session_of(page) == {"role": "volunteer", "subject": "v01", "sites": [stack.site]}
        assert not errors, errors
    finally:
        context.close()


def test_a_token_link_never_replaces_a_session_unasked(browser, stack: Stack) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        sign_in_with_form(page, stack, "coordinator", None)
        page.wait_for_url(f"{stack.url}/board", timeout=10_000)
        page.goto(f"{stack.url}/login#token={stack.tokens['volunteer']}")
        # signed in, the page speaks the coordinator's language (zh first: Traditional Chinese)
        zh = "zh-Hant"
        who = translate(zh, "login.who", role="coordinator", subject="c01", sites=stack.site)
        expect(page.locator("#confirm-current")).to_have_text(
            translate(zh, "login.current", who=who)
        )
        page.wait_for_timeout(300)
        assert session_of(page)["subject"] == "c01"
        page.get_by_role("button", name=translate(zh, "login.cancel")).click()
        expect(page.locator("#status")).to_have_text(translate(zh, "login.declined"))
        expect(page.locator("#confirm")).to_be_hidden()
        assert session_of(page)["subject"] == "c01"  # the coordinator is still signed in
    finally:
        context.close()


def test_a_bad_token_link_signs_nobody_in(browser, stack: Stack) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{stack.url}/login#token=clt_not-a-real-token")
        expect(page.locator("#status")).to_have_text("That token was not accepted.")
        expect(page.locator("#confirm")).to_be_hidden()
        assert not has_session_cookie(context)
    finally:
        context.close()


def test_logging_out_from_the_board_works(browser, stack: Stack) -> None:
    """The dashboard's own writes carry its Origin and pass the API's cross-site check."""
    context = browser.new_context()
    page = context.new_page()
    try:
        sign_in_with_form(page, stack, "volunteer", None)
        page.wait_for_url(f"{stack.url}/board", timeout=10_000)
        # the button is wired once the header knows who is signed in
        expect(page.locator("#who")).to_contain_text("v01", timeout=10_000)
        # the board speaks v01's language (zh first in the profile): Traditional Chinese
        page.get_by_role("button", name=translate("zh-Hant", "home.logout")).click()
        page.wait_for_url(f"{stack.url}/login", timeout=10_000)
        assert session_of(page)["role"] == "public"
    finally:
        context.close()
