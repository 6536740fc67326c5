"""The policy and roster files: durations, per-site overrides, validation, rotations in time
zones, and the offset clock the subprocess tests rely on."""

from __future__ import annotations

import pytest

from alerts import OffsetFileClock, Policy, PolicyError, parse_duration, write_offset
from people import Directory, Roster, RosterError, import_roster, parse_roster, read_roster
from tests.alerts.conftest import T0


@pytest.mark.parametrize(
    ("text", "ms"), [("30s", 30_000), ("5m", 300_000), ("12h", 43_200_000), ("7d", 604_800_000),
                     (90, 90_000), ("1.5h", 5_400_000)],
)  # fmt: skip
def test_durations(text, ms):
    assert parse_duration(text, "x") == ms


@pytest.mark.parametrize("bad", ["soon", "-5m", 0, True, "5 weeks"])
def test_bad_durations_name_the_setting(bad):
    with pytest.raises(PolicyError, match=r"tiers\.general\.respond"):
        parse_duration(bad, "tiers.general.respond")


def test_site_override_wins_and_others_keep_the_default():
    data = Policy.load()._data
    policy = Policy({**data, "sites": {"ward-3": {"tiers": {"general": {"respond": "12h"}}}}})
    assert policy.rule("ward-3", "general", "inactivity").respond_ms == 12 * 3600 * 1000
    assert policy.rule("home", "general", "inactivity").respond_ms == 24 * 3600 * 1000
    assert policy.rule("ward-3", "emergency", "fall").skills == ("medical",)


@pytest.mark.parametrize(
    ("patch", "where"),
    [
        ({"tiers": {"urgent": {}}}, "tiers.urgent"),
        ({"kinds": {"fall": {"respnd": "1m"}}}, "kinds.fall.respnd"),
        ({"kinds": {"fall": {"chain": ["volunteers", "pigeon"]}}}, "chain"),
        ({"kinds": {"fall": {"parallel": 0}}}, "parallel"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_policy_mistakes_stop_the_service(patch, where):
    data = {**Policy.load()._data, **patch}
    if "kinds" in patch:
        data["kinds"] = {**Policy.load()._data["kinds"], **patch["kinds"]}
    with pytest.raises(PolicyError, match=where):
        Policy(data)


def roster_from_dict(data: dict, path) -> Roster:
    """The roster the alert service would read after ``careloop people import``."""
    with Directory(path / "people.sqlite3") as people:
        import_roster(people, parse_roster(data))
        return read_roster(people)


def test_rotation_follows_its_time_zone_and_overrides(tmp_path):
    roster = roster_from_dict(
        {
            "volunteers": [{"id": v, "site": "s"} for v in ("a", "b", "c")],
            "rotations": [
                {"site": "s", "name": "nights", "members": ["a", "b"],
                 "start": "2026-01-05T20:00", "shift": "24h", "timezone": "Asia/Shanghai",
                 "hours": "20:00-08:00"},
            ],
            "overrides": [
                {"rotation": "nights", "volunteer": "c", "start": "2026-01-06T20:00",
                 "end": "2026-01-07T08:00"},
            ],
        },
        tmp_path,
    )  # fmt: skip
    h = 3_600_000
    # T0 is 16:00 in Shanghai: before the first night.
    assert roster.on_call("s", T0) == set()
    assert roster.on_call("s", T0 + 5 * h) == {"a"}  # 21:00 local, night 1
    assert roster.on_call("s", T0 + 18 * h) == set()  # 10:00 local: outside the hours
    assert roster.on_call("s", T0 + 29 * h) == {"c"}  # 21:00 next day: the override
    assert roster.on_call("s", T0 + 53 * h) == {"a"}  # night 3 (a, b, a)
    assert roster.on_call("elsewhere", T0) is None  # no rotations: everyone counts


def test_roster_mistakes_are_named():
    with pytest.raises(RosterError, match=r"rotations\[0\]\.members"):
        parse_roster(
            {"rotations": [{"site": "s", "members": ["ghost"], "start": "2026-01-01T00:00"}]}
        )
    with pytest.raises(RosterError, match="timezone"):
        parse_roster({"rotations": [{"site": "s", "members": [], "timezone": "Mars/Base"}]})
    with pytest.raises(RosterError, match="email"):
        parse_roster({"volunteers": [{"id": "a", "site": "s", "channels": ["email"]}]})
    with pytest.raises(RosterError, match=r"residents\[0\]\.preferred_volunteers.*ghost"):
        parse_roster({"residents": [{"id": "r1", "site": "s", "preferred_volunteers": ["ghost"]}]})


def test_a_residents_preferred_volunteers_are_her_care_profile():
    roster = parse_roster(
        {"volunteers": [{"id": "v1", "site": "s"}, {"id": "v2", "site": "s"}],
         "residents": [{"id": "r1", "site": "s", "language": "zh",
                        "preferred_volunteers": ["v2", "v1"]}]}
    )  # fmt: skip
    profile = roster.residents[0].profile
    assert profile.preferred_volunteers == ("v2", "v1") and profile.language == "zh"


def test_offset_clock_moves_when_the_file_changes(tmp_path):
    path = tmp_path / "offset"
    clock = OffsetFileClock(path)
    assert abs(clock.offset_ms()) == 0
    write_offset(path, 3600)
    assert clock.offset_ms() == 3_600_000
    write_offset(path, 7200)
    assert clock.offset_ms() == 7_200_000
