"""``careloop eval nab``: the streaming detector on the Numenta Anomaly Benchmark, NAB-scored.

Every ``data/<category>/<file>.csv`` under ``--data`` is streamed through a fresh
:class:`~models.stream_anomaly.MultiScaleNovelty` (score, then learn, one row at a time, with
the row's timestamp), and scored with NAB's method (:mod:`models.evaluation.nab_scoring`)
against ``labels/combined_windows.json``. Nothing is fitted on the files; the detector's
parameters are fixed defaults.

Reported per profile:

* the NAB score with the threshold swept to the corpus-wide best (NAB's own protocol, the
  ``optimised_score`` of NAB's published results);
* the score at the detector's own alarm level, a threshold chosen before seeing the data;
* the score when each file is scored at the threshold that is best on the *other* files
  (leave-one-file-out), which shows how much the sweep flatters.

If the folder has NAB's ``reference_scores_shared_split.json``, NAB's ``windowedGaussian``
detector is re-run and scored the same way, and its published score is reported next to ours:
equal numbers mean the scorer reproduces NAB.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.progress import Progress

from models.base import ModelError, StreamingDetector
from models.evaluation.nab_scoring import (
    PROFILES,
    LabelledSeries,
    best_threshold,
    corpus_rows,
    file_rows,
    normalise,
    score_at,
)
from models.stream_anomaly import MultiScaleNovelty, WindowedGaussian

#: our profile names -> NAB's (in reference_scores_shared_split.json)
NAB_PROFILE = {
    "standard": "standard",
    "reward_low_fp": "reward_low_FP_rate",
    "reward_low_fn": "reward_low_FN_rate",
}
REFERENCE_FILE = "reference_scores_shared_split.json"


@dataclass(frozen=True)
class NabFile:
    """One data file: its labelled series, epoch-millisecond timestamps and values."""

    series: LabelledSeries
    ts: NDArray[np.int64]
    values: NDArray[np.float64]

    @property
    def category(self) -> str:
        return self.series.name.split("/", 1)[0]


def _ms(stamp: str) -> int:
    # NAB writes "2014-04-01 00:00:00" in the data and "...00:00.000000" in the labels.
    return int(np.datetime64(stamp.strip().replace(" ", "T"), "ms").astype(np.int64))


def load_corpus(data: Path) -> list[NabFile]:
    """Every file listed in ``labels/combined_windows.json``, windows as row ranges."""
    labels = data / "labels" / "combined_windows.json"
    if not labels.is_file():
        raise ModelError(f"{labels} not found: --data must be NAB's folder")
    windows: dict[str, list[list[str]]] = json.loads(labels.read_text())
    files = []
    for name in sorted(windows):
        with (data / "data" / name).open(newline="") as fh:
            reader = csv.reader(fh)
            next(reader)  # timestamp,value
            rows = [(_ms(t), float(v)) for t, v in reader]
        ts = np.array([r[0] for r in rows], dtype=np.int64)
        spans = []
        for start, end in windows[name]:
            lo = int(np.searchsorted(ts, _ms(start), "left"))
            hi = int(np.searchsorted(ts, _ms(end), "right")) - 1
            spans.append((lo, hi))
        series = LabelledSeries(name, len(rows), tuple(spans))
        files.append(NabFile(series, ts, np.array([r[1] for r in rows])))
    return files


def run_detector(detector: StreamingDetector, f: NabFile) -> NDArray[np.float64]:
    """Score then learn every row, as the streaming runtime does."""
    out = np.empty(f.series.n)
    for i, (t, v) in enumerate(zip(f.ts.tolist(), f.values.tolist(), strict=True)):
        x = {"value": v, "ts": t}
        out[i] = detector.score_one(x)
        detector.learn_one(x)
    return out


def _profile_scores(
    items: Sequence[tuple[LabelledSeries, NDArray[np.float64]]],
) -> dict[str, dict[str, Any]]:
    """Swept threshold and score per profile, plus leave-one-file-out thresholds."""
    rows = corpus_rows(items)
    per_file = [file_rows(s, a) for s, a in items]
    out: dict[str, dict[str, Any]] = {}
    for name, profile in PROFILES.items():
        threshold, raw = best_threshold(rows, profile)
        loo = 0.0
        for k in range(len(items)):
            others = corpus_rows([it for j, it in enumerate(items) if j != k])
            th, _ = best_threshold(others, profile)
            loo += score_at(per_file[k], profile, th).raw
        out[name] = {
            "score": normalise(raw, rows.n_windows, profile),
            "threshold": threshold,
            "loo_score": normalise(loo, rows.n_windows, profile),
        }
    return out


def breakdown(
    items: Sequence[tuple[NabFile, NDArray[np.float64]]], threshold: float
) -> dict[str, dict[str, Any]]:
    """Per category at ``threshold`` (standard profile): windows found, false alarms, score."""
    profile = PROFILES["standard"]
    cats: dict[str, dict[str, Any]] = {}
    for f, a in items:
        c = cats.setdefault(f.category, {"files": 0, "windows": 0, "detected": 0, "fp": 0})
        fs = score_at(file_rows(f.series, a), profile, threshold)
        c["files"] += 1
        c["windows"] += fs.tp + fs.fn
        c["detected"] += fs.tp
        c["fp"] += fs.fp
        c["raw"] = c.get("raw", 0.0) + fs.raw
    for c in cats.values():
        raw = c.pop("raw")
        c["standard"] = normalise(raw, c["windows"], profile) if c["windows"] else None
    return cats


def scorer_check(files: Sequence[NabFile], data: Path, progress: bool) -> dict[str, Any] | None:
    """NAB's windowedGaussian, scored here, against its published score on these files."""
    ref_path = data / REFERENCE_FILE
    if not ref_path.is_file():
        return None
    published = json.loads(ref_path.read_text()).get("windowedGaussian")
    if published is None:
        return None
    # NAB's result files keep 12 decimals; thresholds near 1 depend on that rounding.
    items = [
        (f.series, np.round(s, 12))
        for f, s in _stream_all(files, WindowedGaussian, progress, "windowedGaussian")
    ]
    ours = _profile_scores(items)
    return {
        name: {
            "ours": ours[name]["score"],
            "published": published[NAB_PROFILE[name]]["optimised_score"],
        }
        for name in PROFILES
    }


