"""A need's summary as catalog text: written once by the scorer, read in the reader's language.

A need carries its explanation twice: ``summary``, English, for old readers and logs, and
``summary_key`` + ``summary_args`` (``careloop.wire.needs``), a key of the ``summary.``
domain of the catalogs and its few, short arguments (numbers, times, identifiers, never the
resident's words). The scorer makes the English text *from* the English catalog
(:func:`render_summary` with ``en``), so there is one wording per language, and each reader
(the volunteer's e-mail, the app, the dashboard) renders the same key in their own locale.

Three conventions let a message be built of parts without free text on the wire:

* an argument named ``*_msg`` holds another ``summary.`` key, rendered with the same
  arguments and filled in as that placeholder ("Fall detected ({conf})" inside the fall);
* ``parts`` is a comma-separated list of ``kind:item`` (``vital_usual:spo2``): each part is
  the message ``summary.part.<kind>`` with ``name`` the message ``summary.name.<item>`` and
  ``unit`` the message ``summary.unit.<item>`` if there is one, and every argument
  ``<item>_<x>`` passed as ``x``; the parts are joined with the locale's
  ``summary.join``;
* ``also`` is a comma-separated list of need kinds merged into this need, appended as
  ``summary.also`` with their names (``need.<kind>``).

Whatever does not render (an unknown key, a missing or mistyped argument: a newer or broken
producer) falls back to the English ``summary`` the message carried, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from careloop.i18n import DEFAULT_LOCALE, MissingMessage, catalog, translate
from careloop.wire.needs import ARG_NAME, SUMMARY_KEY

__all__ = ["ARG_NAME", "SUMMARY_KEY", "SummaryArgs", "render_summary"]

SummaryArgs = Mapping[str, str | int | float]

_KEY = re.compile(SUMMARY_KEY)
_TOKEN = re.compile(r"^[a-z0-9_]{1,40}$")


def _sub(locale: str, key: object, args: SummaryArgs) -> str:
    if not isinstance(key, str) or not _KEY.match(key):
        raise MissingMessage(f"not a summary key: {key!r}")
    return translate(locale, key, **args)


def _parts(locale: str, listing: str, args: SummaryArgs) -> str:
    out = []
    for token in filter(None, listing.split(",")):
        kind, _, item = token.partition(":")
        if not (_TOKEN.match(kind) and _TOKEN.match(item)):
            raise MissingMessage(f"not a part: {token!r}")
        prefix = f"{item}_"
        own = {k[len(prefix) :]: v for k, v in args.items() if k.startswith(prefix)}
        own["name"] = translate(locale, f"summary.name.{item}")
        if f"summary.unit.{item}" in catalog(DEFAULT_LOCALE):
            own["unit"] = translate(locale, f"summary.unit.{item}")
        out.append(translate(locale, f"summary.part.{kind}", **own))
    return translate(locale, "summary.join").join(out)


def _render(locale: str, key: str, args: SummaryArgs) -> str:
    params: dict[str, object] = dict(args)
    for name, value in args.items():
        if name.endswith("_msg"):
            params[name] = _sub(locale, value, args)
    if "parts" in args:
        params["parts"] = _parts(locale, str(args["parts"]), args)
    text = _sub(locale, key, params)  # type: ignore[arg-type]
    also = str(args.get("also") or "")
    if also:
        names = translate(locale, "summary.join").join(
            translate(locale, f"need.{kind}") for kind in also.split(",")
        )
        text += translate(locale, "summary.also", what=names)
    return text


def render_summary(
    locale: str, key: str | None, args: SummaryArgs | None, fallback: str = ""
) -> str:
    """The summary ``key`` with ``args`` in ``locale``; ``fallback`` (the English summary the
    need carried) when there is no key or it does not render."""
    if not key:
        return fallback
    try:
        return _render(locale, key, args or {})
    except (MissingMessage, KeyError, ValueError, IndexError, TypeError):
        return fallback
