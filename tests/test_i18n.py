"""Every user-visible message exists in every locale, with the same placeholders; people get
their own language and script; dates and numbers are written as their locale writes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from careloop.i18n import (
    LOCALES,
    MissingMessage,
    Translator,
    catalog,
    placeholders,
    resolve_locale,
    translate,
)
from careloop.wire.alerts import NOTIFICATION_TYPES
from careloop.wire.needs import NEED_KINDS, TIERS


def _texts(message: object) -> list[str]:
    return list(message.values()) if isinstance(message, dict) else [str(message)]


@pytest.mark.parametrize("locale", [loc for loc in LOCALES if loc != "en"])
def test_every_message_is_translated_with_the_same_placeholders(locale: str) -> None:
    english, other = catalog("en"), catalog(locale)
    assert sorted(set(english) - set(other)) == [], f"untranslated in {locale}"
    assert sorted(set(other) - set(english)) == [], f"stale keys in {locale}"
    for key, message in english.items():
        wanted = set().union(*(placeholders(t) for t in _texts(message)))
        for text in _texts(other[key]):
            assert placeholders(text) == wanted, (locale, key, text)
            assert text.strip(), (locale, key)


def test_every_tier_need_kind_and_notification_has_a_name() -> None:
    english = catalog("en")
    wanted = [f"tier.{t}" for t in TIERS] + [f"need.{k}" for k in NEED_KINDS]
    wanted += [f"notification.{n}" for n in NOTIFICATION_TYPES]
    assert [key for key in wanted if key not in english] == []


@pytest.mark.parametrize(
    ("language", "accept", "locale"),
    [
        ("zh", None, "zh-Hant"),  # our residents write Traditional first
        ("zh-TW", None, "zh-Hant"),
        ("zh_HK", None, "zh-Hant"),
        ("zh-Hans", None, "zh-Hans"),
        ("zh-CN", None, "zh-Hans"),
        ("en-GB", "zh-TW", "en"),  # the profile wins over the browser
        (None, "fr-FR, zh-CN;q=0.8, en;q=0.5", "zh-Hans"),
        (None, "fr, en;q=0.9", "en"),
        (None, "zh-TW;q=0, en;q=0.1", "en"),  # q=0 means "not this"
        (None, "zh;q=bogus, en", "en"),
        ("tlh", "", "en"),
        (None, None, "en"),
    ],
)
def test_the_locale_comes_from_the_profile_then_the_browser(language, accept, locale) -> None:
    assert resolve_locale(language, accept) == locale


def test_messages_fill_in_and_fall_back_loudly() -> None:
    assert translate("zh-Hant", "need.fall") == "跌倒"
    assert translate("xx", "need.fall") == "fall"  # an unknown locale speaks English
    with pytest.raises(MissingMessage):
        translate("en", "no.such.key")


def test_dates_and_numbers_are_written_for_the_locale() -> None:
    when = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    assert Translator("en").format_datetime(when) == "Jan 5, 2026, 8:30:00\u202fAM"
    assert Translator("zh-Hant").format_datetime(when) == "2026年1月5日 上午8:30:00"
    assert Translator("zh-Hans").format_datetime(when) == "2026年1月5日 08:30:00"
    assert Translator("en").format_number(12345.678) == "12,345.7"
