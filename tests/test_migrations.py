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
from app.privacy.receipts import MIGRATIONS as RECEIPTS
from app.privacy.receipts import ReceiptStore, seal
from app.provision.service import MIGRATIONS as PROVISION
from app.provision.service import Provisioner
from careloop.db.migrate import migrate
from careloop.db.postgres import PgConnection
from devservers import PostgreSQL, free_port
from ingest.deadletters import MIGRATIONS as DEAD
from ingest.deadletters import DeadLetter, DeadLetterStore
from people import Directory, PeopleError, Resident, Site, Volunteer
from people.store.base import MIGRATIONS as PEOPLE

ROOT = Path(__file__).resolve().parents[1]
#: Every version of the alert store's migrations (the leased outbox came second).
ALERT_VERSIONS = list(range(1, len(AlertStore.migrations.files()) + 1))


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
    assert _applied(pg_url, "alerts", "alerts") == ALERT_VERSIONS
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


def test_four_processes_starting_at_once_migrate_once(pg_url: str, tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from people import Directory; "
        "from alerts import AlertStore; "
        "Directory(Path('/nonexistent/p'), url=sys.argv[1]).close(); "
        "AlertStore(Path('/nonexistent/a'), url=sys.argv[1]).close(); "
        "from tests.test_migrations import _new_stores; "
        "_new_stores(sys.argv[1], Path(sys.argv[2]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, pg_url, str(tmp_path / str(n))],
            env=env,
            stderr=subprocess.PIPE,
        )
        for n in range(4)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    assert _applied(pg_url, "people", "people") == list(range(1, len(PEOPLE.files()) + 1))
    assert _applied(pg_url, "alerts", "alerts") == ALERT_VERSIONS
    for schema, component in (
        ("ingest", "ingest"),
        ("privacy", "privacy"),
        ("people", "provision"),
    ):
        assert _applied(pg_url, schema, component) == [1]


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


# -- the dead letters, provisioning's MQTT users, the erasure receipts ---------------------


def _new_stores(url: str, root: Path) -> None:
    """Open (and so migrate) the three stores that came to PostgreSQL last, and use each."""
    with DeadLetterStore(root / "d.sqlite3", url=url) as dead:
        dead.add([DeadLetter.make("careloop/v1/s1/d1/vitals", "bad_json", "x", b"{")])
    with Provisioner(root / "p.sqlite3", password_file=root / "pw", acl_file=root / "acl",
                     url=url) as prov:  # fmt: skip
        prov.set_service_password("ingest")
    with ReceiptStore(root / "p.sqlite3", url=url) as receipts:
        by = {"subject": "c1", "role": "coordinator"}
        receipt = {"id": f"er-{root.name}", "site": "s1", "resident": "r1", "erased_at_ms": 1}
        receipts.add(seal({**receipt, "requested_by": by}))


def test_the_new_stores_start_from_an_empty_database(pg_url: str, tmp_path: Path) -> None:
    _new_stores(pg_url, tmp_path)
    assert _applied(pg_url, "ingest", "ingest") == [1]
    assert _applied(pg_url, "privacy", "privacy") == [1]
    # provisioning's table sits in schema people beside the volunteers it reads
    assert _applied(pg_url, "people", "provision") == [1]
    assert _applied(pg_url, "people", "people") == list(range(1, len(PEOPLE.files()) + 1))
    assert not list(tmp_path.rglob("*.sqlite3"))  # nothing went to a SQLite file
    for schema, migrations in (("ingest", DEAD), ("privacy", RECEIPTS), ("people", PROVISION)):
        again = PgConnection(pg_url, schema)
        try:
            assert migrate(again, migrations) == 0  # a second start finds nothing to do
        finally:
            again.close()


def test_a_database_of_the_previous_version_gains_the_new_stores_and_keeps_its_rows(
    pg_url: str, tmp_path: Path
) -> None:
    """The previous careloop kept people and alerts on PostgreSQL and these three in files:
    its database has every people and alerts version and rows, and none of the new ones."""
    with Directory(tmp_path / "unused.sqlite3", url=pg_url) as people:
        people.add_site(Site("s1", "Home"))
        people.add_volunteer(Volunteer("v1", "Vera", ("s1",)))
    AlertStore(tmp_path / "unused-alerts.sqlite3", url=pg_url).close()
    assert _applied(pg_url, "people", "provision") == []

    _new_stores(pg_url, tmp_path)
    with Provisioner(tmp_path / "p.sqlite3", password_file=tmp_path / "pw",
                     acl_file=tmp_path / "acl", url=pg_url) as prov:  # fmt: skip
        username, _ = prov.set_volunteer_password("v1")  # reads the volunteers' sites
        assert prov.services() == ["svc.ingest"]
    assert "careloop/alerts/v1/s1/volunteer/v1" in (tmp_path / "acl").read_text()
    assert username == "vol.v1"
    with Directory(tmp_path / "unused.sqlite3", url=pg_url) as people:
        assert people.volunteer("v1").sites == ("s1",)  # the previous rows are all there
    assert _applied(pg_url, "people", "provision") == [1]
    assert _applied(pg_url, "alerts", "alerts") == ALERT_VERSIONS
    with DeadLetterStore(tmp_path / "d.sqlite3", url=pg_url) as dead:
        assert dead.counts() == {"bad_json": 1}
    with ReceiptStore(tmp_path / "p.sqlite3", url=pg_url) as receipts:
        assert receipts.get(f"er-{tmp_path.name}")["resident"] == "r1"


def test_a_connection_asks_for_tcp_keepalives_unless_the_url_says_otherwise(
    pg_url: str,
) -> None:
    """A vanished server host is noticed in seconds, not after the kernel's two hours."""
    db = PgConnection(pg_url, "public")
    other = PgConnection(
        pg_url + "&keepalives_idle=30" if "?" in pg_url else pg_url + "?keepalives_idle=30",
        "public",
    )
    try:
        db.execute("SELECT 1").fetchone()
        other.execute("SELECT 1").fetchone()
        used = {o.keyword: o.val for o in db._live().pgconn.info}
        assert used[b"keepalives"] == b"1"
        assert used[b"keepalives_idle"] == b"5"
        assert used[b"tcp_user_timeout"] == b"10000"
        kept = {o.keyword: o.val for o in other._live().pgconn.info}
        assert kept[b"keepalives_idle"] == b"30"
    finally:
        db.close()
        other.close()
