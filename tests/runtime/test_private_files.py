"""What the scorer writes is its owner's alone, and its log never names whose need it is."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from careloop.logs import log_to_file
from tests.runtime.conftest import T0, Device, score_settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The umask most accounts have: without care, new files are world-readable."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_scorer_files_are_owner_only_and_its_log_names_no_resident(
    mosquitto, tmp_path, site, publisher, needs, start_scorer, caplog, open_umask
):
    caplog.set_level(logging.INFO, logger="models.runtime")
    scorer = start_scorer(score_settings(mosquitto, tmp_path, sites=site))
    Device(publisher, site, "r-anna", tmp_path / "people.sqlite3").send(
        "event", {"ts": T0, "type": "sos_button"}
    )
    need = needs.wait(lambda n: n.site == site)
    scorer.stop()

    written = [p for p in (tmp_path / "score").iterdir() if p.is_file()]
    assert any(p.suffix == ".snapshot" for p in written), written
    assert {p.name: _mode(p) for p in written} == {p.name: 0o600 for p in written}

    need_lines = [r for r in caplog.records if r.getMessage() == "need"]
    assert need_lines, "the scorer logs each need it raises"
    for record in need_lines:
        logged = getattr(record, "fields", {})
        assert logged["site"] == site and logged["kind"] == "sos"
        assert "r-anna" not in repr(logged) and need.id not in repr(logged)


def test_log_file_is_owner_only(tmp_path, open_umask):
    root = logging.getLogger()
    before = {handler: handler.level for handler in root.handlers}
    try:
        log_to_file(tmp_path / "logs" / "demo.log")
        logging.getLogger("careloop.test").warning("written")
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                handler.close()
                root.removeHandler(handler)
        for handler, level in before.items():
            handler.setLevel(level)
    path = tmp_path / "logs" / "demo.log"
    assert "written" in path.read_text(encoding="utf-8")
    assert _mode(path) == 0o600
