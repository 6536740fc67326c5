"""The docs match the code where a test can tell: every ``--flag`` the docs show is one a
careloop command takes (or another tool's, listed below), and every ``/api/v1/...`` path
they name is served by the API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.api.app import create_app
from app.cli import build_parser
from careloop.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
#: Flags of other tools the docs show, and of the project's plotting scripts.
OTHER_TOOLS = {
    "--data-binary": "curl",
    "--data-urlencode": "curl",
    "--gil": "py-spy",
    "--nonblocking": "py-spy",
    "--threads": "py-spy",
    "--out": "scripts/nab_plots.py, python -m models.evaluation.scenarios",
    "--plot": "python -m models.evaluation.<task>",
    "--seeds": "scripts/speech_intent_cv.py",
}


def careloop_flags() -> set[str]:
    flags: set[str] = set()

    def walk(parser: object) -> None:
        for action in parser._actions:  # type: ignore[attr-defined]
            flags.update(o for o in action.option_strings if o.startswith("--"))
            if isinstance(getattr(action, "choices", None), dict):
                for sub in action.choices.values():
                    walk(sub)

    walk(build_parser())
    return flags


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_flag_in_the_docs_exists(doc: Path) -> None:
    known = careloop_flags() | set(OTHER_TOOLS)
    shown = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", doc.read_text(encoding="utf-8")))
    assert not shown - known, f"{doc.name} shows flags nothing takes: {sorted(shown - known)}"


@pytest.fixture(scope="module")
def api_paths() -> list[re.Pattern[str]]:
    paths = create_app(load_settings(), alert_service=False).openapi()["paths"]
    return [re.compile(re.sub(r"\{[^}]+\}", r"[^/]+", p)) for p in paths]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_api_path_in_the_docs_is_served(doc: Path, api_paths: list[re.Pattern[str]]) -> None:
    missing = []
    for named in re.findall(r"/api/v1/[A-Za-z0-9_{}/.\-]*", doc.read_text(encoding="utf-8")):
        path = named.rstrip(".")
        if path.endswith("...") or path.endswith("/"):  # a prefix: some route starts with it
            prefix = path.rstrip("./")
            ok = any(p.pattern.startswith(prefix) for p in api_paths)
        else:
            ok = any(p.fullmatch(path) for p in api_paths)
        if not ok:
            missing.append(named)
    assert not missing, f"{doc.name} names paths the API does not serve: {missing}"
