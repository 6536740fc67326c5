"""The shipped posture artefact: exact round trip, no pickle, clear errors, training CLI."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from models.base import ModelError
from models.posture import PostureClassifier, posture_features
from models.posture.__main__ import main as posture_main
from models.posture.artifact import (
    ARTIFACT_VERSION,
    DEFAULT_ARTIFACT,
    load_posture_model,
    save_artifact,
)
from tests.models.cases_posture import synthetic_sessions
from tests.models.test_posture import write_trials


@pytest.fixture(scope="module")
def fitted() -> tuple[PostureClassifier, np.ndarray]:
    raw, y = synthetic_sessions(7, n=4)
    model = PostureClassifier(n_estimators=12, min_samples_leaf=3, random_state=1).fit(raw, y)
    return model, posture_features(raw, delay_s=model.delay_s)


@pytest.fixture
def saved(tmp_path: Path, fitted) -> Path:
    path = tmp_path / "posture.npz"
    save_artifact(fitted[0], path, training_command="test")
    return path


def _rewrite(src: Path, dst: Path, **changes) -> Path:
    """Copy an artefact, replacing or (value None) dropping arrays; 'meta' may be a dict."""
    with np.load(src, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        elif key == "meta" and isinstance(value, dict):
            arrays[key] = np.array(json.dumps(value))
        else:
            arrays[key] = value
    np.savez(dst, **arrays)
    return dst


def _meta(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as npz:
        return json.loads(str(npz["meta"][()]))


def test_loaded_artefact_gives_the_fitted_forests_probabilities(fitted, saved) -> None:
    model, feats = fitted
    loaded = load_posture_model(saved)
    assert loaded.classes == tuple(int(c) for c in model.classes_)
    np.testing.assert_allclose(
        loaded.predict_proba(feats), model.proba_features(feats), rtol=0, atol=1e-6
    )
    meta = _meta(saved)
    assert meta["version"] == ARTIFACT_VERSION and meta["training_command"] == "test"
    assert meta["params"]["n_estimators"] == 12


def test_artefact_holds_no_pickled_object(saved) -> None:
    with zipfile.ZipFile(saved) as zf:
        for name in zf.namelist():
            header = zf.read(name)[:128]
            assert b"|O" not in header, f"{name} is an object array"


def test_missing_or_corrupt_files_raise_model_error(tmp_path: Path, saved) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_posture_model(tmp_path / "nope.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(ModelError, match="unreadable"):
        load_posture_model(junk)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(saved.read_bytes()[:200])
    with pytest.raises(ModelError):
        load_posture_model(truncated)


def test_a_pickled_array_is_refused(tmp_path: Path, saved) -> None:
    evil = _rewrite(saved, tmp_path / "evil.npz", left=np.array([object()], dtype=object))
    with pytest.raises(ModelError, match="unreadable"):
        load_posture_model(evil)


def test_other_versions_formats_and_features_are_refused(tmp_path: Path, saved) -> None:
    meta = _meta(saved)
    newer = _rewrite(saved, tmp_path / "v2.npz", meta={**meta, "version": ARTIFACT_VERSION + 1})
    with pytest.raises(ModelError, match="version"):
        load_posture_model(newer)
    other = _rewrite(saved, tmp_path / "other.npz", meta={**meta, "format": "something-else"})
    with pytest.raises(ModelError, match="not a careloop-posture-forest"):
        load_posture_model(other)
    fewer = _rewrite(saved, tmp_path / "f.npz", meta={**meta, "features": meta["features"][:-1]})
    with pytest.raises(ModelError, match="other features"):
        load_posture_model(fewer)
    delay = _rewrite(saved, tmp_path / "d.npz", meta={**meta, "delay_s": 2.0})
    with pytest.raises(ModelError, match="other features"):
        load_posture_model(delay)
    for bad in (None, -1.0, "4", 600):
        odd = _rewrite(saved, tmp_path / "odd.npz", meta={**meta, "delay_s": bad})
        with pytest.raises(ModelError, match="delay_s"):
            load_posture_model(odd)
    headless = _rewrite(saved, tmp_path / "headless.npz", meta=None)
    with pytest.raises(ModelError, match="no header"):
        load_posture_model(headless)
    gone = _rewrite(saved, tmp_path / "gone.npz", leaf_value=None)
    with pytest.raises(ModelError, match="missing arrays"):
        load_posture_model(gone)


def test_broken_tree_structure_is_refused(tmp_path: Path, saved) -> None:
    with np.load(saved, allow_pickle=False) as npz:
        left, roots = npz["left"].copy(), npz["roots"].copy()
    loop = left.copy()
    split = np.flatnonzero(loop >= 0)[0]
    loop[split] = split  # a node that is its own child would never end
    with pytest.raises(ModelError, match="corrupt"):
        load_posture_model(_rewrite(saved, tmp_path / "loop.npz", left=loop))
    far = roots.copy()
    far[0] = len(left) + 5
    with pytest.raises(ModelError, match="corrupt"):
        load_posture_model(_rewrite(saved, tmp_path / "far.npz", roots=far))
    short = _rewrite(saved, tmp_path / "short.npz", threshold=np.zeros(3, dtype=np.float32))
    with pytest.raises(ModelError, match="length"):
        load_posture_model(short)
    as_float = _rewrite(saved, tmp_path / "float.npz", left=left.astype(np.float64))
    with pytest.raises(ModelError, match="wrong type"):
        load_posture_model(as_float)


def test_only_fitted_motion_models_are_saved(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="fit"):
        save_artifact(PostureClassifier(), tmp_path / "x.npz")
    raw, y = synthetic_sessions(0, n=2)
    rfid = PostureClassifier(n_estimators=3, rfid=True).fit(raw, y)
    with pytest.raises(ModelError, match="RFID"):
        save_artifact(rfid, tmp_path / "x.npz")


def test_train_command_writes_a_loadable_artefact(tmp_path: Path, capsys) -> None:
    write_trials(tmp_path / "data", seed=5, n=4)
    out = tmp_path / "model.npz"
    assert posture_main(["train", "--data", str(tmp_path / "data"), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["trained_on"]["trials"] == 4 and "CC BY 4.0" in printed["data_licence"]
    model = load_posture_model(out)
    assert model.meta["training_command"].startswith("python -m models.posture train")


def test_the_shipped_artefact_loads_with_its_readme() -> None:
    model = load_posture_model()
    assert model.meta["version"] == ARTIFACT_VERSION
    assert model.classes == (1, 2, 3, 4) and model.delay_s == 4.0
    assert model.meta["params"]["samples_only"] is True
    assert DEFAULT_ARTIFACT.stat().st_size < 2_000_000
    readme = (DEFAULT_ARTIFACT.parent / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in readme and "Torres" in readme
    assert "python -m models.posture train" in readme
    feats = np.zeros((2, len(model.feature_names)), dtype=np.float32)
    proba = model.predict_proba(feats)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(ModelError, match="feature columns"):
        model.predict_proba(feats[:, :3])
