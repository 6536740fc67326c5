"""``careloop people``: the people database from the command line (import a roster file)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from careloop.errors import SettingsError
from careloop.settings import Settings


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "people",
        help="the people database: import a roster file, count what it holds",
        description="Residents, volunteers, rotations, overrides, consents, care profiles and "
        "devices live in one people database (--people-db; default DATA_DIR/people.sqlite3) "
        "that ingest, the scorer, the alert service and the API read and follow. 'import "
        "FILE' writes a roster TOML (volunteers, residents, rotations, overrides; format in "
        "docs/alerts.md) into it, creating the sites it names; 'summary' counts the records. "
        "Everything else is done through the API (docs/api.md).",
    )
    p.add_argument("action", choices=["import", "summary"], help="what to do")
    p.add_argument("file", nargs="?", type=Path, help="the roster TOML, for 'import'")
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    from people import Directory, import_roster, load_roster_file

    with Directory(settings.paths.people, url=settings.store_url) as people:
        if args.action == "import":
            if args.file is None:
                raise SettingsError("file", "people import needs a roster FILE")
            written = import_roster(people, load_roster_file(args.file))
            print(json.dumps({"imported": str(args.file), **written}))
            return 0
        counts = {
            "sites": people.sites(limit=None)[1],
            "residents": people.residents(limit=None)[1],
            "volunteers": people.volunteers(limit=None)[1],
            "rotations": people.rotations(limit=None)[1],
            "overrides": people.overrides(limit=None)[1],
        }
        print(json.dumps({"people_db": str(settings.paths.people), **counts}))
    return 0