def _stream_all(
    files: Sequence[NabFile],
    make: Callable[[], StreamingDetector],
    progress: bool,
    label: str,
) -> Iterator[tuple[NabFile, NDArray[np.float64]]]:
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(label, total=sum(f.series.n for f in files))
        for f in files:
            yield f, run_detector(make(), f)
            bar.advance(task, f.series.n)


def evaluate(data: Path, *, seed: int, progress: bool) -> dict[str, Any]:
    """NAB scores of :class:`MultiScaleNovelty` on ``data`` (see the module docstring)."""
    files = load_corpus(data)
    started = time.perf_counter()
    scored = list(
        _stream_all(files, lambda: MultiScaleNovelty(seed=seed), progress, "MultiScaleNovelty")
    )
    seconds = time.perf_counter() - started
    items = [(f.series, s) for f, s in scored]
    swept = _profile_scores(items)
    alarm = MultiScaleNovelty().alarm_ratio
    fixed = alarm / (1.0 + alarm)
    rows = corpus_rows(items)
    result: dict[str, Any] = {name: swept[name]["score"] for name in PROFILES}
    result["thresholds"] = {name: swept[name]["threshold"] for name in PROFILES}
    result["at_alarm_level"] = {
        name: normalise(score_at(rows, p, fixed).raw, rows.n_windows, p)
        for name, p in PROFILES.items()
    }
    result["alarm_level"] = fixed
    result["leave_one_file_out"] = {name: swept[name]["loo_score"] for name in PROFILES}
    result["per_category"] = breakdown(scored, swept["standard"]["threshold"])
    result["files"] = len(files)
    result["windows"] = rows.n_windows
    result["rows"] = int(sum(f.series.n for f in files))
    result["detector_seconds"] = round(seconds, 1)
    check = scorer_check(files, data, progress)
    if check is not None:
        result["scorer_check_windowed_gaussian"] = check
    return result
