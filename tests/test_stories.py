"""Stories end to end on the real broker: a resident's voice device publishes utterances, the
scorer (``ScoreService``) turns them into needs, the alert service pages volunteers' apps,
replies come back over MQTT, and the resident's device is told what happens - in their
language and script (docs/stories.md). Time in the alert service is a ManualClock, so the
30 s deadline is asserted as a deadline, never timed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts import ManualClock
from careloop.i18n import translate
from devservers import Mosquitto
from tests.alerts.conftest import T0, Apps, Running, alert_settings, make_roster
from tests.helpers.mqtt import MqttTestClient
from tests.runtime.conftest import Device, Needs, Scorer, score_settings

MIN = 60_000


@pytest.fixture
def site(unique_topic_root: str) -> str:
    return unique_topic_root


@pytest.fixture
def home(mosquitto: Mosquitto, tmp_path: Path, site: str) -> Iterator[tuple[Running, Scorer]]:
    """The alert service and the scorer on one people database: r1 (zh, Taiwan) prefers
    volunteer v07, whom she knows; r2 speaks English."""
    roster = make_roster(site)
    roster["residents"][0]["preferred_volunteers"] = ["v07"]
    clock = ManualClock(T0)
    alerts = Running(alert_settings(mosquitto, tmp_path, site), clock, roster, None)
    scorer = Scorer(score_settings(mosquitto, tmp_path, registry=tmp_path / "people.sqlite3",
                                   sites=site))  # fmt: skip
    yield alerts, scorer
    scorer.stop()
    alerts.stop()


@pytest.fixture
def apps(mosquitto: Mosquitto, site: str) -> Iterator[Apps]:
    a = Apps(mosquitto, site)
    yield a
    a.close()


@pytest.fixture
def publisher(mosquitto: Mosquitto) -> Iterator[MqttTestClient]:
    with MqttTestClient(mosquitto.host, mosquitto.port) as client:
        yield client


def _utterance(ts: int, text: str | None = None, **voice: float) -> dict[str, object]:
    u: dict[str, object] = {"ts": ts, "language": "zh-TW", "speech_rate": 3.5,
                            "pitch_hz": 180.0, "energy_db": -30.0, "duration_s": 2.0}  # fmt: skip
    u.update(voice)
    if text is not None:
        u["text"] = text
    return u


def test_one_sentence_of_loneliness_is_answered(home, apps, publisher, mosquitto, site):
    alerts, _scorer = home
    needs = Needs(mosquitto, site)
    r1 = Device(publisher, site, "r1", None)  # registered by the roster
    r1.send("utterance", _utterance(T0, "天氣悶熱"))  # weather, not a feeling: nothing
    r1.send("utterance", _utterance(T0 + MIN, "今天有點悶"))
    need = needs.wait(lambda n: n.kind == "low_mood")
    assert (need.resident, need.tier, need.state, need.onset) == ("r1", "emotional", "open",
                                                                  T0 + MIN)  # fmt: skip
    needs.close()

    # the preferred volunteer is paged first, with the 5-minute respond deadline
    page = apps.wait(lambda x: x.type == "page")[0]
    alert = alerts.alert(page.alert)
    assert alert.kind == "low_mood" and alert.respond_due_ms == alert.opened_ms + 5 * MIN
    apps.wait(lambda x: x.type == "page", n=2)
    paged = [e.detail["volunteer"] for e in alerts.audit(alert.id, "page")]
    assert paged[0] == "v07" and len(paged) == 2
    # ... and the resident hears at once, in Traditional Chinese, that someone will come
    apps.drain(0.3)
    assert apps.commands[0]["text"] == translate("zh-Hant", "device.someone_will_come_or_call")
    assert apps.commands[0]["language"] == "zh-Hant"

    # a second sentence updates the same alert; it does not page again
    r1.send("utterance", _utterance(T0 + 3 * MIN, "一個人待著好孤單"))
    _wait(lambda: alerts.alert(alert.id).evidence >= 2)
    assert len(alerts.reader.alerts()) == 1

    apps.reply("v07", alert.id, "accept")
    apps.wait(lambda x: x.type == "accepted" and x.volunteer == "v07")
    apps.drain(0.3)
    assert apps.commands[-1]["text"] == translate("zh-Hant", "device.help_on_the_way")
    apps.reply("v07", alert.id, "resolve")
    _wait(lambda: alerts.alert(alert.id).state == "resolved")
    # ... and her device asks, in her language, whether the help was good; she answers
    question = translate("zh-Hant", "device.rating_question")
    _wait(lambda: apps.drain(0.05) or any(c.get("text") == question for c in apps.commands))
    r1.send("utterance", _utterance(T0 + 4 * MIN, "很好"))
    thanks = translate("zh-Hant", "device.rating_thanks")
    _wait(lambda: apps.drain(0.05) or any(c.get("text") == thanks for c in apps.commands))
    actions = [e.action for e in alerts.audit(alert.id)]
    assert actions[:1] == ["open"] and "resolved" in actions
    assert actions[actions.index("resolved") :] == ["resolved", "rating_asked", "rated"]
    assert actions.count("resident_told") == 2  # at the opening and at the accept
    rows = alerts.reader.db.execute("SELECT kind, tier, volunteer, score FROM ratings").fetchall()
    assert rows == [("low_mood", "emotional", "v07", 5)]


def test_an_agitated_exchange_is_handed_to_a_person(home, apps, publisher, mosquitto, site):
    alerts, _scorer = home
    needs = Needs(mosquitto, site)
    r2 = Device(publisher, site, "r2", None)
    for k in range(25):  # her usual voice, no text (no consent): the baseline
        r2.send("utterance", _utterance(T0 + k * 10 * MIN, speech_rate=3.4 + (k % 3) * 0.1,
                                        language="en"))  # fmt: skip
    r2.send("utterance", _utterance(T0 + 300 * MIN, speech_rate=5.8, energy_db=-23.0,
                                    pitch_hz=210.0, language="en"))  # fmt: skip
    need = needs.wait(lambda n: n.kind == "agitation")
    assert (need.resident, need.state, need.onset) == ("r2", "open", T0 + 300 * MIN)
    needs.close()

    pages = apps.wait(lambda x: x.type == "page", n=3)
    alert = alerts.alert(pages[0].alert)
    assert alert.kind == "agitation"
    assert alert.respond_due_ms - alert.opened_ms == 30_000  # the product deadline
    assert {p.deadline for p in pages} == {alert.respond_due_ms}
    apps.drain(0.3)
    assert apps.commands[0]["text"] == translate("en", "device.person_joining")

    # silence: after the 10 s step the chain pages the next volunteers
    alerts.advance(11)
    apps.wait(lambda x: x.type == "page", n=6)
    assert [e.action for e in alerts.audit(alert.id, "escalate")] == ["escalate"]


def _wait(pred, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)
