"""Plots and tables for docs/evaluation/nab.md.

    nice -n 19 .venv/bin/python scripts/nab_plots.py --data ../shared/data/nab \
        --out docs/evaluation/img

Runs ``careloop eval nab``'s evaluation (without the scorer check), then writes
``nab_scores.png`` (our NAB scores beside every published detector's on the same files),
``nab_loco.png`` (each design in-sample and leave-one-category-out) and ``nab_detections.png``
(four files: windows, alarms), and prints the markdown tables: designs, folds, published
detectors, and the short-history check.

The short-history check cuts, around every window, the 1,600 rows that end 150 rows after
it (skipping windows with fewer than 300 rows before them) and scores each cut as a file of its
own with a fresh detector: the same anomalies with a few days of history instead of weeks, as
in NAB's shorter files (1,100-4,000 rows in several categories not in this split).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from models.evaluation.nab import (
    NAB_PROFILE,
    REFERENCE_FILE,
    NabFile,
    load_corpus,
    score_designs,
    summarise,
)
from models.evaluation.nab_scoring import (
    PROFILES,
    LabelledSeries,
    best_threshold,
    corpus_rows,
    file_rows,
    normalise,
    probation_length,
    score_at,
)
from models.stream_anomaly import DEFAULT_DESIGN, DESIGNS

OURS = "MultiScaleNovelty (careloop)"
EXAMPLES = ("art_daily_nojump", "machine_temperature", "nyc_taxi", "cpu_utilization")
CUT_ROWS = 1600
CUT_AFTER = 150
CUT_BEFORE = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    files = load_corpus(args.data)
    scores, levels = score_designs(files, seed=0, progress=True)
    result = summarise(files, scores, levels, seed=0)
    _print_designs(result)
    _print_folds(result)
    ours = {name: float(result[name]) for name in PROFILES}
    reference = json.loads((args.data / REFERENCE_FILE).read_text())
    table = {
        det: {p: v[NAB_PROFILE[p]]["optimised_score"] for p in PROFILES}
        for det, v in reference.items()
    }
    table[OURS] = ours
    _print_table(reference, ours)
    _bars(table, args.out / "nab_scores.png")
    _loco_bars(result, args.out / "nab_loco.png")
    scored = list(zip(files, scores[DEFAULT_DESIGN], strict=True))
    _examples(scored, float(result["alarm_level"]), args.out / "nab_detections.png")
    _print_short_history(files)


def _print_designs(result: dict[str, Any]) -> None:
    print("| design | swept (in-sample) | at alarm level (in-sample) | LOCO | LOCO at alarm |")
    print("|---|---|---|---|---|")
    for name, d in result["designs"].items():
        cells = [
            "/".join(f"{d[key][p]:.1f}" for p in PROFILES)
            for key in (
                "swept",
                "at_alarm_level",
                "leave_one_category_out",
                "leave_one_category_out_at_alarm_level",
            )
        ]
        mark = " (default)" if name == DEFAULT_DESIGN else ""
        print(f"| `{name}`{mark} | " + " | ".join(cells) + " |")
    print()


def _print_folds(result: dict[str, Any]) -> None:
    loco = result["leave_one_category_out"]
    print(
        "| held-out category | files | windows | design chosen | threshold | found "
        "| false alarms | standard |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for cat, fold in loco["folds"].items():
        s = fold["standard"]
        held = "n/a" if s["score"] is None else f"{s['score']:.1f}"
        print(
            f"| {cat} | {fold['files']} | {fold['windows']} | `{s['design']}` | "
            f"{s['threshold']:.3f} | {s['detected']} | {s['false_alarms']} | {held} |"
        )
    print(
        "\nLOCO: "
        + " / ".join(f"{loco[p]:.1f}" for p in PROFILES)
        + "; at alarm level: "
        + " / ".join(f"{loco['at_alarm_level'][p]:.1f}" for p in PROFILES)
        + "\n"
    )


def short_history_cuts(files: list[NabFile]) -> list[NabFile]:
    """The rows around each window, as files of their own (see the module docstring)."""
    cuts = []
    for f in files:
        for k, (lo, hi) in enumerate(f.series.windows):
            end = min(f.series.n, hi + CUT_AFTER)
            start = max(0, end - CUT_ROWS)
            if lo - start < CUT_BEFORE:
                continue
            windows = tuple(
                (a - start, b - start) for a, b in f.series.windows if a >= start and b < end
            )
            series = LabelledSeries(f"{f.series.name}#{k}", end - start, windows)
            cuts.append(NabFile(series, f.ts[start:end], f.values[start:end]))
    return cuts


def _print_short_history(files: list[NabFile]) -> None:
    cuts = short_history_cuts(files)
    scores, levels = score_designs(cuts, seed=0, progress=True)
    profile = PROFILES["standard"]
    print(f"Short-history check: {len(cuts)} cuts of {CUT_ROWS} rows, standard profile\n")
    print("| design | swept | at alarm level | windows found at alarm level | false alarms |")
    print("|---|---|---|---|---|")
    for name in DESIGNS:
        rows = corpus_rows([(c.series, s) for c, s in zip(cuts, scores[name], strict=True)])
        _, raw = best_threshold(rows, profile)
        at = score_at(rows, profile, levels[name])
        print(
            f"| `{name}` | {normalise(raw, rows.n_windows, profile):.1f} | "
            f"{normalise(at.raw, rows.n_windows, profile):.1f} | "
            f"{at.tp}/{rows.n_windows} | {at.fp} |"
        )
    print()


def _print_table(reference: dict, ours: dict[str, float]) -> None:
    print("| detector | standard | reward low FP | reward low FN |")
    print("|---|---|---|---|")
    order = sorted(reference, key=lambda d: -reference[d]["standard"]["optimised_score"])
    print(f"| **{OURS}** | " + " | ".join(f"**{ours[p]:.1f}**" for p in PROFILES) + " |")
    for det in order:
        cells = []
        for p in PROFILES:
            v = reference[det][NAB_PROFILE[p]]
            cells.append(f"{v['optimised_score']:.1f} ({v['score']:.1f})")
        print(f"| {det} | " + " | ".join(cells) + " |")
    print()


def _bars(table: dict[str, dict[str, float]], path: Path) -> None:
    names = sorted(table, key=lambda d: table[d]["standard"])
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7, 5))
    for k, (profile, colour) in enumerate(
        zip(PROFILES, ("tab:blue", "tab:orange", "tab:green"), strict=True)
    ):
        ax.barh(
            y + (k - 1) * 0.27,
            [table[n][profile] for n in names],
            height=0.27,
            color=colour,
            label=profile,
        )
    ax.set_yticks(y, [f"$\\bf{{{n.split()[0]}}}$" if n == OURS else n for n in names])
    ax.set_xlabel("NAB score (threshold swept on these files; null = 0, perfect = 100)")
    ax.axvline(0, color="black", lw=0.5)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("NAB shared split: 18 files, 25 windows")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _loco_bars(result: dict[str, Any], path: Path) -> None:
    designs = result["designs"]
    names = list(designs)
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bars = (
        ("swept", "in-sample, swept", "tab:grey"),
        ("at_alarm_level", "in-sample, alarm level", "tab:blue"),
        ("leave_one_category_out", "category held out", "tab:orange"),
    )
    for k, (key, label, colour) in enumerate(bars):
        values = [designs[n][key]["standard"] for n in names]
        ax.barh(y + (k - 1) * 0.27, values, height=0.27, color=colour, label=label)
    ax.set_yticks(y, [f"{n} (default)" if n == DEFAULT_DESIGN else n for n in names])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("NAB standard score (null = 0, perfect = 100)")
    ax.legend(loc="lower right", fontsize=7)
    ax.set_title("Candidate designs: in-sample vs leave-one-category-out", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _examples(scored: list, threshold: float, path: Path) -> None:
    picked = [next((f, s) for f, s in scored if key in f.series.name) for key in EXAMPLES]
    fig, axes = plt.subplots(len(picked), 1, figsize=(9, 2.0 * len(picked)))
    profile = PROFILES["standard"]
    for ax, (f, s) in zip(axes, picked, strict=True):
        ax.plot(f.values, lw=0.4, color="tab:blue")
        for lo, hi in f.series.windows:
            ax.axvspan(lo, hi, color="tab:red", alpha=0.15, lw=0)
        ax.axvspan(0, probation_length(f.series.n), color="grey", alpha=0.15, lw=0)
        hits = np.flatnonzero(s >= threshold)
        hits = hits[hits >= probation_length(f.series.n)]
        ax.plot(hits, f.values[hits], "v", color="black", ms=5)
        fs = score_at(file_rows(f.series, s), profile, threshold)
        ax.set_title(
            f"{f.series.name}: {fs.tp}/{fs.tp + fs.fn} windows, {fs.fp} false alarms "
            f"(alarm level {threshold:.2f})",
            fontsize=8,
        )
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("row (grey: probation, red: NAB windows, triangles: alarms)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=62)
    plt.close(fig)


if __name__ == "__main__":
    main()
