"""The scoring engine: readings in, care needs out; every resident's state in arrays.

Feed it vitals as :class:`~models.runtime.columns.VitalsBatch` (any mix of residents and
times), events, utterances and device statuses; it returns
:class:`~careloop.wire.needs.NeedMessage` objects ready to publish. Time is the readings'
own (device) time: :meth:`ScoringEngine.tick` with a later time runs the timers whose
evidence is silence (falls with no readings after them, silent devices, care-plan misses).

A batch is split into **rounds**, the k-th reading of every resident in round k, in time
order, so each round touches each resident at most once and updates its rows with plain
array assignments; the result is exactly as if readings were scored one by one in order.
Each reading is scored before it is learned.

The deterioration-risk model (:mod:`models.runtime.risk`) follows every resident's vitals
in the same table and is scored on the timer tick; the shipped model file is loaded by
default, and without a usable one the engine scores on its rules alone and says so in
``engine.risk.status``.

:meth:`snapshot` writes the whole state to one file atomically; :meth:`restore` reads it back,
so a restarted scorer keeps its baselines. The file is plain data (:mod:`models.state`: one
JSON document and numeric arrays, every component's part nested under its name), so reading a
snapshot cannot run code; a file of another format version is refused (StateError,
``stale``), never half-read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from careloop.files import write_private
from careloop.wire.needs import Evidence, NeedMessage
from models.base import ModelError, StateError
from models.posture import PostureModel
from models.runtime import activity, daily, risk, vitals
from models.runtime.activity import ActivityComponent
from models.runtime.careplan import CarePlanner
from models.runtime.columns import VitalsBatch
from models.runtime.daily import DailyComponent
from models.runtime.findings import Finding, said
from models.runtime.fusion import Fusion
from models.runtime.motion import MotionComponent, resolve_posture
from models.runtime.residents import Slots
from models.runtime.risk import RiskComponent, resolve_model
from models.runtime.riskmodel import DEFAULT_PATH, RiskModel
from models.runtime.speech import SpeechComponent
from models.runtime.table import Field, Table
from models.runtime.thresholds import Thresholds
from models.runtime.vitals import VitalsComponent
from models.speech.intent import CareIntentClassifier
from models.state import State, StateReader, dump, load, nest
from people import CareProfile

SNAPSHOT_FORMAT = "careloop-scorer-snapshot"
#: Bump when any component's state changes shape or meaning (1 was a pickle: not read;
#: 3 added the red-score and confirmation fields).
SNAPSHOT_VERSION = 3
#: Timers run at most this often in reading time (ms) when driven by readings alone.
TICK_EVERY_MS = 10_000
#: When each resident's devices last said anything (reading time, ms): retention forgets
#: the residents not heard from for longer than their site keeps data.
HEARD_FIELDS = (Field("heard", np.int64, (), 0),)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Engine-wide switches (rule thresholds live with their rules)."""

    #: Run the care-plan planner (needs CareProfiles with expectations).
    care_plans: bool = True
    #: Tick timers from reading time automatically while scoring vitals.
    auto_tick: bool = True


