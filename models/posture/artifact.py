"""The shipped posture model as a plain-array file: no pickle, so loading cannot run code.

A fitted :class:`~models.posture.PostureClassifier` (motion features only) is written as one
``.npz`` of numeric arrays plus a JSON header, read back with ``allow_pickle=False``, and
evaluated by :class:`PostureModel` with numpy alone. Layout (format
:data:`ARTIFACT_FORMAT`, version :data:`ARTIFACT_VERSION`):

* ``meta``: a JSON string: format, version, classes, feature names, the answer's delay
  (``delay_s``: features at ``t`` and ``t + delay_s``), forest parameters, the training
  command and data licence;
* ``roots`` (int32, one per tree): the global index of each tree's root node;
* ``left`` / ``right`` (int32, per node): children of a split node; at a leaf ``left`` is -1
  and ``right`` is the row of its class probabilities in ``leaf_value``;
* ``feature`` (int16) and ``threshold`` (float32) of each split: rows with
  ``x[feature] <= threshold`` go left;
* ``leaf_value`` (float32, leaves x classes): class probabilities of each leaf.

Thresholds are rounded *down* to float32, so the comparison on float32 features gives exactly
the fitted forest's decisions. Anything missing, malformed or of another version raises
:class:`~models.base.ModelError` with the reason.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.base import ModelError
from models.posture.classifier import PostureClassifier, feature_names

ARTIFACT_FORMAT = "careloop-posture-forest"
ARTIFACT_VERSION = 2
#: The model careloop ships (``python -m models.posture train`` writes it).
DEFAULT_ARTIFACT = Path(__file__).resolve().parent.parent / "artifacts" / "posture-v2.npz"
_ARRAYS = ("roots", "left", "right", "feature", "threshold", "leaf_value")


class PostureModel:
    """A loaded posture forest: :meth:`predict_proba` over :func:`feature_names` rows."""

    def __init__(self, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> None:
        self.meta = meta
        self.classes: tuple[int, ...] = tuple(int(c) for c in meta["classes"])
        self.feature_names: tuple[str, ...] = tuple(meta["features"])
        #: Seconds after a time that its posture is answered (the model reads that far ahead).
        self.delay_s = float(meta["delay_s"])
        self._roots = arrays["roots"].astype(np.intp)
        self._left = arrays["left"].astype(np.intp)
        self._right = arrays["right"].astype(np.intp)
        self._feature = arrays["feature"].astype(np.intp)
        self._threshold = arrays["threshold"]
        self._leaf_value = arrays["leaf_value"]

    @property
    def n_nodes(self) -> int:
        return len(self._left)

    def predict_proba(self, features: NDArray[Any]) -> NDArray[np.float64]:
        """Mean leaf probabilities over the trees, columns in :attr:`classes` order."""
        x = np.asarray(features, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(self.feature_names):
            raise ModelError(f"posture model needs {len(self.feature_names)} feature columns")
        rows = np.arange(len(x))[:, None]
        node = np.broadcast_to(self._roots, (len(x), len(self._roots))).copy()
        split = self._left[node] >= 0
        while split.any():
            go_left = x[rows, self._feature[node]] <= self._threshold[node]
            child = np.where(go_left, self._left[node], self._right[node])
            node = np.where(split, child, node)
            split = self._left[node] >= 0
        return np.asarray(self._leaf_value[self._right[node]].mean(axis=1), dtype=np.float64)


def _tree_arrays(model: PostureClassifier) -> dict[str, NDArray[Any]]:
    roots, left, right, feature, threshold, leaves = [], [], [], [], [], []
    offset = n_leaves = 0
    for est in model.forest_.estimators_:
        tree = est.tree_
        is_leaf = tree.children_left < 0
        leaf_row = np.cumsum(is_leaf) - 1 + n_leaves
        roots.append(offset)
        left.append(np.where(is_leaf, -1, tree.children_left + offset))
        right.append(np.where(is_leaf, leaf_row, tree.children_right + offset))
        feature.append(np.where(is_leaf, 0, tree.feature))
        thr32 = tree.threshold.astype(np.float32)
        thr32 = np.where(thr32 > tree.threshold, np.nextafter(thr32, np.float32(-np.inf)), thr32)
        threshold.append(np.where(is_leaf, 0.0, thr32).astype(np.float32))
        value = tree.value[is_leaf, 0, :]
        leaves.append(value / np.maximum(value.sum(axis=1, keepdims=True), 1e-12))
        offset += tree.node_count
        n_leaves += int(is_leaf.sum())
    return {
        "roots": np.asarray(roots, dtype=np.int32),
        "left": np.concatenate(left).astype(np.int32),
        "right": np.concatenate(right).astype(np.int32),
        "feature": np.concatenate(feature).astype(np.int16),
        "threshold": np.concatenate(threshold).astype(np.float32),
        "leaf_value": np.vstack(leaves).astype(np.float32),
    }


def save_artifact(model: PostureClassifier, path: Path, **info: Any) -> PostureModel:
    """Write a fitted motion-only classifier to ``path``; ``info`` goes into the header."""
    if not hasattr(model, "forest_"):
        raise ModelError("fit the posture classifier before saving it")
    if model.rfid:
        raise ModelError("only a motion-feature model can be shipped (devices send no RFID)")
    arrays = _tree_arrays(model)
    meta = {
        "format": ARTIFACT_FORMAT,
        "version": ARTIFACT_VERSION,
        "classes": [int(c) for c in model.classes_],
        "features": list(feature_names(delay_s=model.delay_s)),
        "delay_s": float(model.delay_s),
        "params": {k: v for k, v in model.get_params().items() if k != "lying_label"},
        **info,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        payload: dict[str, Any] = {"meta": np.array(json.dumps(meta, sort_keys=True)), **arrays}
        np.savez_compressed(fh, **payload)
    return _checked(meta, arrays, path)


def load_posture_model(path: Path | None = None) -> PostureModel:
    """Read and check an artefact (default: the shipped one); ModelError if unusable."""
    path = DEFAULT_ARTIFACT if path is None else Path(path)
    if not path.is_file():
        raise ModelError(f"posture model file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "meta" not in npz.files:
                raise ModelError(f"{path}: not a posture model (no header)")
            meta = json.loads(str(npz["meta"][()]))
            missing = [k for k in _ARRAYS if k not in npz.files]
            if missing:
                raise ModelError(f"{path}: missing arrays {missing}")
            arrays = {k: npz[k] for k in _ARRAYS}
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{path}: unreadable posture model ({exc})") from exc
    return _checked(meta, arrays, path)


def _checked(meta: Any, arrays: dict[str, NDArray[Any]], path: Path) -> PostureModel:
    """Refuse another format or version, other features, and any out-of-range index."""
    if not isinstance(meta, dict) or meta.get("format") != ARTIFACT_FORMAT:
        raise ModelError(f"{path}: not a {ARTIFACT_FORMAT} file")
    if meta.get("version") != ARTIFACT_VERSION:
        raise ModelError(
            f"{path}: posture model version {meta.get('version')!r}, "
            f"this careloop reads version {ARTIFACT_VERSION}"
        )
    delay = meta.get("delay_s")
    if not isinstance(delay, int | float) or not 0 <= delay <= 60:
        raise ModelError(f"{path}: needs a delay_s of 0-60 seconds")
    if tuple(meta.get("features", ())) != feature_names(delay_s=float(delay)):
        raise ModelError(f"{path}: built for other features than this careloop computes")
    classes = meta.get("classes")
    if not isinstance(classes, list) or len(classes) < 2:
        raise ModelError(f"{path}: needs at least two classes")
    kinds = {"roots": "i", "left": "i", "right": "i", "feature": "i", "threshold": "f"}
    kinds["leaf_value"] = "f"
    for key, kind in kinds.items():
        if arrays[key].dtype.kind != kind:
            raise ModelError(f"{path}: array {key} has the wrong type")
    left, right, roots = arrays["left"], arrays["right"], arrays["roots"]
    n, leaf_value = len(left), arrays["leaf_value"]
    if not (len(right) == len(arrays["feature"]) == len(arrays["threshold"]) == n) or n == 0:
        raise ModelError(f"{path}: node arrays differ in length")
    if leaf_value.ndim != 2 or leaf_value.shape[1] != len(classes):
        raise ModelError(f"{path}: leaf values do not match the classes")
    split = left >= 0
    nodes = np.arange(n)
    # children after their parent (so every walk ends), leaves pointing at a value row
    ok = (
        len(roots) > 0
        and np.all((roots >= 0) & (roots < n))
        and np.all(left[split] > nodes[split])
        and np.all(left[split] < n)
        and np.all(right[split] > nodes[split])
        and np.all(right[split] < n)
        and np.all((right[~split] >= 0) & (right[~split] < len(leaf_value)))
        and np.all(
            (arrays["feature"][split] >= 0) & (arrays["feature"][split] < len(meta["features"]))
        )
        and np.all(np.isfinite(leaf_value))
    )
    if not ok:
        raise ModelError(f"{path}: corrupt tree structure")
    return PostureModel(meta, arrays)
