"""The deterioration-risk model as a file: a logistic model over streaming vitals features.

The file is JSON (never a pickle: loading it cannot run code), written by
``python -m models.evaluation.icu_train`` and shipped in ``models/artifacts/``. It holds the
feature names (from :data:`models.runtime.riskfeatures.FEATURES`), per feature the value a
missing one is imputed with, the centre and scale it is standardised with and its
coefficient, the intercept, and the threshold above which a held risk counts as high; plus
where it came from (data, licence, command, figures). A SHA-256 of the model part guards
against a file edited or damaged by hand.

Loading raises :class:`~models.base.ModelError` with the reason for a missing file, one that
is not JSON, another format or version, a checksum that does not match, arrays of the
wrong length or with non-finite numbers, or features this runtime does not compute.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.base import ModelError
from models.runtime.riskfeatures import FEATURE_VITAL, FEATURES

F64 = NDArray[np.float64]

FORMAT = "careloop-risk-model"
#: The file layout this code reads; a file of another version is refused, not guessed at.
FORMAT_VERSION = 1
#: The model shipped with careloop (see models/artifacts/README.md).
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "artifacts" / "icu_risk_v1.json"
_ARRAYS = ("impute", "center", "scale", "coef")


@dataclass(frozen=True)
class RiskModel:
    """``p = sigmoid(intercept + coef . (impute(x) - center) / scale)`` over ``features``."""

    name: str
    features: tuple[str, ...]
    impute: F64
    center: F64
    scale: F64
    coef: F64
    intercept: float
    #: A held risk at or above this is "high" (the training rows' upper quantile).
    threshold: float
    #: Free-form provenance: data, licence, citation, command, figures.
    about: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.features)
        unknown = [f for f in self.features if f not in FEATURE_VITAL]
        if unknown:
            raise ModelError(f"model {self.name!r} needs features this runtime lacks: {unknown}")
        for key in _ARRAYS:
            a = getattr(self, key)
            if a.shape != (n,) or not np.isfinite(a).all():
                raise ModelError(f"model {self.name!r}: {key} must be {n} finite numbers")
        if not (self.scale > 0).all():
            raise ModelError(f"model {self.name!r}: scale must be positive")
        if not (math.isfinite(self.intercept) and 0.0 < self.threshold < 1.0):
            raise ModelError(f"model {self.name!r}: bad intercept or threshold")

    @functools.cached_property
    def columns(self) -> NDArray[np.intp]:
        """Where each of the model's features is in :data:`FEATURES`."""
        return np.array([FEATURES.index(f) for f in self.features], dtype=np.intp)

    @functools.cached_property
    def vitals(self) -> tuple[str, ...]:
        """The vitals fields the model reads, in first-use order."""
        return tuple(dict.fromkeys(FEATURE_VITAL[f] for f in self.features))

    def _z(self, X: F64) -> F64:
        x = X[:, self.columns]
        x = np.where(np.isnan(x), self.impute, x)
        return (x - self.center) / self.scale

    def contributions(self, X: F64) -> F64:
        """Per row and model feature, its term of the log-odds (rows of :data:`FEATURES`)."""
        return self._z(X) * self.coef

    def logit(self, X: F64) -> F64:
        """Log-odds of each row of a :func:`~models.runtime.riskfeatures.features` matrix."""
        return self.intercept + self._z(X) @ self.coef

    def predict(self, X: F64) -> F64:
        """Risk (0-1) of each row of a :func:`~models.runtime.riskfeatures.features` matrix."""
        return 1.0 / (1.0 + np.exp(-self.logit(X)))

    # -- the file ------------------------------------------------------------------------------
    def body(self) -> dict[str, Any]:
        """The model part of the file (what the checksum covers)."""
        return {
            "name": self.name,
            "features": list(self.features),
            **{key: [float(v) for v in getattr(self, key)] for key in _ARRAYS},
            "intercept": float(self.intercept),
            "threshold": float(self.threshold),
        }

    def to_json(self) -> str:
        """The whole file: format, version, model, checksum and provenance."""
        body = self.body()
        return json.dumps(
            {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "model": body,
                "sha256": _digest(body),
                "about": self.about,
            },
            indent=1,
            ensure_ascii=False,
        )

    def save(self, path: Path) -> int:
        """Write the file; returns its size in bytes."""
        data = (self.to_json() + "\n").encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return len(data)


def _digest(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_risk_model(path: Path) -> RiskModel:
    """Read a model file; ModelError (with the path and reason) if it cannot be used."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"risk model {path}: no such file") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"risk model {path}: unreadable ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelError(f"risk model {path}: not a {FORMAT} file")
    if doc.get("version") != FORMAT_VERSION:
        raise ModelError(
            f"risk model {path}: format version {doc.get('version')!r}, this careloop reads "
            f"version {FORMAT_VERSION} (retrain with python -m models.evaluation.icu_train)"
        )
    body = doc.get("model")
    if not isinstance(body, dict) or doc.get("sha256") != _digest(body):
        raise ModelError(f"risk model {path}: checksum does not match (damaged or edited)")
    try:
        return RiskModel(
            name=str(body["name"]),
            features=tuple(str(f) for f in body["features"]),
            **{key: np.asarray(body[key], dtype=np.float64) for key in _ARRAYS},
            intercept=float(body["intercept"]),
            threshold=float(body["threshold"]),
            about=dict(doc.get("about") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"risk model {path}: malformed model ({exc!r})") from exc
    except ModelError as exc:
        raise ModelError(f"risk model {path}: {exc}") from exc


@functools.lru_cache(maxsize=1)
def default_risk_model() -> RiskModel:
    """The shipped model (read once per process); ModelError if it is missing or unusable."""
    return load_risk_model(DEFAULT_PATH)
