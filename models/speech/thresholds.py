"""Decision thresholds on the care-intent model's probabilities, chosen by cross-validation.

One clear sentence ("I feel so lonely", "今天有點悶") opens a ``low_mood`` need at once, so the
probability that makes a sentence "clear" decides how often a volunteer is paged for chat.
It is not picked by hand: :func:`choose_threshold` takes the out-of-fold probabilities of the
grouped cross-validation (whole paraphrase groups left out, ``careloop eval intents --cv``)
and returns the lowest threshold whose false-alarm rate on lines that are *not* low mood
stays at or under ``max_fpr``. ``careloop train intents`` writes it, with the figures it was
chosen on and the digest of the model it belongs to, to ``models/speech_data/thresholds.json``
(plain JSON: loading it runs no code). A unit test fails when the digest no longer matches the
shipped model, so a threshold is never used with a model it was not chosen for.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from models.base import ModelError

FILENAME = "thresholds.json"
#: Out-of-fold false-alarm rate allowed on lines that are not low mood (neutral chat, praise,
#: requests, complaints, pain, confusion, help).
LOW_MOOD_MAX_FPR = 0.01


@dataclass(frozen=True, slots=True)
class Threshold:
    """A probability threshold and the out-of-fold figures it was chosen on."""

    value: float
    recall: float
    fpr: float
    max_fpr: float
    n_positive: int
    n_negative: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "recall": self.recall,
            "fpr": self.fpr,
            "max_fpr": self.max_fpr,
            "n_positive": self.n_positive,
            "n_negative": self.n_negative,
        }


def choose_threshold(positive: ArrayLike, score: ArrayLike, max_fpr: float) -> Threshold:
    """The lowest threshold ``t`` (rounded up to 0.01) with FPR(score >= t) <= ``max_fpr``.

    ``positive`` marks the lines of the class (low mood), ``score`` is their out-of-fold
    probability of it. Raises :class:`ModelError` without both kinds of line.
    """
    pos = np.asarray(positive, dtype=bool)
    s = np.asarray(score, dtype=float)
    if pos.shape != s.shape or pos.all() or not pos.any():
        raise ModelError("choose_threshold needs positive and negative lines, one score each")
    if not 0.0 <= max_fpr < 1.0:
        raise ModelError("max_fpr must be in [0, 1)")
    negatives = np.sort(s[~pos])[::-1]
    allowed = math.floor(max_fpr * negatives.size)
    # every negative scoring above the (allowed+1)-th highest must stay below t
    cut = negatives[allowed] if allowed < negatives.size else 0.0
    value = min(1.0, math.floor(cut * 100 + 1e-9) / 100 + 0.01)
    fpr = float((negatives >= value).mean())
    recall = float((s[pos] >= value).mean())
    return Threshold(
        value=round(value, 2),
        recall=round(recall, 4),
        fpr=round(fpr, 4),
        max_fpr=max_fpr,
        n_positive=int(pos.sum()),
        n_negative=int(negatives.size),
    )


def default_path() -> Path:
    """Where the shipped thresholds live."""
    return Path(str(resources.files("models") / "speech_data" / FILENAME))


def save(thresholds: dict[str, Threshold], digest: str, chosen_by: str, path: Path) -> None:
    """Write ``thresholds`` (by name) with the model digest they belong to."""
    body = {
        "digest": digest,
        "chosen_by": chosen_by,
        "thresholds": {name: t.as_dict() for name, t in thresholds.items()},
    }
    path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def load(path: Path | None = None) -> tuple[dict[str, Threshold], str]:
    """The thresholds (by name) and the model digest they were chosen for."""
    path = path or default_path()
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        found = {name: Threshold(**t) for name, t in body["thresholds"].items()}
        return found, str(body["digest"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: not a thresholds file ({exc})") from exc


@lru_cache(maxsize=1)
def low_mood_threshold() -> float:
    """P(low_mood) at which one sentence opens a low-mood need (the shipped, CV-chosen one)."""
    return load()[0]["low_mood"].value
