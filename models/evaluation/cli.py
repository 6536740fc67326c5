"""What the evaluation modules' ``python -m`` entry points share: flags, JSON, the plot file.

``careloop eval <task>`` prints the figures; ``python -m models.evaluation.<task> --plot DIR``
also draws the task's plot for the docs. Each task passes its own ``run`` and ``plot``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def save_figure(fig: Any, path: Path) -> None:
    """Write a matplotlib figure at the docs' resolution and free it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_main(
    doc: str | None,
    run: Callable[..., Any],
    plot: Callable[[Any, Path], None],
    *,
    filename: str,
    data_help: str,
    argv: list[str] | None = None,
) -> int:
    """Run an evaluation, print its summary as JSON, and with ``--plot DIR`` draw its plot."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    p.add_argument("--data", type=Path, required=True, help=data_help)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", type=Path, help=f"folder for {filename}")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    result = run(args.data, seed=args.seed, progress=not args.no_progress)
    print(json.dumps(result.summary, ensure_ascii=False))
    if args.plot is not None:
        plot(result, args.plot / filename)
    return 0
