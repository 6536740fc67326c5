"""``careloop eval nab``: the streaming detector on the Numenta Anomaly Benchmark, NAB-scored.

Every ``data/<category>/<file>.csv`` under ``--data`` is streamed through a fresh detector
(score, then learn, one row at a time, with the row's timestamp) and scored with NAB's method
(:mod:`models.evaluation.nab_scoring`) against ``labels/combined_windows.json``. Each candidate
design of :mod:`models.stream_anomaly.designs` is run; the pattern search is done once for all
of them and each design's calibration and alarm discipline replayed over it.

Reported per profile, for the shipped default design (``MultiScaleNovelty()``):

* the NAB score with the threshold swept to the corpus-wide best (NAB's own protocol, the
  ``optimised_score`` of NAB's published results): an in-sample figure;
* the score at the detector's own alarm level, a threshold fixed before seeing the data;
* leave-one-file-out: each file scored at the threshold chosen on the *other* files.

``leave_one_category_out`` is the honest figure for series of a kind never seen. Each
category is held out in turn; on the other categories only, a design *and* a threshold are
chosen (the best raw NAB score; designs within a quarter of one window's worth of the best are
tied and the earliest-listed wins; thresholds within that margin are tied and the one nearest
the design's alarm level wins, see :func:`~models.evaluation.nab_scoring.choose_threshold`);
the held-out files are scored with that choice. Each file is held out exactly once, so the
held-out raw scores add up over the folds and are NAB-normalised once over the union of
held-out files (all files, all windows), per profile. A category without windows (such as
``artificialNoAnomaly``) only adds its false alarms. The same is reported with the threshold
fixed at each design's alarm level (only the design chosen), with each fold's choice.

``designs`` gives every candidate's in-sample figures and its own leave-one-category-out
figure (that design fixed, threshold chosen per fold); ``design_by_loco`` is the candidate
those figures favour (ties as above, over all windows), which is how the default was chosen.

If the folder has NAB's ``reference_scores_shared_split.json``, NAB's ``windowedGaussian``
detector is re-run and scored the same way, and its published score is reported next to ours:
equal numbers mean the scorer reproduces NAB.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.progress import Progress

from models.base import ModelError, StreamingDetector
from models.evaluation.nab_scoring import (
    PROFILES,
    CostProfile,
    LabelledSeries,
    best_threshold,
    choose_threshold,
    corpus_rows,
    file_rows,
    normalise,
    score_at,
    tie_margin,
)
from models.stream_anomaly import (
    DESIGNS,
    MultiScaleNovelty,
    Trace,
    WindowedGaussian,
    design_params,
    replay_all,
    superset,
    trace,
)

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


def _observations(f: NabFile) -> list[dict[str, float]]:
    """The file's rows as the detector's observations (value and epoch-ms timestamp)."""
    return [{"value": v, "ts": t} for t, v in zip(f.ts.tolist(), f.values.tolist(), strict=True)]


def run_detector(detector: StreamingDetector, f: NabFile) -> NDArray[np.float64]:
    """Score then learn every row, as the streaming runtime does."""
    out = np.empty(f.series.n)
    for i, x in enumerate(_observations(f)):
        out[i] = detector.score_one(x)
        detector.learn_one(x)
    return out


def _swept(items: Sequence[tuple[LabelledSeries, NDArray[np.float64]]]) -> dict[str, Any]:
    """Per profile: the best threshold on ``items`` and the normalised score there."""
    rows = corpus_rows(items)
    out: dict[str, Any] = {}
    for name, profile in PROFILES.items():
        threshold, raw = best_threshold(rows, profile)
        out[name] = {"score": normalise(raw, rows.n_windows, profile), "threshold": threshold}
    return out


def leave_one_file_out(
    items: Sequence[tuple[LabelledSeries, NDArray[np.float64]]], prior: float
) -> dict[str, float]:
    """Each file at the threshold chosen on the other files, normalised over all files."""
    per_file = [file_rows(s, a) for s, a in items]
    n_windows = sum(r.n_windows for r in per_file)
    out: dict[str, float] = {}
    for name, profile in PROFILES.items():
        raw = 0.0
        for k in range(len(items)):
            others = corpus_rows([it for j, it in enumerate(items) if j != k])
            th, _ = choose_threshold(others, profile, prior)
            raw += score_at(per_file[k], profile, th).raw
        out[name] = normalise(raw, n_windows, profile)
    return out


def _choose(
    files: Sequence[NabFile],
    scores: Mapping[str, Sequence[NDArray[np.float64]]],
    levels: Mapping[str, float],
    train: Sequence[int],
    profile: CostProfile,
    at_alarm: bool,
) -> tuple[str, float]:
    """The design and threshold best on the ``train`` files (ties: see the module doc)."""
    results = []
    for name, per_file in scores.items():
        rows = corpus_rows([(files[i].series, per_file[i]) for i in train])
        if at_alarm:
            th, raw = levels[name], score_at(rows, profile, levels[name]).raw
        else:
            th, raw = choose_threshold(rows, profile, levels[name])
        results.append((raw, name, th))
    best = max(r[0] for r in results)
    _, name, th = next(r for r in results if r[0] >= best - tie_margin(profile))
    return name, th


def leave_one_category_out(
    files: Sequence[NabFile],
    scores: Mapping[str, Sequence[NDArray[np.float64]]],
    levels: Mapping[str, float],
) -> dict[str, Any]:
    """Held-out NAB scores when design and threshold are chosen without each category.

    ``scores`` maps each candidate design to its scores per file (in ``files`` order) and
    ``levels`` to its alarm level; see the module docstring for the method.
    """
    cats = sorted({f.category for f in files})
    n_windows = corpus_rows([(f.series, np.zeros(f.series.n)) for f in files]).n_windows
    out: dict[str, Any] = {"at_alarm_level": {}, "folds": {}}
    for at_alarm in (False, True):
        for name, profile in PROFILES.items():
            raw = 0.0
            for c in cats:
                train = [i for i, f in enumerate(files) if f.category != c]
                test = [i for i, f in enumerate(files) if f.category == c]
                design, th = _choose(files, scores, levels, train, profile, at_alarm)
                rows = corpus_rows([(files[i].series, scores[design][i]) for i in test])
                fs = score_at(rows, profile, th)
                raw += fs.raw
                fold = out["folds"].setdefault(c, {"files": len(test), "windows": rows.n_windows})
                held = normalise(fs.raw, rows.n_windows, profile) if rows.n_windows else None
                key = f"{name}_at_alarm_level" if at_alarm else name
                fold[key] = {
                    "design": design,
                    "threshold": th,
                    "score": held,
                    "detected": fs.tp,
                    "false_alarms": fs.fp,
                }
            score = normalise(raw, n_windows, profile)
            (out["at_alarm_level"] if at_alarm else out)[name] = score
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
    ours = _swept(items)
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


def _trace_all(files: Sequence[NabFile], params: Mapping[str, Any], progress: bool) -> list[Trace]:
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("pattern search", total=sum(f.series.n for f in files))
        out = []
        for f in files:
            out.append(trace(params, _observations(f)))
            bar.advance(task, f.series.n)
    return out


def score_designs(
    files: Sequence[NabFile], *, seed: int, progress: bool
) -> tuple[dict[str, list[NDArray[np.float64]]], dict[str, float]]:
    """Every candidate design's scores per file (in ``files`` order) and its alarm level."""
    params = {name: design_params(name, seed) for name in DESIGNS}
    traces = _trace_all(files, superset(params.values()), progress)
    replayed = [replay_all(t, list(params.values())) for t in traces]
    scores = {name: [r[k] for r in replayed] for k, name in enumerate(params)}
    levels = {name: MultiScaleNovelty(**p).alarm_score for name, p in params.items()}
    return scores, levels


