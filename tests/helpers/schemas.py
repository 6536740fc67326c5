"""Reading a database's tables back, on SQLite and on PostgreSQL, into one shape to compare:
the schema parity test (tests/test_schema_parity.py) holds the SQLite scripts and the
PostgreSQL migrations of every store to the same tables.

A table is its columns in order (``INSERT INTO t VALUES (...)`` relies on the order), each
with a type family, nullability and default; its primary key; whether the key is generated
(SQLite's ``INTEGER PRIMARY KEY``, PostgreSQL's identity); its unique constraints and its
named indexes.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from careloop.db.postgres import PgConnection

#: Type family of each declared type: the values a column holds, whichever backend.
FAMILIES = {
    # SQLite declarations
    "INTEGER": "integer",
    "TEXT": "text",
    "REAL": "real",
    "BLOB": "bytes",
    # PostgreSQL information_schema.columns.data_type
    "smallint": "integer",
    "integer": "integer",
    "bigint": "integer",
    "text": "text",
    "character varying": "text",
    "double precision": "real",
    "real": "real",
    "bytea": "bytes",
}
#: Tables the migration runner keeps in every schema (careloop/db/migrate.py), not a store's.
PG_KERNEL = frozenset({"schema_migrations", "careloop_changes"})


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    family: str  # FAMILIES' value, or "unknown <declared type>"
    not_null: bool
    default: str | None


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    generated_key: bool
    unique: frozenset[tuple[str, ...]]
    #: CREATE INDEX ones: (name, columns, unique, partial).
    indexes: frozenset[tuple[str, tuple[str, ...], bool, bool]]


def family(declared: str) -> str:
    return FAMILIES.get(declared, f"unknown {declared!r} (add it to FAMILIES)")


def _default(value: str | None) -> str | None:
    """``'[]'::text`` and ``'[]'`` read the same."""
    return None if value is None else re.sub(r"::[a-z ]+$", "", value)


def sqlite_tables(path: Path) -> dict[str, Table]:
    """Every table of the SQLite file ``path``."""
    db = sqlite3.connect(path)
    try:
        names = [
            n
            for (n,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {name: _sqlite_table(db, name) for name in names}
    finally:
        db.close()


def _sqlite_table(db: sqlite3.Connection, name: str) -> Table:
    info = db.execute(f"PRAGMA table_info({name})").fetchall()  # cid name type notnull dflt pk
    key = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
    columns = tuple(
        Column(r[1], family(r[2].upper()), bool(r[3]) or r[1] in key, _default(r[4])) for r in info
    )
    generated = len(key) == 1 and next(c for c in info if c[1] == key[0])[2].upper() == "INTEGER"
    unique: set[tuple[str, ...]] = set()
    indexes: set[tuple[str, tuple[str, ...], bool, bool]] = set()
    for _, index, is_unique, origin, partial in db.execute(f"PRAGMA index_list({name})"):
        cols = tuple(r[2] for r in db.execute(f"PRAGMA index_info({index})"))
        if origin == "u":
            unique.add(cols)
        elif origin == "c":
            indexes.add((index, cols, bool(is_unique), bool(partial)))
    return Table(columns, key, generated, frozenset(unique), frozenset(indexes))


_PG_COLUMNS = """
SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity
FROM information_schema.columns WHERE table_schema = ? ORDER BY table_name, ordinal_position
"""
_PG_KEYS = """
SELECT tc.table_name, k.column_name FROM information_schema.table_constraints tc
JOIN information_schema.key_column_usage k ON k.constraint_schema = tc.constraint_schema
    AND k.constraint_name = tc.constraint_name AND k.table_name = tc.table_name
WHERE tc.table_schema = ? AND tc.constraint_type = 'PRIMARY KEY'
ORDER BY tc.table_name, k.ordinal_position
"""
_PG_INDEXES = """
SELECT t.relname, i.relname, ix.indisunique, ix.indisprimary, ix.indpred IS NOT NULL,
    EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid),
    array(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY AS k(num, pos)
          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.num ORDER BY k.pos)
FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = ?
"""


def pg_tables(db: PgConnection) -> dict[str, Table]:
    """Every table of ``db``'s schema but the migration runner's own."""
    schema = db.schema
    cols: dict[str, list[Column]] = {}
    generated: set[str] = set()
    for table, name, kind, nullable, default, identity in db.execute(_PG_COLUMNS, (schema,)):
        cols.setdefault(table, []).append(
            Column(name, family(kind), nullable == "NO", _default(default))
        )
        if identity == "YES" or (default or "").startswith("nextval("):
            generated.add(table)
    keys: dict[str, list[str]] = {}
    for table, name in db.execute(_PG_KEYS, (schema,)):
        keys.setdefault(table, []).append(name)
    unique: dict[str, set[tuple[str, ...]]] = {}
    indexes: dict[str, set[tuple[str, tuple[str, ...], bool, bool]]] = {}
    for table, index, is_unique, primary, partial, constraint, on in db.execute(
        _PG_INDEXES, (schema,)
    ):
        if primary:
            continue
        if constraint:
            unique.setdefault(table, set()).add(tuple(on))
        else:
            indexes.setdefault(table, set()).add((index, tuple(on), is_unique, partial))
    return {
        table: Table(
            tuple(columns),
            tuple(keys.get(table, ())),
            table in generated,
            frozenset(unique.get(table, ())),
            frozenset(indexes.get(table, ())),
        )
        for table, columns in cols.items()
        if table not in PG_KERNEL
    }


def differences(name: str, sqlite: Table, pg: Table) -> list[str]:
    """What differs between the two forms of table ``name``, one line each ([] = the same)."""
    out: list[str] = []
    lite = [c.name for c in sqlite.columns]
    post = [c.name for c in pg.columns]
    if lite != post:
        only_lite = [c for c in lite if c not in post]
        only_pg = [c for c in post if c not in lite]
        out.append(
            f"{name}: columns differ: SQLite {lite}, PostgreSQL {post} "
            f"(only in SQLite: {only_lite}, only in PostgreSQL: {only_pg})"
        )
    by_name = {c.name: c for c in pg.columns}
    for col in sqlite.columns:
        other = by_name.get(col.name)
        if other is None:
            continue
        for what in ("family", "not_null", "default"):
            mine, theirs = getattr(col, what), getattr(other, what)
            if mine != theirs:
                out.append(f"{name}.{col.name}: {what} is {mine!r} on SQLite, {theirs!r} on PG")
    for what in ("primary_key", "generated_key", "unique", "indexes"):
        mine, theirs = getattr(sqlite, what), getattr(pg, what)
        if mine != theirs:
            out.append(
                f"{name}: {what} is {sorted_repr(mine)} on SQLite, {sorted_repr(theirs)} on PG"
            )
    return out


def sorted_repr(value: object) -> str:
    return repr(sorted(value)) if isinstance(value, frozenset) else repr(value)
