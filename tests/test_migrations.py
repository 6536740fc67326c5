"""PostgreSQL schema migrations (careloop/db/migrate.py) on the real server: from an empty
database, from the previous version with rows in it, several processes starting at once, a
database newer than the code refused; and what a store does when the server is unreachable
or restarts under it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts import AlertStore
from alerts.errors import StoreError
from careloop.db.migrate import migrate
from careloop.db.postgres import PgConnection
from devservers import PostgreSQL, free_port
from people import Directory, PeopleError, Resident, Site
from people.store.base import MIGRATIONS as PEOPLE

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pg_url(postgres: PostgreSQL) -> Iterator[str]:
    """An empty database of this test's own on the session's server."""
    name = f"mig_{uuid.uuid4().hex[:12]}"
    yield postgres.create_database(name)
    postgres.drop_database(name)


def _applied(url: str, schema: str, component: str) -> list[int]:
    db = PgConnection(url, schema)
    try:
        rows = db.execute(
            "SELECT version FROM schema_migrations WHERE component = ? ORDER BY version",
            (component,),
        ).fetchall()
    finally:
        db.close()
    return [int(v) for (v,) in rows]


def test_an_empty_database_gets_every_version_once(pg_url: str, tmp_path: Path) -> None:
    newest = len(PEOPLE.files())
    assert newest >= 2
    with Directory(tmp_path / "unused.sqlite3", url=pg_url) as people:
        people.add_site(Site("s1", "Home"))
    with AlertStore(tmp_path / "unused-alerts.sqlite3", url=pg_url) as alerts:
        assert alerts.alerts() == []
    assert _applied(pg_url, "people", "people") == list(range(1, newest + 1))
    assert _applied(pg_url, "alerts", "alerts") == [1]
    assert not (tmp_path / "unused.sqlite3").exists()  # nothing went to a SQLite file
    again = PgConnection(pg_url, "people")
    try:
        assert migrate(again, PEOPLE) == 0  # a second start finds nothing to do
    finally:
        again.close()


def test_the_previous_version_is_upgraded_and_its_rows_kept(pg_url: str, tmp_path: Path) -> None:
    newest = len(PEOPLE.files())
    old = PgConnection(pg_url, "people")
    try:
        assert migrate(old, PEOPLE, upto=newest - 1) == newest - 1
        old.execute("INSERT INTO sites VALUES (?, ?, ?, ?)", ("s1", "Home", "UTC", 0))
        old.execute(
            "INSERT INTO residents (site, id, display_name, language, profile, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ("s1", "r1", "Mrs Lin", "zh", "{}", 1),
        )
    finally:
        old.close()
    assert _applied(pg_url, "people", "people") == list(range(1, newest))

    with Directory(tmp_path / "p.sqlite3", url=pg_url) as people:  # the current code
        assert people.resident("s1", "r1").display_name == "Mrs Lin"
        people.add_resident(Resident("s1", "r2", "Mr Wu", "en"))
        indexes = people.rows("SELECT indexname FROM pg_indexes WHERE schemaname = 'people'")
    assert _applied(pg_url, "people", "people") == list(range(1, newest + 1))
    assert ("devices_resident",) in indexes


def test_four_processes_starting_at_once_migrate_once(pg_url: str) -> None:
    script = (
        "import sys; from pathlib import Path; from people import Directory; "
        "from alerts import AlertStore; "
        "Directory(Path('/nonexistent/p'), url=sys.argv[1]).close(); "
        "AlertStore(Path('/nonexistent/a'), url=sys.argv[1]).close()"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, pg_url], env=env, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    assert _applied(pg_url, "people", "people") == list(range(1, len(PEOPLE.files()) + 1))
    assert _applied(pg_url, "alerts", "alerts") == [1]


def test_a_database_newer_than_the_code_is_refused(pg_url: str, tmp_path: Path) -> None:
    with Directory(tmp_path / "p.sqlite3", url=pg_url) as people, people.tx() as db:
        db.execute(
            "INSERT INTO schema_migrations (component, version, name) VALUES (?, ?, ?)",
            ("people", 99, "0099_from_the_future.sql"),
        )
    with pytest.raises(PeopleError, match="version 99, newer than this code"):
        Directory(tmp_path / "p.sqlite3", url=pg_url)


def test_an_unreachable_server_is_a_store_error_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://careloop:s3cret-pw@127.0.0.1:{free_port()}/careloop"
    with pytest.raises(StoreError) as caught:
        AlertStore(tmp_path / "a.sqlite3", url=url)
    message = str(caught.value)
    assert "cannot open alert store" in message and "127.0.0.1" in message
    assert "s3cret-pw" not in message


def test_a_restarted_server_is_reconnected_on_the_next_call(
    private_postgres: PostgreSQL, tmp_path: Path
) -> None:
    url = private_postgres.create_database("care")
    with Directory(tmp_path / "p.sqlite3", url=url) as people:
        people.add_site(Site("s1", "Home"))
        before = people.version()
        private_postgres.restart()
        try:  # the call that finds the connection dropped fails cleanly ...
            people.ping()
        except PeopleError as exc:
            assert "cannot read people database" in str(exc)
        people.ping()  # ... and the next one opens a new connection
        people.add_site(Site("s2", "Home Two"))
        assert {s.id for s in people.sites()[0]} == {"s1", "s2"}
        assert people.version() > before
