"""``careloop eval icu-runtime``: the deterioration-risk model measured through the scorer.

Each PhysioNet 2012 stay is replayed as one resident (:mod:`models.evaluation.icu_replay`:
vitals and consciousness mapped to careloop's vitals fields, in time order, every stay
admitted at the same instant) through the same :class:`~models.runtime.ScoringEngine` that
``careloop score`` runs, with the service's timing (no timers from reading time; the timer
tick driven from outside): each half hour's readings are one batch, then one tick. A stay's
score is the highest risk the runtime assigned it within its first 48 h (the held risk,
``risk_held``); a stay the runtime never assigned a risk (under 12 h of readings) scores 0.
AUROC and AUPRC against in-hospital death, and the needs the engine raised, per stay.

**Cross-fitted**: the stays are split into :data:`FOLDS` stratified folds (seeded); each
fold is replayed through an engine whose risk model was fitted on the other folds by
:func:`models.evaluation.icu_train.fit_risk_model`, the function that writes the shipped
model, so no stay is scored by a model that saw it. The same replay without consciousness,
with a model without consciousness, is the "vitals only" reference.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.progress import Progress
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from careloop.wire.needs import NeedMessage
from models.evaluation.icu import bootstrap_auroc
from models.evaluation.icu_replay import Replay, replay
from models.evaluation.icu_train import INPUTS, feature_names, fit_risk_model, load, snapshots
from models.runtime import EngineConfig, ScoringEngine, VitalsBatch
from models.runtime.risk import EVERY_MS

F64 = NDArray[np.float64]
FOLDS = 5
TARGET_AUROC = 0.80
#: Every stay is admitted at this instant (2026-01-05 00:00 UTC): the clock is shared.
T0_MS = 1_767_571_200_000
HOURS = 48
SITE = "icu"


def replay_fold(rep: Replay, stays: NDArray[np.int_], model: Any) -> tuple[F64, list[NeedMessage]]:
    """Replay ``stays`` (indices into the replay) through a fresh engine scoring with
    ``model``: the highest held risk of each stay in 48 h (0 = never assigned) and the
    need messages raised."""
    engine = ScoringEngine(EngineConfig(auto_tick=False), risk_model=model)
    slot_of = np.full(int(rep.stay.max()) + 1, -1, dtype=np.int64)
    for i in stays.tolist():
        slot_of[i] = engine.slot(SITE, f"stay-{i}")
    mine = slot_of[rep.stay] >= 0
    slots, ts, x = slot_of[rep.stay[mine]], rep.ts(T0_MS)[mine], rep.x[mine]
    peak = np.zeros(len(stays))
    rows = slot_of[stays]
    held = engine.table["risk_held"]
    needs: list[NeedMessage] = []
    # the readings of each half hour are one batch (the engine splits it into rounds, each
    # resident's readings in order), then the timer tick at the half hour's end
    edges = np.searchsorted(ts, T0_MS + np.arange(1, HOURS * 2 + 2) * EVERY_MS, side="left")
    lo = 0
    for k, hi in enumerate(edges.tolist()):
        if hi > lo:
            needs += engine.score_vitals(VitalsBatch(slots[lo:hi], ts[lo:hi], x[lo:hi]))
        needs += engine.tick(T0_MS + (k + 1) * EVERY_MS - 1)
        peak = np.fmax(peak, held[rows])
        lo = hi
    return peak, needs


def cross_fit(
    rep: Replay,
    y: NDArray[np.int_],
    inputs: str,
    *,
    seed: int,
    progress: Progress | None = None,
) -> tuple[F64, list[NeedMessage]]:
    """Out-of-fold peak risks of every stay, and every need raised, fold by fold."""
    X3 = snapshots(rep, len(y))
    peak = np.full(len(y), np.nan)
    needs: list[NeedMessage] = []
    task = progress.add_task(f"icu-runtime: {inputs}", total=FOLDS) if progress else None
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for train, test in folds.split(np.zeros(len(y)), y):
        model = fit_risk_model(X3[:, train], y[train], features=feature_names(inputs), seed=seed)
        peak[test], fold_needs = replay_fold(rep, test, model)
        needs += fold_needs
        if progress is not None and task is not None:
            progress.advance(task)
    return peak, needs


def _opened(needs: list[NeedMessage]) -> list[NeedMessage]:
    return [n for n in needs if n.state == "open"]


def evaluate(data: Path, *, seed: int, progress: bool) -> dict[str, Any]:
    """``careloop eval icu-runtime``; see the module docstring."""
    started = time.monotonic()
    stays, y = load(data)
    rep = replay(stays, series=INPUTS["vitals+consciousness"])
    rep_vitals = replay(stays, series=INPUTS["vitals"])
    with Progress(transient=True, disable=not progress) as bar:
        peak, needs = cross_fit(rep, y, "vitals+consciousness", seed=seed, progress=bar)
        peak_v, _ = cross_fit(rep_vitals, y, "vitals", seed=seed, progress=bar)
    # in-sample, for contrast only: the model fitted on every stay, scoring those same stays
    everyone = fit_risk_model(snapshots(rep, len(y)), y, seed=seed)
    peak_in, _ = replay_fold(rep, np.arange(len(y)), everyone)
    n = len(y)
    opened = _opened(needs)
    risk_needs = [m for m in opened if m.kind == "deterioration_risk"]
    flagged = np.zeros(n, dtype=bool)
    flagged[[int(m.resident.removeprefix("stay-")) for m in risk_needs]] = True
    by_kind = Counter(m.kind for m in opened)
    tiers = Counter(m.tier for m in risk_needs)
    hits = int((flagged & (y == 1)).sum())
    return {
        "task": "icu-runtime",
        "auroc": round(float(roc_auc_score(y, peak)), 4),
        "auprc": round(float(average_precision_score(y, peak)), 4),
        "n": n,
        "needs_per_stay": round(len(risk_needs) / n, 3),
        "seconds": round(time.monotonic() - started, 1),
        "auroc_ci95": bootstrap_auroc(y, peak, seed=seed),
        "target_auroc": TARGET_AUROC,
        "positives": int(y.sum()),
        "never_scored": int((peak == 0).sum()),
        "inputs": "heart_rate, respiration_rate, spo2 (SaO2), systolic_bp, diastolic_bp, "
        "temperature, consciousness (GCS as ACVPU)",
        "cv": f"cross-fitted, stratified {FOLDS}-fold by stay, seed {seed}",
        "deterioration_risk_needs": {
            "stays_with_one": int(flagged.sum()),
            "sensitivity": round(hits / max(int(y.sum()), 1), 3),
            "ppv": round(hits / max(int(flagged.sum()), 1), 3),
            "by_tier": dict(sorted(tiers.items())),
        },
        "all_needs_per_stay": {k: round(v / n, 3) for k, v in sorted(by_kind.items())},
        "references": {
            "in_sample": {
                "auroc": round(float(roc_auc_score(y, peak_in)), 4),
                "auprc": round(float(average_precision_score(y, peak_in)), 4),
            },
            "vitals_only": {
                "auroc": round(float(roc_auc_score(y, peak_v)), 4),
                "auprc": round(float(average_precision_score(y, peak_v)), 4),
            },
        },
    }
