"""Every summary the scorer raises is catalog text in every locale: each ``summary.`` key the
runtime names exists, every message renders with its arguments in en, zh-Hant and zh-Hans
(format specs included), and what does not render falls back to the English summary.
(Missing translations and differing placeholders are tests/test_i18n.py's job.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from careloop.i18n import LOCALES, catalog, placeholders, translate
from careloop.i18n.summary import render_summary
from models.decline import AGGREGATES
from models.runtime.vitals import RED_RULES, RULES
from models.runtime.voicetickets import TICKET_INTENTS

ROOT = Path(__file__).resolve().parents[1]
#: The vitals the vitals and risk explanations name (models/runtime/vitals_explain.py, risk.py).
VITALS_NAMED = ("heart_rate", "spo2", "respiration_rate", "systolic_bp", "diastolic_bp",
                "temperature")  # fmt: skip
SUMMARIES = sorted(k for k in catalog("en") if k.startswith("summary."))


def _named_in_the_runtime() -> set[str]:
    """``"summary.x"`` literals (whole keys) and ``f"summary.x.{...}"`` stems (prefixes)."""
    found: set[str] = set()
    for path in (ROOT / "models" / "runtime").glob("*.py"):
        found |= set(re.findall(r"\"(summary\.[a-z0-9_.]*)", path.read_text(encoding="utf-8")))
    return found


def test_every_key_the_runtime_names_is_in_the_catalog():
    named = _named_in_the_runtime()
    assert len(named) >= 20  # the scan does see the rules
    english = catalog("en")
    for key in named:
        if key.endswith(".") or key.endswith("_"):  # a family: f"summary.fall_how.{how}"
            assert any(k.startswith(key) for k in english), key
        else:
            assert key in english, key


def test_every_key_the_runtime_builds_from_a_name_is_in_the_catalog():
    """The keys made from a rule's, an intent's or a vital's name, one by one."""
    english = catalog("en")
    built = [f"summary.vitals_lead.{r.name}" for r in (*RULES, *RED_RULES)]
    built += [key for _, _, key in TICKET_INTENTS.values()]
    built += [f"summary.{d}.{name}" for d in ("name", "unit") for name in VITALS_NAMED]
    decline = [name for name, *_ in AGGREGATES] + ["joint"]  # DeclineDetector.evidence()
    built += [f"summary.name.{name}" for name in (*decline, "consciousness")]
    assert [key for key in built if key not in english] == []


@pytest.mark.parametrize("locale", LOCALES)
def test_every_summary_renders_with_its_arguments(locale: str):
    for key in SUMMARIES:
        args = {name: 1.5 for name in placeholders(str(catalog("en")[key]))}
        text = translate(locale, key, **args)
        assert text.strip() and "{" not in text, (locale, key, text)


def test_parts_names_units_and_merged_needs_render_per_locale():
    args = {"lead_msg": "summary.vitals_lead.hypoxia", "parts": "vital_usual:spo2",
            "spo2_value": 86.0, "spo2_usual": 95.1, "spo2_sd": 0.9, "minutes": 6,
            "also": "fall"}  # fmt: skip
    assert render_summary("en", "summary.vitals_since", args) == (
        "Low oxygen saturation for 6 min: SpO2 86.0 % (usual at this time of day 95.1 ± 0.9)."
        " Also: fall."
    )
    assert render_summary("zh-Hans", "summary.vitals_since", args) == (
        "血氧饱和度偏低，已持续 6 分钟：血氧 SpO2 86.0 %（这个时段平时为 95.1 ± 0.9）。另有：跌倒。"
    )


@pytest.mark.parametrize(
    ("key", "args"),
    [
        (None, {"secs": 1}),  # an older scorer: no key
        ("summary.no_such_message", {}),  # a newer scorer's key
        ("summary.fall_cleared", {"also": "not_a_kind"}),
        ("summary.inactivity", {"what_msg": "need.fall", "minutes": 3}),  # not a summary key
        ("summary.not_out_of_bed", {"time": "09:40"}),  # arguments missing
        ("summary.ticket.request", {"p": "high"}),  # a string where a number is formatted
        ("summary.slow_decline", {"parts": "decline:Bad Item"}),
    ],
)
def test_what_does_not_render_falls_back_to_the_english_summary(key, args):
    assert render_summary("zh-Hant", key, args, "the English summary") == "the English summary"