class ScoringEngine:
    """All residents of the sites this scorer owns."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        profiles: Mapping[tuple[str, str], CareProfile] | None = None,
        *,
        classifier: CareIntentClassifier | None = None,
        risk_model: RiskModel | Path | None = DEFAULT_PATH,
        posture_model: PostureModel | Path | None = None,
    ) -> None:
        """``risk_model``: the deterioration-risk model, a model file, or None for rules only
        (the shipped file by default; one that cannot be loaded is logged, rules only).
        ``posture_model``: for motion windows, the model or its file (None: the shipped one;
        one that cannot be loaded is logged and motion windows are not scored)."""
        self.config = config or EngineConfig()
        self.directory = Slots(dict(profiles or {}))
        self.table = Table(
            vitals.fields() + activity.fields() + daily.fields() + risk.fields() + HEARD_FIELDS
        )
        self.thresholds = Thresholds(self.directory)
        self.vitals = VitalsComponent(self.directory, self.thresholds)
        self.risk = RiskComponent(*resolve_model(risk_model), self.vitals)
        self.activity = ActivityComponent(self.thresholds)
        self.motion = MotionComponent(*resolve_posture(posture_model))
        self.daily = DailyComponent()
        self.speech = SpeechComponent(classifier)
        self.planner = CarePlanner()
        self.fusion = Fusion(self.directory)
        self._offsets = np.zeros(0, dtype=np.int64)
        self.now = 0
        self._last_tick = 0
        self.readings = 0

    # -- residents -----------------------------------------------------------------------------
    def slot(self, site: str, resident: str) -> int:
        """The resident's row, allocated on first sight."""
        n = len(self.directory)
        slot = self.directory.slot(site, resident)
        if slot >= n:
            self._grow()
        return slot

    def set_profile(self, site: str, resident: str, profile: CareProfile) -> None:
        self.directory.set_profile(site, resident, profile)
        self._grow()

    def _grow(self) -> None:
        n = len(self.directory)
        self.table.ensure(n)
        self._offsets = np.array(
            [r.profile.utc_offset_min for r in self.directory.residents], dtype=np.int64
        )

    # -- scoring ---------------------------------------------------------------------------------
    def score_vitals(self, batch: VitalsBatch) -> list[NeedMessage]:
        """Score a batch of vitals readings; returns the needs they raised or changed."""
        if len(batch) == 0:
            return []
        if int(batch.resident.max()) >= len(self.directory) or int(batch.resident.min()) < 0:
            raise ModelError("batch names a resident slot the engine did not allocate")
        findings: list[Finding] = []
        for rnd in _rounds(batch):
            offs = self._offsets[rnd.resident]
            findings += self.vitals.step(self.table, rnd, offs)
            findings += self.activity.step(self.table, rnd, offs)
            findings += self.daily.step(self.table, rnd, offs)
            self.risk.step(self.table, rnd)
            heard = self.table["heard"]
            heard[rnd.resident] = np.maximum(heard[rnd.resident], rnd.ts)
        self.readings += len(batch)
        latest = int(batch.ts.max())
        out = self.fusion.fuse(findings)
        if self.config.auto_tick and latest - self._last_tick >= TICK_EVERY_MS:
            out += self.tick(latest)
        else:
            self.now = max(self.now, latest)
        return out

    def score_event(self, slot: int, reading: Mapping[str, Any]) -> list[NeedMessage]:
        """One event reading (a dict as on the wire)."""
        ts = int(reading["ts"])
        kind = reading["type"]
        self._heard(slot, ts)
        findings: list[Finding] = []
        if kind == "sos_button":
            findings.append(
                Finding(
                    slot,
                    "sos",
                    "emergency",
                    ts,
                    ts,
                    1.0,
                    said("summary.sos"),
                    [
                        Evidence(
                            measure="sos_button",
                            value=True,
                            rule="SOS button: always an emergency",
                            ts=ts,
                        )
                    ],
                )
            )
        elif kind == "fall_detected":
            self.activity.fall(self.table, slot, ts, reading.get("confidence"))
        elif kind == "door" and reading.get("detail") == "exit_door":
            findings += self.activity.exit_door(self.table, slot, ts, int(self._offsets[slot]))
        profile = self.directory.residents[slot].profile
        if profile.expectations:
            self.planner.event(slot, profile, kind, ts)
        return self.fusion.fuse(findings)

    def score_motion(
        self, slot: int, device: str, window: Mapping[str, Any]
    ) -> tuple[list[NeedMessage], dict[str, Any] | None]:
        """One ``motion`` window of ``device``: the needs it raised (got up after a fall)
        and the posture reading it gives, to score as vitals after the fall it may open."""
        self._heard(slot, int(window["ts"]))
        findings, posture = self.motion.window(self.table, self.activity, slot, device, window)
        return self.fusion.fuse(findings), posture

    def score_utterance(self, slot: int, reading: Mapping[str, Any]) -> list[NeedMessage]:
        """One utterance reading (text only if it came with consent)."""
        self._heard(slot, int(reading["ts"]))
        findings = self.speech.utterance(slot, reading)
        profile = self.directory.residents[slot].profile
        if profile.expectations:  # "吃過藥了" after a reminder fulfils the care plan
            self.planner.confirm(slot, profile, reading.get("text"), int(reading["ts"]))
        return self.fusion.fuse(findings)

    def device_status(self, slot: int, ts: int, state: str, reason: str | None) -> None:
        """A terminal's retained birth / last-will status."""
        self._heard(slot, ts)
        self.activity.status(self.table, slot, ts, state, reason)

    def tick(self, now: int) -> list[NeedMessage]:
        """Run the timers up to ``now`` (epoch ms, reading time)."""
        self.now = max(self.now, now)
        self._last_tick = self.now
        rows = len(self.directory)
        findings = self.activity.tick(self.table, rows, self.now)
        findings += self.risk.tick(self.table, rows, self.now)
        self.motion.expire(self.now)
        if self.config.care_plans:
            # one conversion to Python ints, not a numpy scalar per resident; residents never
            # seen are skipped here as CarePlanner.tick would skip them (first_seen <= 0)
            first = self.table["first_seen"][:rows].tolist()
            planner, now = self.planner, self.now
            for slot, res in enumerate(self.directory.residents):
                if res.profile.expectations and first[slot] > 0:
                    findings += planner.tick(slot, res.profile, now, first[slot])
        self.fusion.expire(self.now)
        return self.fusion.fuse(findings)

    def forget(self, site: str, resident: str) -> bool:
        """Erase one resident's learned state (baselines, timers, voice, open needs, care-plan
        progress) and their id; False if the engine never saw them. Used by erasure."""
        slot = self.directory.forget(site, resident)
        if slot is None:
            return False
        self.table.reset(slot)
        self.daily.detectors.pop(slot, None)
        self.daily.raised.pop(slot, None)
        self.speech.voices.pop(slot, None)
        self.motion.forget(slot)
        self.activity.from_motion.discard(slot)
        self.planner.progress.pop(slot, None)
        for key in [k for k in self.fusion.open if k[0] == slot]:
            del self.fusion.open[key]
        self._grow()
        return True

    def _heard(self, slot: int, ts: int) -> None:
        heard = self.table["heard"]
        heard[slot] = max(int(heard[slot]), ts)

    def expire(self, cutoffs: Mapping[str, int]) -> list[tuple[str, str]]:
        """Retention: forget every resident of a site in ``cutoffs`` (site -> epoch ms) whose
        devices were last heard before the cutoff; returns who was forgotten."""
        heard = self.table["heard"]
        gone = [
            (r.site, r.id)
            for slot, r in enumerate(self.directory.residents)
            if r.site in cutoffs and 0 < int(heard[slot]) < cutoffs[r.site]
        ]
        for site, resident in gone:
            self.forget(site, resident)
        return gone

    # -- state -----------------------------------------------------------------------------------
    def state_nbytes(self) -> int:
        """Bytes of learned state for all residents, as a snapshot stores it."""
        return len(self._snapshot_bytes())

    def state(self) -> State:
        """Everything learned, as plain data: residents by slot, the table's rows, each
        component's part under its name (profiles are configuration, not state)."""
        residents = self.directory.residents
        doc = {
            "now": self.now,
            "readings": self.readings,
            "sites": [r.site for r in residents],
            "residents": [r.id for r in residents],
        }
        parts = {
            "table": ({}, self.table.state(len(residents))),
            "daily": self.daily.state(),
            "speech": self.speech.state(),
            "planner": self.planner.state(),
            "fusion": self.fusion.state(),
        }
        return nest(doc, parts)

    def _snapshot_bytes(self) -> bytes:
        return dump(SNAPSHOT_FORMAT, SNAPSHOT_VERSION, self.state())

    def snapshot(self, path: str | Path) -> int:
        """Write the state to ``path`` atomically (temp file, fsync, rename); returns bytes."""
        path = Path(path)
        data = self._snapshot_bytes()
        write_private(path, data)
        return len(data)

    def restore(self, path: str | Path) -> None:
        """Load a snapshot written by :meth:`snapshot` (profiles stay as configured now).

        Everything is read and checked before anything changes: a file that is not a
        snapshot of this version raises StateError (a ModelError) and leaves the engine as it
        was. Nothing in the file is ever executed.
        """
        where = f"unreadable snapshot {path}"
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise StateError(where, f"{type(exc).__name__}: {exc}") from exc
        state = load(data, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, where=where)
        residents = _residents(state)
        rows = len(residents)
        now, readings = state.integer("now", lo=0), state.integer("readings", lo=0)
        table = self.table.read_state(state.scope("table"), rows)
        daily, speech, planner = DailyComponent(), SpeechComponent(), CarePlanner()
        daily.load_state(state.scope("daily"), rows)
        speech.load_state(state.scope("speech"), rows)
        planner.load_state(state.scope("planner"), rows)
        fusion = Fusion(self.directory)
        fusion.load_state(state.scope("fusion"), residents)
        # all checked: from here on nothing can fail
        self.directory.clear()
        for site, rid in residents:
            self.directory.slot(site, rid)
        self._grow()
        self.table.load(table, rows)
        self.daily, self.planner, self.fusion = daily, planner, fusion
        self.speech.voices = speech.voices
        self.now = self._last_tick = now
        self.readings = readings


