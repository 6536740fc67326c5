"""Every store's tables are the same on both backends: the SQLite file a store creates
(its ``CREATE TABLE`` scripts and column upgrades) and the schema its PostgreSQL migrations
make, on a real server, hold the same tables with the same columns in the same order, of
compatible types, nullability and defaults, the same primary keys (generated or not),
unique constraints and named indexes (tests/helpers/schemas.py reads them back).

The stores are found, not listed: every module of the packages pyproject.toml type-checks is
imported and every subclass of :class:`careloop.store.Store` that can live on PostgreSQL is
opened on a fresh SQLite file; every ``migrations/`` folder of the tree must belong to one of
them. So a new store, a new table or a column added on one side only fails here.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from careloop.db.migrate import Migrations, migrate
from careloop.db.postgres import PgConnection
from careloop.store import Store
from devservers import PostgreSQL
from tests.helpers.schemas import Column, Table, differences, pg_tables, sqlite_tables

ROOT = Path(__file__).resolve().parents[1]


def _stores() -> list[type[Store]]:
    """Every Store subclass with PostgreSQL migrations, after importing every module."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for name in config["tool"]["mypy"]["packages"]:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)
    found: set[type[Store]] = set()
    todo = [Store]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted((s for s in found if s.migrations), key=lambda s: s.__qualname__)


STORES = _stores()


def _open(store: type[Store], folder: Path) -> None:
    """Open ``store`` on a fresh SQLite file in ``folder`` (files it needs beside it) and close
    it: the file then holds the tables a new deployment gets."""
    folder.mkdir()
    params = inspect.signature(store.__init__).parameters
    extra = {
        name: folder / name
        for name, p in list(params.items())[2:]  # self, path
        if p.default is inspect.Parameter.empty and p.kind is p.KEYWORD_ONLY
    }
    store(folder / "store.sqlite3", **extra).close()


@pytest.fixture(scope="module")
def migrated(postgres: PostgreSQL) -> Iterator[dict[tuple[str, str], tuple[str, Table]]]:
    """(schema, table) -> (the component whose migrations made it, the table) in a fresh
    database where every store's migrations (and those it requires) ran."""
    name = f"parity_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name)
    tables: dict[tuple[str, str], tuple[str, Table]] = {}
    try:
        for store in STORES:
            assert store.migrations is not None
            db = PgConnection(url, store.pg_schema)
            try:
                for component in (*store.requires, store.migrations):
                    if migrate(db, component):
                        for table, shape in pg_tables(db).items():
                            tables.setdefault((db.schema, table), (component.component, shape))
            finally:
                db.close()
        yield tables
    finally:
        postgres.drop_database(name)


def test_every_migrations_folder_belongs_to_a_store() -> None:
    packages = {
        m.package for s in STORES for m in (*s.requires, s.migrations) if isinstance(m, Migrations)
    }
    folders = {
        ".".join(p.parent.parent.relative_to(ROOT).parts)
        for p in ROOT.glob("**/migrations/0001_*.sql")
        if not {".venv", "tests"} & set(p.relative_to(ROOT).parts)
    }
    assert len(folders) >= 5 and len(STORES) >= 5, (folders, STORES)
    assert folders == packages, f"migration folders without a store: {folders - packages}"


@pytest.mark.parametrize("store", STORES, ids=lambda s: s.__qualname__)
def test_the_sqlite_file_matches_the_migrations(
    store: type[Store], migrated: dict[tuple[str, str], tuple[str, Table]], tmp_path: Path
) -> None:
    assert store.migrations is not None
    _open(store, tmp_path / "db")
    mine = {m.component for m in (*store.requires, store.migrations)}
    problems = []
    for table, shape in sorted(sqlite_tables(tmp_path / "db" / "store.sqlite3").items()):
        owner, pg = migrated.get((store.pg_schema, table), ("", None))
        if pg is None or owner not in mine:
            problems.append(f"{table}: on SQLite only (no migration of {sorted(mine)} makes it)")
        else:
            problems += differences(table, shape, pg)
    assert not problems, f"{store.__qualname__}:\n" + "\n".join(problems)


def test_every_migrated_table_is_made_on_sqlite_too(
    migrated: dict[tuple[str, str], tuple[str, Table]], tmp_path: Path
) -> None:
    made: set[tuple[str, str]] = set()
    for store in STORES:
        folder = tmp_path / store.__qualname__
        _open(store, folder)
        made |= {(store.pg_schema, t) for t in sqlite_tables(folder / "store.sqlite3")}
    missing = sorted(set(migrated) - made)
    assert not missing, f"on PostgreSQL only (no store makes them on SQLite): {missing}"


def test_a_column_on_one_side_only_is_reported(
    migrated: dict[tuple[str, str], tuple[str, Table]],
) -> None:
    """The comparison itself can fail: the real deadletters table against itself with one
    column more, and with a column of another type."""
    _, table = migrated[("ingest", "deadletters")]
    assert differences("deadletters", table, table) == []
    more = dataclasses.replace(
        table, columns=(*table.columns, Column("extra", "text", False, None))
    )
    assert any(
        "only in PostgreSQL: ['extra']" in p for p in differences("deadletters", table, more)
    )
    retyped = tuple(
        dataclasses.replace(c, family="real") if c.name == "size" else c for c in table.columns
    )
    changed = dataclasses.replace(table, columns=retyped)
    assert differences("deadletters", table, changed) == [
        "deadletters.size: family is 'integer' on SQLite, 'real' on PG"
    ]
