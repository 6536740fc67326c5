"""The people database on both backends (``database_url``: SQLite files, PostgreSQL): every
record family the directory keeps, the statements that differ between the two (upserts,
``RETURNING id``, JSON site lists, unbounded pages) and the change counter followers use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from people import (
    Appointment,
    Consent,
    ConsentCache,
    Device,
    DeviceRegistry,
    Directory,
    NotFound,
    PushSubscription,
    Resident,
    Rotation,
    Site,
    Volunteer,
    import_roster,
    parse_roster,
)

T0 = 1_767_600_000_000


@pytest.fixture
def people(tmp_path: Path, database_url: str) -> Iterator[Directory]:
    directory = Directory(tmp_path / "people.sqlite3", url=database_url, clock=lambda: T0)
    directory.add_site(Site("s1", "Home One"))
    directory.add_site(Site("s2", "Home Two"))
    for rid in ("r1", "r2"):
        directory.add_resident(Resident("s1", rid, f"Resident {rid}", "zh"))
    yield directory
    directory.close()


def test_residents_consents_and_paging(people: Directory) -> None:
    people.add_resident(Resident("s2", "r1", "Same id, other site", "en"))
    rows, total = people.residents(frozenset({"s1"}), limit=1)
    assert (len(rows), total) == (1, 2)
    everyone, total = people.residents(None, limit=None)
    assert total == 3 and len(everyone) == 3
    nobody, total = people.residents(frozenset(), limit=None)
    assert (nobody, total) == ([], 0)

    people.set_consent(Consent("s1", "r1", store_utterance_text=True))
    people.set_consent(Consent("s1", "r1", share_with_volunteers=True))  # replaces the row
    consent = people.consent("s1", "r1")
    assert consent.share_with_volunteers and not consent.store_utterance_text
    assert [c.resident for c in people.consents(frozenset({"s1"}))] == ["r1"]
    with pytest.raises(NotFound):
        people.set_consent(Consent("s1", "nobody"))


def test_volunteers_by_site_rotations_and_overrides(people: Directory) -> None:
    people.add_volunteer(Volunteer("v1", "One", ("s1",)))
    people.add_volunteer(Volunteer("v2", "Two", ("s1", "s2")))
    people.add_volunteer(Volunteer("v3", "Three", ("s2",)))
    people.put_volunteer(Volunteer("v3", "Three again", ("s2",), active=False))  # upsert
    assert people.volunteer("v3").name == "Three again"
    at_s1, total = people.volunteers(frozenset({"s1"}))
    assert [v.id for v in at_s1] == ["v1", "v2"] and total == 2
    at_s2, _ = people.volunteers(frozenset({"s2"}))
    assert [v.id for v in at_s2] == ["v2", "v3"]

    people.put_rotation(Rotation("s1", "night", ("v1", "v2"), T0, 3_600_000))
    people.put_rotation(Rotation("s1", "night", ("v2",), T0, 7_200_000))  # replaces
    assert people.rotation("night").members == ("v2",)
    first = people.add_override("night", "v1", T0, T0 + 1000)
    second = people.add_override("night", "v2", T0, T0 + 2000)
    assert first.id > 0 and second.id == first.id + 1  # the ids the database gave them
    assert people.override(second.id).volunteer == "v2"
    people.delete_override(first.id)
    with pytest.raises(NotFound):
        people.override(first.id)


def test_tokens_reads_reach_signin_and_appointments(people: Directory) -> None:
    people.add_volunteer(Volunteer("v1", "One", ("s1",), email="One@Example.org"))
    raw, record = people.create_token("coordinator", "c1", ["s1"], lifetime_ms=60_000)
    assert people.token_for(raw) is not None
    people.revoke_token(record.id)
    assert people.tokens() == [] and len(people.tokens(include_revoked=True)) == 1

    people.audit_read(subject="c1", role="coordinator", action="read", site="s1",
                      resident="r1", route="/x")  # fmt: skip
    assert people.purge_reads({"s1": T0 + 1}) == 1

    sub = PushSubscription("https://push.example/1", "v1", "k" * 87, "a" * 22)
    people.add_push_subscription(sub)
    people.add_push_subscription(sub)  # the same install again: one row
    assert len(people.push_subscriptions("v1")) == 1
    people.set_away("v1", True)
    assert "v1" in people.away()

    assert people.volunteer_by_email("one@example.org") is not None

    people.add_appointment(Appointment("ap1", "s1", "r1", T0 + 86_400_000, "Clinic"))
    assert [a.id for a in people.appointments("s1", "r1")[0]] == ["ap1"]
    erased = people.erase_resident("s1", "r1")
    assert erased.get("appointments") == 1


def test_another_connection_sees_changes_through_the_version(
    tmp_path: Path, database_url: str, people: Directory
) -> None:
    path = tmp_path / "people.sqlite3"
    with (
        Directory(path, url=database_url) as other,
        DeviceRegistry(path, url=database_url) as registry,
        ConsentCache(path, url=database_url) as consents,
    ):
        before = other.version()
        registry.refresh(force=True)
        assert not consents.allows_text("s1", "r1")
        people.set_consent(Consent("s1", "r1", store_utterance_text=True))
        assert other.version() != before
        assert consents.allows_text("s1", "r1")  # the cached "no" was dropped
        with Directory(path, url=database_url) as third:
            third.add_volunteer(Volunteer("v9", "Nine", ("s1",)))
        assert other.volunteer("v9").name == "Nine"
        people.add_resident(Resident("s1", "r3", "Three", "zh"))
        registry_writer = DeviceRegistry(path, url=database_url)
        registry_writer.add([Device("term-3", "s1", "r3")])
        registry_writer.close()
        assert registry.check("term-3", "s1", "r3") == "ok"  # a miss re-reads


def test_device_registry_insert_or_keep(tmp_path: Path, database_url: str) -> None:
    with DeviceRegistry(tmp_path / "people.sqlite3", url=database_url) as registry:
        assert registry.add([Device("d1", "s1", "r1"), Device("d2", "s1", "r2")]) == 2
        assert registry.add([Device("d1", "s1", "r9")], replace=False) == 0  # kept
        assert registry.get("d1") is not None and registry.get("d1").resident == "r1"
        assert registry.add([Device("d1", "s1", "r9")]) == 1  # replaced
        assert registry.get("d1").resident == "r9"
        assert len(registry) == 2
        assert registry.remove_resident("s1", "r9") == ["d1"]


def test_a_worn_tag_never_says_help_is_on_the_way(people: Directory, tmp_path: Path) -> None:
    with DeviceRegistry(tmp_path / "people.sqlite3", url=people.url) as registry:
        registry.add([Device("tag-1", "s1", "r1", "tag"), Device("tag-2", "s1", "r2", "tag")])
        registry.add([Device("dev-2", "s1", "r2")])  # kind unknown: may speak
    assert people.speaking_devices() == {("s1", "r2"): "dev-2"}


def test_a_roster_imported_by_two_processes_at_once_is_no_error(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replicas of the alert service import their roster as they start: one may add a
    resident between another's look and its insert (here: the look is made to miss)."""
    roster = parse_roster({"residents": [{"id": "r1", "site": "s1", "device": "term-r1"}]})
    path = tmp_path / "people.sqlite3"
    with Directory(path, url=database_url) as first, Directory(path, url=database_url) as second:
        import_roster(first, roster)
        monkeypatch.setattr(second, "find_resident", lambda site, resident: None)
        monkeypatch.setattr(second, "sites", lambda *a, **k: ([], 0))
        counts = import_roster(second, roster)
        assert counts["residents"] == 0  # nothing created twice
        assert [r.id for r in second.residents()[0]] == ["r1"]
