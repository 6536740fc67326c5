"""The site's retention reaches the scorer: a resident not heard from for longer than their
site keeps data is forgotten (state, id, snapshot), as an erasure would; sites that keep
everything, and residents heard from lately, stay."""

from __future__ import annotations

from people import Directory, Site
from people.retention import DAY_MS
from tests.runtime.conftest import T0, Device, score_settings


def test_the_scorer_forgets_residents_unheard_for_longer_than_the_retention(
    mosquitto, tmp_path, site, publisher, start_scorer
):
    short, forever = site, f"{site}k"
    people = tmp_path / "people.sqlite3"
    with Directory(people) as directory:
        directory.add_site(Site(short, short, retention_days=30))
        directory.add_site(Site(forever, forever))
    settings = score_settings(
        mosquitto, tmp_path, sites=f"{short},{forever}", people={"retention_every": 0.2}
    )
    scorer = start_scorer(settings)
    svc = scorer.service
    Device(publisher, short, "r-gone", people).vitals(T0 - 40 * DAY_MS)
    Device(publisher, forever, "r-kept", people).vitals(T0 - 40 * DAY_MS)
    scorer.wait_for(lambda s: s.counts["readings"] >= 2)
    Device(publisher, short, "r-here", people).vitals(T0)

    def known(s) -> set[str]:
        return {r.id for r in s.engine.directory.residents if not r.id.startswith("~")}

    scorer.wait_for(lambda s: s.sweep is not None and "score.residents" in s.sweep.removed)
    assert known(svc) == {"r-here", "r-kept"}
    assert svc.sweep is not None and svc.sweep.removed == {"score.residents": 1}
    assert b"r-gone" not in svc.snapshot_path.read_bytes()  # rewritten at once
