"""The directory store on its own: roster hand-off, care profiles, erasure, versions, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from models.runtime.careplan import CareProfile, Expectation
from people import (
    Consent,
    Directory,
    NotFound,
    PeopleError,
    Resident,
    Rotation,
    Site,
    Volunteer,
    read_roster,
)


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    d = Directory(tmp_path / "people.sqlite3", clock=lambda: 1_000)
    d.add_site(Site("a", "A", "Europe/London"))
    d.add_site(Site("b", "B"))
    return d


def test_roster_carries_volunteers_rotations_and_overrides(directory: Directory) -> None:
    directory.add_volunteer(Volunteer("v1", "V One", ("a",), skills=("medical",)))
    directory.add_volunteer(Volunteer("v2", "V Two", ("b", "a")))
    directory.add_resident(Resident("a", "r1", "Ann", "zh"))
    directory.put_rotation(
        Rotation("a", "nights", ("v1", "v2"), 0, 3_600_000, "UTC", "20:00-08:00")
    )
    directory.add_override("nights", "v2", 0, 10_000_000)
    roster = read_roster(directory, frozenset({"a"}))
    assert roster.volunteers["v1"].skills == ("medical",)
    assert roster.volunteers["v2"].sites == ("b", "a")  # home site first, as stored
    resident = roster.resident("a", "r1")
    assert resident is not None and resident.language == "zh"
    # a volunteer of sites b and a is paged at both, whichever is their home site
    assert read_roster(directory).volunteers["v2"].serves("a")
    assert roster.volunteers["v2"].serves("b") and not roster.volunteers["v1"].serves("b")
    hour = 3_600_000
    assert roster.on_call("a", 21 * hour) == {"v2"}  # turn 21 of two members
    assert roster.on_call("a", 22 * hour) == {"v1"}
    assert roster.on_call("a", 12 * hour) == set()  # outside 20:00-08:00
    assert roster.on_call("a", 1000) == {"v2"}  # the override
    with pytest.raises(PeopleError):  # a member must be a volunteer of the site
        directory.put_rotation(Rotation("b", "days", ("v1",), 0, 3_600_000))


def test_care_profiles_and_default_consent(directory: Directory) -> None:
    plan = CareProfile(
        language="zh",
        expectations=(Expectation(name="check-up", event="checkup_done", at="09:30"),),
    )
    directory.add_resident(Resident("a", "r1", "Ann", "zh", plan))
    assert directory.care_profiles() == {("a", "r1"): plan}
    assert directory.consent("a", "r1") == Consent("a", "r1")  # nothing shared by default
    with pytest.raises(NotFound):
        directory.set_consent(Consent("a", "nobody", True))


def test_erase_resident_removes_every_row(directory: Directory) -> None:
    directory.add_resident(Resident("a", "r1", "Ann Alder"))
    directory.add_resident(Resident("a", "r2", "Bob"))
    directory.set_consent(Consent("a", "r1", True, True, True))
    for _ in range(3):
        directory.audit_read(
            subject="c", role="coordinator", action="read_resident", site="a", resident="r1",
            route="/x",
        )  # fmt: skip
    counts = directory.erase_resident("a", "r1")
    assert counts == {"residents": 1, "consents": 1, "audit_reads": 3}
    with pytest.raises(NotFound):
        directory.resident("a", "r1")
    assert directory.residents()[1] == 1
    assert directory.consent("a", "r1") == Consent("a", "r1")
    assert directory.audit(resident="r1")[1] == 0
    assert directory.erase_resident("a", "r1") == {"residents": 0, "consents": 0, "audit_reads": 0}


def test_version_changes_on_writes_by_any_connection(directory: Directory) -> None:
    v0 = directory.version()
    directory.add_volunteer(Volunteer("v1", "V", ("a",)))
    v1 = directory.version()
    with Directory(directory.path) as other:
        other.add_volunteer(Volunteer("v2", "W", ("a",)))
    assert v0 < v1 < directory.version()


def test_token_cli_prints_the_token_once_and_stores_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--data-dir", str(tmp_path), "--site", "a"]
    assert main(["token", "create", "--role", "volunteer", "--subject", "v1", "--json", *args]) == 0
    made = json.loads(capsys.readouterr().out)
    assert main(["token", "list", "--json", *args]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(t["id"], t["role"], t["sites"]) for t in listed] == [(made["id"], "volunteer", ["a"])]
    assert made["token"] not in json.dumps(listed)
    with Directory(tmp_path / "people.sqlite3") as d:
        assert d.token_for(made["token"]) is not None
    assert main(["token", "revoke", made["id"], *args]) == 0
    with Directory(tmp_path / "people.sqlite3") as d:
        assert d.token_for(made["token"]) is None
    assert main(["token", "create", "--role", "admin", *args]) == 2  # needs --subject
