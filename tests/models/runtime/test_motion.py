"""Motion windows through the scorer's intake: posture, fall candidates, getting up.

Windows are synthetic (:mod:`simulators.motion`), the posture model is the shipped artefact,
the device registry a real SQLite people database. Reading time only, no sleeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from careloop.wire import Topic, data_message, encode
from careloop.wire.needs import NeedMessage
from models.runtime.engine import EngineConfig, ScoringEngine
from models.runtime.intake import Intake
from models.runtime.metrics import ScoreMetrics
from models.runtime.motion import device_nbytes
from people import Device, DeviceRegistry
from simulators.motion import motion_window

SITE = "home"
T0 = 1_767_600_000_000  # 2026-01-05 08:00 UTC
WIN = 30_000


class Scorer:
    def __init__(self, tmp_path: Path, posture_model: Path | None = None) -> None:
        self.registry = DeviceRegistry(tmp_path / "people.sqlite3")
        self.registry.add([Device("tag-ann", SITE, "ann"), Device("tag-ben", SITE, "ben")])
        self.engine = ScoringEngine(EngineConfig(auto_tick=False), posture_model=posture_model)
        self.counts = dict.fromkeys(("received", "rejected", "readings"), 0)
        self.metrics = ScoreMetrics()
        self.intake = Intake(
            self.engine, self.registry, self.metrics, self.counts, max_batch_readings=5000,
            max_clock_skew_s=0, on_erase=lambda topic, payload: None,
        )  # fmt: skip
        self.seq = 0

    def windows(self, *acts: str, at: int = T0, device: str = "tag-ann") -> list[NeedMessage]:
        """One message per window, back to back from ``at``, scored as one batch."""
        items = []
        for k, act in enumerate(acts):
            w = motion_window(act, at + k * WIN, seconds=WIN / 1000 - 0.5)  # type: ignore[arg-type]
            items.append(self.message(device, w))
        return self.intake.score(items)

    def message(self, device: str, *readings: dict[str, Any], resident: str = "") -> tuple:
        self.seq += 1
        resident = resident or device.removeprefix("tag-")
        body = data_message(
            "motion", device=device, resident=resident, seq=self.seq,
            ts=max(r["ts"] for r in readings), readings=readings,
        )  # fmt: skip
        return str(Topic(SITE, device, "motion")), encode(body)


def opened(needs: list[NeedMessage]) -> list[tuple[str, str, str]]:
    return [(n.kind, n.tier, n.state) for n in needs]


@pytest.fixture
def scorer(tmp_path: Path) -> Scorer:
    return Scorer(tmp_path)


def test_a_fall_candidate_then_lying_still_is_the_fall_emergency(scorer: Scorer) -> None:
    assert scorer.engine.motion.enabled
    assert scorer.windows("sitting", "walking") == []
    needs = scorer.windows("fall", "lying", "lying", at=T0 + 2 * WIN)
    assert opened(needs) == [("fall", "emergency", "open")]
    fall = needs[0]
    assert "Fall candidate from the worn motion sensor" in fall.summary
    assert fall.evidence[0].measure == "fall_candidate"
    # the impact is a third into the fall window, and the need dates from it
    assert T0 + 2 * WIN < fall.onset < T0 + 2 * WIN + WIN // 2
    # lying for the confirmation time (60 s by default) after the impact, not before
    assert fall.ts - fall.onset >= 60_000
    assert scorer.metrics.scored.labels("motion")._value.get() == 5


def test_a_candidate_then_up_again_is_the_general_check_in(scorer: Scorer) -> None:
    scorer.windows("sitting")
    needs = scorer.windows("fall", "sitting", "walking", at=T0 + WIN)
    assert opened(needs) == [("fall_check_in", "general", "open")]
    assert "then moving again" in needs[0].summary and "no longer lying" in needs[0].summary
    assert needs[0].evidence[0].measure == "fall_candidate"


def test_getting_up_after_the_emergency_clears_it(scorer: Scorer) -> None:
    needs = scorer.windows("sitting", "fall", "lying", "lying", "sitting")
    assert opened(needs) == [
        ("fall", "emergency", "open"),
        ("fall", "emergency", "cleared"),
        ("fall_check_in", "general", "open"),
    ]


def test_one_fall_is_reported_once_while_the_person_lies_still(scorer: Scorer) -> None:
    needs = scorer.windows("sitting", "fall", *["lying"] * 6)
    assert opened(needs) == [("fall", "emergency", "open")]


def test_lying_down_without_an_impact_is_no_fall(scorer: Scorer) -> None:
    needs = scorer.windows("sitting", "walking", "lie_down", "lying", "lying", "lying")
    assert [n for n in needs if n.kind.startswith("fall")] == []


def test_a_redelivered_window_is_not_scored_twice(scorer: Scorer) -> None:
    w = motion_window("sitting", T0)
    needs = scorer.intake.score([scorer.message("tag-ann", w), scorer.message("tag-ann", w)])
    assert needs == []
    assert scorer.engine.motion.scored == 1


def test_two_tags_keep_separate_buffers(scorer: Scorer) -> None:
    scorer.windows("sitting", device="tag-ann")
    scorer.windows("lying", device="tag-ben")
    assert len(scorer.engine.motion.devices) == 2


def test_a_device_cannot_send_motion_for_another_resident(scorer: Scorer) -> None:
    w = motion_window("fall", T0)
    spoof = scorer.message("tag-ben", w, motion_window("lying", T0 + WIN), resident="ann")
    assert scorer.intake.score([spoof]) == []
    assert scorer.metrics.rejected.labels("spoofed")._value.get() == 1
    assert scorer.engine.motion.devices == {} and scorer.counts["readings"] == 0


def test_memory_per_device_is_bounded(scorer: Scorer) -> None:
    # an hour of 4 Hz windows: the buffer keeps only what the features read
    items = [
        scorer.message("tag-ann", motion_window("walking", T0 + k * WIN, rate_hz=4.0))
        for k in range(120)
    ]
    scorer.intake.score(items)
    [dev] = scorer.engine.motion.devices.values()
    assert len(dev.tracker) <= 1024
    assert dev.tracker.state_nbytes <= 1024 * 16
    assert device_nbytes(dev) < 48_000
    # and a device not heard from for ten minutes is dropped at a tick
    scorer.engine.tick(T0 + 120 * WIN + 11 * 60_000)
    assert scorer.engine.motion.devices == {}


def test_without_a_usable_posture_model_the_fall_rule_still_raises_the_fall(
    tmp_path: Path,
) -> None:
    """No posture comes out (nothing for inactivity to read), but the fall rule needs no
    model: a fall then lying still is the emergency, and sitting up again the check-in."""
    broken = tmp_path / "posture.npz"
    broken.write_bytes(b"not a zip file")
    for path in (tmp_path / "missing.npz", broken):
        scorer = Scorer(tmp_path / path.stem, posture_model=path)
        assert not scorer.engine.motion.enabled
        assert scorer.engine.motion.status.startswith("off:")
        needs = scorer.windows("sitting", "fall", "lying", "lying")
        assert opened(needs) == [("fall", "emergency", "open")]
        assert scorer.engine.motion.unscored == 4 and scorer.engine.motion.scored == 0
        up = scorer.windows("sitting", at=T0 + 4 * WIN)
        assert ("fall_check_in", "general", "open") in opened(up)


def test_a_candidate_after_the_devices_own_fall_event_does_not_restart_the_fall(
    scorer: Scorer,
) -> None:
    scorer.windows("sitting")
    event = data_message(
        "event", device="tag-ann", resident="ann", seq=999, ts=T0 + WIN + 10_000,
        readings=[{"ts": T0 + WIN + 10_000, "type": "fall_detected", "confidence": 0.9}],
    )  # fmt: skip
    assert scorer.intake.score([(str(Topic(SITE, "tag-ann", "event")), encode(event))]) == []
    needs = scorer.windows("fall", "lying", "lying", at=T0 + WIN)
    assert opened(needs) == [("fall", "emergency", "open")]
    assert needs[0].summary.startswith("Fall detected (confidence 0.90)")
    assert needs[0].onset == T0 + WIN + 10_000
