"""``careloop eval``: score a model family on labelled data, print one JSON object."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Any

from careloop.errors import SettingsError
from careloop.settings import Settings
from models.evaluation import TASKS

_DATA = {
    "nab": "NAB: data/<category>/*.csv and labels/combined_windows.json (../shared/data/nab)",
    "icu": "PhysioNet 2012: timeseries_long.csv.gz and outcomes.csv "
    "(../shared/data/physionet2012_icu)",
    "icu-runtime": "PhysioNet 2012, replayed through the scorer (../shared/data/physionet2012_icu)",
    "adl": "older adults' wearable data: S1_Dataset/, S2_Dataset/ "
    "(../shared/data/older_adults_rfid_adl)",
    "utterances": "XED: utterances.tsv (../shared/data/xed_emotion_utterances)",
    "scenarios": "optional: a folder for the simulated run's files (default: a temp dir)",
    "intents": "intents.tsv (lang intent text), e.g. tests/models/data/intents_heldout; "
    "or --cv: grouped cross-validation on the packaged corpus",
}


def register(sub: Any) -> argparse.ArgumentParser:
    tasks = "\n".join(f"  {name:<11} {_DATA[name]}" for name in TASKS)
    p: argparse.ArgumentParser = sub.add_parser(
        "eval",
        help="evaluate a model family on labelled data (prints JSON)",
        description="Evaluate on labelled data read in place; anything fitted is fitted on "
        "--data by cross-validation, never on a fixed file.\n\ntasks and their --data:\n" + tasks,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("task", choices=sorted(TASKS), help="what to evaluate")
    p.add_argument("--data", type=Path, help="the task's data folder (see above)")
    p.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    p.add_argument("--seed", type=int, default=0, help="seed for folds and models (0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    p.add_argument("--cv", action="store_true", help="intents: cross-validate on the corpus")
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.task != "scenarios" and not (args.cv and args.task == "intents"):
        if args.data is None:
            raise SettingsError("data", f"eval {args.task} needs --data DIR ({_DATA[args.task]})")
        if not args.data.is_dir():
            raise SettingsError("data", f"{args.data} is not a folder")
    try:
        module = importlib.import_module(TASKS[args.task])
    except ModuleNotFoundError as exc:
        if exc.name != TASKS[args.task]:
            raise
        raise SettingsError("task", f"{args.task!r} is not implemented yet") from exc
    extra = {"cv": True} if args.cv else {}
    result = module.evaluate(args.data, seed=args.seed, progress=not args.no_progress, **extra)
    print(json.dumps(result, ensure_ascii=False))
    return 0
