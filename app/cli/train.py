"""``careloop train``: rebuild a shipped model file from its data (the command each model
file's README names). Each model keeps its own training code; this only routes to it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from careloop.errors import SettingsError
from careloop.settings import Settings

#: model -> (what it is, what --data holds, where the shipped file is)
MODELS = {
    "icu": (
        "deterioration risk for careloop score (PhysioNet 2012; ODC-By 1.0)",
        "PhysioNet 2012 folder (../shared/data/physionet2012_icu)",
        "models/artifacts/icu_risk_v1.json",
    ),
    "posture": (
        "posture and lying from raw acceleration (older adults' RFID data; CC BY 4.0)",
        "older adults' wearable data (../shared/data/older_adults_rfid_adl)",
        "models/artifacts/posture-v2.npz",
    ),
    "intents": (
        "care intents in en, zh-Hant, zh-Hans (the project's own corpus; no --data)",
        "not used: the corpus is packaged (models/speech_data/intents.tsv)",
        "models/speech_data/intent_model.npz",
    ),
}


def register(sub: Any) -> argparse.ArgumentParser:
    lines = "\n".join(
        f"  {name:<8} {what}\n           --out default {out}"
        for name, (what, _, out) in MODELS.items()
    )
    p: argparse.ArgumentParser = sub.add_parser(
        "train",
        help="rebuild a shipped model file from its data",
        description="Fit a model on its data and write the model file careloop ships "
        "(plain JSON or arrays: loading it runs no code). Deterministic for a given seed.\n\n"
        "models:\n" + lines,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", choices=sorted(MODELS), help="which model")
    p.add_argument("--data", type=Path, help="the model's data folder (see above)")
    p.add_argument("--out", type=Path, help="the file to write (default: the shipped one)")
    p.add_argument("--seed", type=int, default=0, help="seed (0)")
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    out = args.out or Path(MODELS[args.model][2])
    if args.model == "intents":
        from models.evaluation.intents import write_thresholds
        from models.speech import artefact

        model = artefact.fit_default()
        artefact.save(model, out)
        print(f"wrote {out} ({out.stat().st_size} bytes)")
        if args.out is None:  # the shipped model's thresholds belong beside it
            print("choosing the low-mood threshold by grouped cross-validation (about a minute)")
            chosen = write_thresholds(seed=args.seed)
            print(
                f"wrote models/speech_data/thresholds.json: low_mood one sentence at "
                f"P >= {chosen.value} (out-of-fold recall {chosen.recall}, FPR {chosen.fpr})"
            )
        return 0
    if args.data is None or not args.data.is_dir():
        raise SettingsError(
            "data", f"train {args.model} needs --data DIR ({MODELS[args.model][1]})"
        )
    if args.model == "icu":
        from models.evaluation.icu_train import main as train_icu

        return train_icu(["--data", str(args.data), "--out", str(out), "--seed", str(args.seed)])
    from models.posture.__main__ import main as train_posture

    return train_posture(
        ["train", "--data", str(args.data), "--out", str(out), "--seed", str(args.seed)]
    )
