"""One generic check suite for every careloop model (river's ``checks`` and scikit-learn's
``check_estimator`` in spirit).

A model joins by a :class:`Case` in a ``tests/models/cases_<name>.py`` file (a list named
``CASES``); ``test_generic.py`` collects every such file, so each model's author adds a file
and nobody edits a shared list. What is checked, for every model:

* parameters round-trip (``get_params`` / ``clone`` or scikit-learn's ``clone``);
* pickling keeps behaviour identical;
* the same seed gives the same scores;
* snapshot and restore mid-stream continue exactly as if uninterrupted, and keep the
  parameters and the whole state (the restored detector snapshots to the same bytes)
  (streaming);
* ``fit`` returns self and learned state lives in ``name_`` attributes (batch);
* better than chance on a seeded, labelled stream or data set, which with careloop's one
  score direction means anomalies (or positives) score *higher*.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.metrics import roc_auc_score

Stream = Sequence[tuple[dict[str, Any], bool]]


@dataclass(frozen=True)
class Case:
    """How to build one model and the seeded data it must beat chance on."""

    name: str
    kind: Literal["stream", "batch"]
    #: seed -> a fresh, unfitted model
    make: Callable[[int], Any]
    #: seed -> stream of (observation, is_anomaly) for "stream"; (X, y) for "batch"
    data: Callable[[int], Any]
    #: the AUROC it must reach on ``data`` (0.5 is chance)
    min_auroc: float = 0.7
    #: batch models: the method giving higher-is-more-anomalous scores
    score_method: str = "score_samples"
    extra: dict[str, Any] = field(default_factory=dict)


def run_stream(model: Any, stream: Iterable[tuple[dict[str, Any], bool]]) -> list[float]:
    """Score then learn each observation, as the runtime does."""
    scores = []
    for x, _ in stream:
        scores.append(float(model.score_one(x)))
        model.learn_one(x)
    return scores


def stream_checks(case: Case) -> None:
    stream = list(case.data(0))
    model = case.make(0)

    params = model.get_params()
    twin = model.clone()
    assert twin.get_params() == params, "clone() must keep the parameters"
    assert type(model)(**params).get_params() == params, "parameters must round-trip"

    scores = run_stream(model, stream)
    assert all(np.isfinite(scores)), "scores must be finite"
    assert run_stream(case.make(0), stream) == scores, "same seed, same scores"

    half = len(stream) // 2
    first = case.make(0)
    run_stream(first, stream[:half])
    snapshot = first.snapshot()
    restored = type(first).restore(snapshot)
    assert restored.get_params() == params, "restore must keep the parameters"
    assert restored.snapshot() == snapshot, "restore must keep the whole state"
    tail = [x for x in stream[half:]]
    assert run_stream(restored, tail) == scores[half:], "snapshot/restore must continue exactly"
    pickled = pickle.loads(pickle.dumps(first))
    assert run_stream(pickled, tail) == scores[half:], "pickling must keep behaviour"

    labels = [bool(y) for _, y in stream]
    assert any(labels) and not all(labels), "the case's stream needs both classes"
    auroc = roc_auc_score(labels, scores)
    assert auroc >= case.min_auroc, f"AUROC {auroc:.3f} < {case.min_auroc} (higher = anomalous)"


def batch_checks(case: Case) -> None:
    from sklearn.base import clone

    X, y = case.data(0)
    model = case.make(0)
    params = model.get_params()
    assert clone(model).get_params() == params, "clone must keep the parameters"
    learned_before = [k for k in vars(model) if k.endswith("_") and not k.startswith("_")]
    assert not learned_before, f"unfitted model already has learned state {learned_before}"

    assert model.fit(X, y) is model, "fit must return self"
    learned = [k for k in vars(model) if k.endswith("_") and not k.startswith("_")]
    assert learned, "learned state belongs in name_ attributes"
    assert model.get_params() == params, "fit must not change the parameters"

    scores = np.asarray(getattr(model, case.score_method)(X), dtype=float)
    assert np.all(np.isfinite(scores))
    again = getattr(case.make(0).fit(X, y), case.score_method)(X)
    np.testing.assert_array_equal(scores, again, "same seed, same scores")
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(getattr(restored, case.score_method)(X), scores)

    auroc = roc_auc_score(np.asarray(y, dtype=bool), scores)
    assert auroc >= case.min_auroc, f"AUROC {auroc:.3f} < {case.min_auroc} (higher = positive)"