def _residents(state: StateReader) -> list[tuple[str, str]]:
    """``(site, resident)`` by slot, each once."""
    sites, ids = state.texts("sites"), state.texts("residents")
    if len(sites) != len(ids):
        state.fail(f"{len(sites)} sites for {len(ids)} residents")
    residents = list(zip(sites, ids, strict=True))
    if len(set(residents)) != len(residents):
        state.fail("a resident appears twice")
    return residents


def _rounds(batch: VitalsBatch) -> list[VitalsBatch]:
    """Split a batch so each part has each resident at most once, in time order.

    Rows come out ordered by (resident, time). A batch whose residents are already strictly
    increasing (one reading each, in slot order: what a simulator or a per-second collector
    builds) is that order already, and is returned as it is, without a sort or a copy.
    """
    res = batch.resident
    if len(res) < 2 or bool((res[1:] > res[:-1]).all()):
        return [batch]
    order = np.lexsort((batch.ts, batch.resident))
    res = batch.resident[order]
    if len(res) < 2 or bool((res[1:] != res[:-1]).all()):
        return [batch.take(order)]
    starts = np.r_[0, np.nonzero(res[1:] != res[:-1])[0] + 1]
    counts = np.diff(np.r_[starts, len(res)])
    rank = np.arange(len(res)) - np.repeat(starts, counts)
    rounds = []
    for k in range(int(rank.max()) + 1):
        rounds.append(batch.take(order[rank == k]))
    return rounds
