"""A need's summary reaches each volunteer in their own language: the scorer writes it once
as catalog text (key and arguments), the alert keeps it, the e-mail renders it in the
volunteer's locale; a need without a key (an older scorer) still shows its English summary.
A real rule raises the need (a fall through the scoring engine), a real SMTP server
(aiosmtpd) receives the mail, on both store backends."""

from __future__ import annotations

from careloop.wire.needs import NeedMessage
from models.runtime import ScoringEngine, encode_readings
from tests.alerts.conftest import T0, need
from tests.alerts.test_channels import mail_one_page

S = 1000
ZH_FALL = "偵測到跌倒（信心度 0.90），之後 60 秒都沒有動靜：沒有步伐、沒有直立姿勢、沒有用力。"
EN_FALL = (
    "Fall detected (confidence 0.90) and no movement for 60 s since: no steps, no upright "
    "posture, no exertion."
)


def _fall(site: str) -> NeedMessage:
    """A fall event, then lying still for a minute: the engine's ``fall`` need."""
    engine = ScoringEngine()
    slot = engine.slot(site, "r1")
    still = {"heart_rate": 72.0, "spo2": 97.0, "respiration_rate": 15.0, "posture": "lying",
             "activity": 1.0, "steps": 0, "bed_occupied": False, "room_motion": False}  # fmt: skip
    engine.score_event(slot, {"ts": T0, "type": "fall_detected", "confidence": 0.9})
    needs: list[NeedMessage] = []
    for k in range(1, 8):
        needs += engine.score_vitals(encode_readings([slot], [{**still, "ts": T0 + k * 10 * S}]))
    [fall] = [n for n in needs if n.kind == "fall"]
    return fall


def test_the_engine_writes_a_fall_once_as_catalog_text() -> None:
    fall = _fall("home")
    assert fall.summary_key == "summary.fall"
    assert fall.summary == EN_FALL  # the English summary is the English catalog's
    assert fall.summary_args == {
        "what_msg": "summary.fall_what.event", "how_msg": "summary.fall_how.still",
        "conf": 0.9, "secs": 60,
    }  # fmt: skip


def _mail_of(start_service, apps, site: str, message: NeedMessage, languages: list[str]):
    page, _rcpt, mail = mail_one_page(start_service, apps, site, message, languages)
    return page, mail.get_content()


def test_a_zh_volunteer_reads_the_engine_s_fall_in_traditional_chinese(start_service, apps, site):
    fall = _fall(site)
    page, body = _mail_of(start_service, apps, site, fall, ["zh-TW", "en"])
    assert ZH_FALL in body
    assert EN_FALL not in body
    # the app gets the English summary and the catalog text, to render it itself
    assert page.summary == EN_FALL
    assert (page.summary_key, page.summary_args) == (fall.summary_key, fall.summary_args)


def test_an_english_volunteer_reads_the_same_fall_in_english(start_service, apps, site):
    _page, body = _mail_of(start_service, apps, site, _fall(site), ["en"])
    assert EN_FALL in body


def test_a_need_without_a_key_shows_its_english_summary(start_service, apps, site):
    old = need(site, kind="fall").model_copy(update={"summary": "Fall and no movement."})
    page, body = _mail_of(start_service, apps, site, old, ["zh-TW"])
    assert "Fall and no movement." in body
    assert page.summary_key is None and page.summary_args is None
