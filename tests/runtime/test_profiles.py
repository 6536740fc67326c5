"""Care profiles managed through the API's directory reach a running scorer."""

from __future__ import annotations

from tests.runtime.conftest import T0, Device, score_settings


def test_care_profiles_set_in_the_directory_reach_a_running_scorer(
    mosquitto, tmp_path, site, publisher, start_scorer
):
    from models.runtime import CareProfile, Expectation
    from people import Directory, Resident, Site

    directory = Directory(tmp_path / "people.sqlite3")
    directory.add_site(Site(site, "Test home"))
    directory.add_resident(Resident(site, "r1", "Ann Example", "zh"))
    scorer = start_scorer(score_settings(mosquitto, tmp_path, sites=site))
    anna = Device(publisher, site, "r1", tmp_path / "people.sqlite3")
    anna.vitals(T0)
    scorer.wait_for(lambda s: s.counts["readings"] >= 1)
    plan = CareProfile(
        language="zh",
        expectations=(Expectation(name="check-up", event="checkup_done", at="09:00"),),
    )
    directory.set_care_profile(site, "r1", plan)
    live = scorer.service.engine
    assert live is not None
    deadline_s = 10.0
    scorer.wait_for(
        lambda s: live.directory.residents[live.directory.get(site, "r1")].profile == plan,
        timeout=deadline_s,
    )
    directory.close()
