"""Plots and the comparison table for docs/evaluation/nab.md.

    nice -n 19 .venv/bin/python scripts/nab_plots.py --data ../shared/data/nab \
        --out docs/evaluation/img

Writes ``nab_scores.png`` (our NAB scores beside every published detector's on the same files)
and ``nab_detections.png`` (four files: windows, alarms), and prints the markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from models.evaluation.nab import NAB_PROFILE, REFERENCE_FILE, load_corpus, run_detector
from models.evaluation.nab_scoring import (
    PROFILES,
    best_threshold,
    corpus_rows,
    file_rows,
    normalise,
    probation_length,
    score_at,
)
from models.stream_anomaly import MultiScaleNovelty

OURS = "MultiScaleNovelty (careloop)"
EXAMPLES = ("art_daily_nojump", "machine_temperature", "nyc_taxi", "cpu_utilization")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    files = load_corpus(args.data)
    scored = [(f, run_detector(MultiScaleNovelty(), f)) for f in files]
    rows = corpus_rows([(f.series, s) for f, s in scored])
    ours: dict[str, float] = {}
    threshold = 0.0
    for name, profile in PROFILES.items():
        th, raw = best_threshold(rows, profile)
        ours[name] = normalise(raw, rows.n_windows, profile)
        threshold = th if name == "standard" else threshold

    reference = json.loads((args.data / REFERENCE_FILE).read_text())
    table = {
        det: {p: v[NAB_PROFILE[p]]["optimised_score"] for p in PROFILES}
        for det, v in reference.items()
    }
    table[OURS] = ours
    _print_table(reference, ours)
    _bars(table, args.out / "nab_scores.png")
    _examples(scored, threshold, args.out / "nab_detections.png")


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
            f"{f.series.name}: {fs.tp}/{fs.tp + fs.fn} windows, {fs.fp} false alarms",
            fontsize=8,
        )
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("row (grey: probation, red: NAB windows, triangles: alarms)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=62)
    plt.close(fig)


if __name__ == "__main__":
    main()
