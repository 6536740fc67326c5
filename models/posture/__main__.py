"""``python -m models.posture train --data DIR --out FILE``: fit and write the shipped model.

Fits :class:`~models.posture.PostureClassifier` (motion features only, answering 4 s late,
fitted on the readings that bring a new sample: the parameters of :data:`SHIPPED_PARAMS`) on
every trial of the older adults' wearable data under ``DIR`` and writes the plain-array
artefact (:mod:`models.posture.artifact`). The figures that chose those
parameters come from ``careloop eval adl``, which never fits on the rows it scores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from models.posture.artifact import DEFAULT_ARTIFACT, save_artifact
from models.posture.classifier import PostureClassifier
from models.posture.data import read_trials

#: The shipped model's parameters (chosen by grouped cross-validation, docs/evaluation/adl.md).
SHIPPED_PARAMS: dict[str, Any] = {
    "n_estimators": 100,
    "min_samples_leaf": 2,
    "max_features": 0.3,
    "delay_s": 4.0,
    "samples_only": True,
}
DATA_LICENCE = (
    "CC BY 4.0: UCI dataset 427, Activity recognition with healthy older people using a "
    "batteryless wearable sensor. Torres, Ranasinghe, Shi & Sample (2013), IEEE RFID 2013"
)


def train(data: Path, out: Path, *, seed: int = 0) -> dict[str, object]:
    """Fit on every trial under ``data`` and write the artefact to ``out``; its header."""
    trials = read_trials(data)
    with threadpool_limits(1):
        model = PostureClassifier(**SHIPPED_PARAMS, random_state=seed).fit(trials.raw, trials.y)
    command = f"python -m models.posture train --data <DIR> --out {out.name} --seed {seed}"
    loaded = save_artifact(
        model,
        out,
        training_command=command,
        trained_on={
            "trials": len(trials.names),
            "readings": len(trials.y),
            "fitted_rows": int(model.training_rows(trials.raw).sum()),
        },
        data_licence=DATA_LICENCE,
    )
    return {**loaded.meta, "nodes": loaded.n_nodes, "bytes": out.stat().st_size}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.posture", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="fit on the data set and write the artefact")
    t.add_argument("--data", type=Path, required=True, help="folder with S1_Dataset, S2_Dataset")
    t.add_argument("--out", type=Path, default=DEFAULT_ARTIFACT)
    t.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    header = train(args.data, args.out, seed=args.seed)
    header.pop("features", None)
    print(json.dumps(header, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
