"""Every word careloop shows or says to a person, in that person's language and script.

User-visible text lives in message catalogs, never in code: one JSON file per locale in
``careloop/i18n/catalogs/``, keyed by BCP 47 tag (``en``, ``zh-Hant``, ``zh-Hans``), each a
table of ``"domain.key": "text with {placeholders}"``. A message whose wording depends on a
number is a table of plural categories (``{"one": ..., "other": ...}``) chosen by the
``count`` parameter with CLDR's rules (Chinese has only ``other``). ``tests/test_i18n.py``
fails when a key of the English catalog is missing from another locale or its placeholders
differ, so no string ships untranslated.

Which locale a person gets (:func:`resolve_locale`): their profile's language first (a
resident's, a volunteer's), else the browser's ``Accept-Language``, else English. Chinese
without a script or region is read as Traditional (``zh-Hant``): careloop's residents write
and speak Traditional Chinese first (Taiwan, Hong Kong); ``zh-CN``/``zh-SG``/``zh-Hans``
get Simplified. Dates, times and numbers are formatted for the locale by Babel (CLDR).

Public surface::

    LOCALES, DEFAULT_LOCALE        the locales with a catalog
    resolve_locale(...)            profile language, Accept-Language -> a locale
    translate(locale, key, **kw)   one message (``_`` is :class:`Translator`'s call)
    Translator(locale)             bound to a locale, with format_datetime/number
    catalog(locale)                the whole table (the dashboard's scripts get it as JSON)

A need's summary (``summary.*`` keys, written once by the scorer, read in each reader's
locale) is rendered by :mod:`careloop.i18n.summary`.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_datetime as _babel_datetime
from babel.dates import format_skeleton as _babel_skeleton
from babel.numbers import format_decimal

from careloop.errors import CareloopError

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "MissingMessage",
    "Translator",
    "catalog",
    "placeholders",
    "resolve_locale",
    "translate",
]

LOCALES: tuple[str, ...] = ("en", "zh-Hant", "zh-Hans")
DEFAULT_LOCALE = "en"
CATALOGS = Path(__file__).with_name("catalogs")
#: Regions and scripts that read Simplified Chinese; any other Chinese reads Traditional.
_SIMPLIFIED = {"hans", "cn", "sg", "my"}


class MissingMessage(CareloopError):
    """A key that no catalog holds: a programming error, raised loudly in tests."""


@cache
def catalog(locale: str) -> Mapping[str, Any]:
    """The catalog of ``locale`` (one of :data:`LOCALES`), read once."""
    if locale not in LOCALES:
        raise MissingMessage(f"no catalog for locale {locale!r}")
    with (CATALOGS / f"{locale}.json").open(encoding="utf-8") as fh:
        table: dict[str, Any] = json.load(fh)
    return table


def _match(tag: str) -> str | None:
    """The locale for one language tag (``zh-TW``, ``zh_Hant``, ``en-GB``...), or None."""
    parts = tag.strip().replace("_", "-").lower().split("-")
    if not parts or not parts[0]:
        return None
    if parts[0] == "zh":
        return "zh-Hans" if _SIMPLIFIED & set(parts[1:]) else "zh-Hant"
    if parts[0] == "en":
        return "en"
    return None


def _accepted(header: str) -> list[str]:
    """``Accept-Language`` tags, best first (``q=0`` dropped; malformed weights are 0)."""
    ranked: list[tuple[float, int, str]] = []
    for n, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and weight > 0:
            ranked.append((-weight, n, tag))
    return [tag for _, _, tag in sorted(ranked)]


def resolve_locale(language: str | None = None, accept_language: str | None = None) -> str:
    """The locale to speak to someone in: their profile's ``language`` if careloop has it,
    else the best of their browser's ``accept_language`` it has, else English."""
    if language and (found := _match(language)):
        return found
    for tag in _accepted(accept_language or ""):
        if found := _match(tag):
            return found
    return DEFAULT_LOCALE


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a message text uses."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _plural(locale: str, message: Mapping[str, str], count: Any) -> str:
    category = Locale.parse(locale.replace("-", "_")).plural_form(abs(count))
    return message.get(category) or message["other"]


def translate(locale: str, key: str, **params: Any) -> str:
    """The message ``key`` in ``locale`` (English where that locale lacks it), filled in."""
    message = catalog(locale if locale in LOCALES else DEFAULT_LOCALE).get(key)
    if message is None:
        message = catalog(DEFAULT_LOCALE).get(key)
    if message is None:
        raise MissingMessage(f"no message {key!r}")
    if isinstance(message, Mapping):
        message = _plural(locale, message, params.get("count", 0))
    return str(message).format_map(params)


class Translator:
    """Messages and formats for one locale: ``t = Translator("zh-Hant"); t("alerts.x")``."""

    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in LOCALES else DEFAULT_LOCALE
        self._babel = Locale.parse(self.locale.replace("-", "_"))

    def __call__(self, key: str, **params: Any) -> str:
        return translate(self.locale, key, **params)

    def format_datetime(self, when: datetime, tz: tzinfo | None = None, fmt: str = "medium") -> str:
        """``when`` as people of this locale write a date and time (in ``tz`` if given)."""
        return str(_babel_datetime(when, fmt, tzinfo=tz, locale=self._babel))

    def format_skeleton(self, skeleton: str, when: date | datetime) -> str:
        """``when`` in the locale's best pattern for a CLDR skeleton (``MMMEd``: "Mon, Jan 5",
        "1月5日 週一"), for short labels such as a chart's days."""
        return str(_babel_skeleton(skeleton, when, locale=self._babel))

    def format_number(self, value: float, digits: int = 1) -> str:
        """``value`` with this locale's separators, at most ``digits`` decimals."""
        pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
        return str(format_decimal(value, format=pattern, locale=self._babel))