def evaluate(data: Path, *, seed: int, progress: bool) -> dict[str, Any]:
    """NAB scores of the candidate designs on ``data`` (see the module docstring)."""
    files = load_corpus(data)
    started = time.perf_counter()
    scores, levels = score_designs(files, seed=seed, progress=progress)
    seconds = time.perf_counter() - started
    result = summarise(files, scores, levels, seed=seed)
    result["detector_seconds"] = round(seconds, 1)
    check = scorer_check(files, data, progress)
    if check is not None:
        result["scorer_check_windowed_gaussian"] = check
    return result


def summarise(
    files: Sequence[NabFile],
    scores: Mapping[str, Sequence[NDArray[np.float64]]],
    levels: Mapping[str, float],
    *,
    seed: int,
) -> dict[str, Any]:
    """The figures of :func:`evaluate` from every design's scores (see the module doc)."""
    params = {name: design_params(name, seed) for name in DESIGNS}

    default = MultiScaleNovelty(seed=seed).get_params()
    shipped = next(name for name, p in params.items() if p == default)
    items = [(f.series, s) for f, s in zip(files, scores[shipped], strict=True)]
    swept = _swept(items)
    rows = corpus_rows(items)
    fixed = levels[shipped]
    result: dict[str, Any] = {name: swept[name]["score"] for name in PROFILES}
    result["design"] = shipped
    result["thresholds"] = {name: swept[name]["threshold"] for name in PROFILES}
    result["at_alarm_level"] = {
        name: normalise(score_at(rows, p, fixed).raw, rows.n_windows, p)
        for name, p in PROFILES.items()
    }
    result["alarm_level"] = fixed
    result["leave_one_file_out"] = leave_one_file_out(items, fixed)
    result["leave_one_category_out"] = leave_one_category_out(files, scores, levels)
    result["per_category"] = breakdown(list(zip(files, scores[shipped], strict=True)), fixed)
    result["designs"] = _designs(files, scores, levels)
    result["design_by_loco"] = _by_loco(result["designs"], rows.n_windows)
    result["files"] = len(files)
    result["windows"] = rows.n_windows
    result["rows"] = int(sum(f.series.n for f in files))
    return result


def _designs(
    files: Sequence[NabFile],
    scores: Mapping[str, Sequence[NDArray[np.float64]]],
    levels: Mapping[str, float],
) -> dict[str, Any]:
    """Every candidate's in-sample figures and its own leave-one-category-out figures."""
    out: dict[str, Any] = {}
    for name, per_file in scores.items():
        rows = corpus_rows([(f.series, s) for f, s in zip(files, per_file, strict=True)])
        swept = _swept([(f.series, s) for f, s in zip(files, per_file, strict=True)])
        loco = leave_one_category_out(files, {name: per_file}, {name: levels[name]})
        out[name] = {
            "params": DESIGNS[name],
            "swept": {p: swept[p]["score"] for p in PROFILES},
            "at_alarm_level": {
                p: normalise(score_at(rows, prof, levels[name]).raw, rows.n_windows, prof)
                for p, prof in PROFILES.items()
            },
            "leave_one_category_out": {p: loco[p] for p in PROFILES},
            "leave_one_category_out_at_alarm_level": loco["at_alarm_level"],
        }
    return out


def _by_loco(designs: Mapping[str, Any], n_windows: int) -> str:
    """The earliest-listed design within a quarter window of the best LOCO standard score."""
    loco = {name: d["leave_one_category_out"]["standard"] for name, d in designs.items()}
    # a quarter of one window's swing, in normalised points over n_windows windows
    margin = 100.0 * 0.25 / n_windows
    best = max(loco.values())
    return next(name for name, v in loco.items() if v >= best - margin)
