"""The layer order is checked (scripts/check runs these contracts): an upward import, even a
lazy one inside a function, or a cycle between modules makes the check fail.

The check runs on a copy of the source tree with one line added, so the real tree is never
touched; the unchanged copy passes, which shows it is the added line that breaks it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "careloop", "people", "devservers", "simulators", "edge", "ingest", "models", "alerts",
    "bench", "app",
)  # fmt: skip
LINT = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packages and pyproject.toml (the contracts), without caches."""
    root = tmp_path_factory.mktemp("layers")
    for name in PACKAGES:
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}  # the copy, not the installed tree
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def with_line(root: Path, file: str, line: str) -> Path:
    """A copy of ``root`` in which ``file`` ends with ``line``."""
    copy = root.parent / f"{root.name}-{abs(hash((file, line)))}"
    shutil.copytree(root, copy)
    with (copy / file).open("a", encoding="utf-8") as f:
        f.write("\n" + line + "\n")
    return copy


def test_the_tree_as_it_is_keeps_every_contract(tree: Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_layers(tree: Path) -> None:
    # the kernel reaching up into the CLI, lazily, inside a function
    copy = with_line(
        tree, "careloop/wire/topics.py", "def _up() -> None:\n    import app.cli  # noqa"
    )
    result = lint(copy)
    assert result.returncode != 0
    assert "Imports only go down" in result.stdout and "BROKEN" in result.stdout
    assert "careloop.wire.topics -> app.cli" in result.stdout


def test_a_domain_importing_another_breaks_the_layers(tree: Path) -> None:
    copy = with_line(tree, "ingest/sink.py", "from alerts import AlertStore  # noqa")
    result = lint(copy)
    assert result.returncode != 0
    assert "ingest.sink -> alerts" in result.stdout


def test_a_cycle_breaks_the_acyclic_contract(tree: Path) -> None:
    # alerts.engine imports alerts.model; make the model import the engine back
    copy = with_line(tree, "alerts/model.py", "from alerts import engine  # noqa")
    result = lint(copy)
    assert result.returncode != 0
    assert "No cycles" in result.stdout and "BROKEN" in result.stdout
