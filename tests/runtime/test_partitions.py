"""Scorer partitions on a broker of their own: a partition subscribed to every site ("+")
would otherwise also receive what other tests left retained on the shared broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devservers import Mosquitto
from tests.runtime.conftest import T0, Device, S, score_settings, site_per_partition


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private broker per test (overrides the shared one for this module's fixtures)."""
    with Mosquitto(tmp_path / "mosquitto") as server:
        yield server


@pytest.mark.parametrize("subscribe", ["sites", "all"])
def test_partitions_split_sites_between_scorers(
    mosquitto, tmp_path, unique_topic_root, publisher, needs, start_scorer, subscribe
):
    sites = site_per_partition(unique_topic_root)
    people = tmp_path / "people.sqlite3"
    devices = {k: Device(publisher, site, f"r{k}", people) for k, site in sites.items()}
    scorers = {
        k: start_scorer(
            score_settings(
                mosquitto,
                tmp_path / f"p{k}",
                registry=people,
                sites="+",
                partition=f"{k}/2",
                subscribe=subscribe,
            )
        )
        for k in (0, 1)
    }
    for dev in devices.values():
        dev.send("event", {"ts": T0, "type": "sos_button"})
        dev.vitals(T0 + S)
    for k, site in sites.items():
        needs.wait(lambda n, site=site, k=k: n.site == site and n.resident == f"r{k}")
    for k, scorer in scorers.items():
        svc = scorer.service
        scorer.wait_for(lambda s: s.counts["needs_published"] >= 1 and s.counts["readings"] >= 2)
        owned = {r.site for r in svc.engine.directory.residents}
        assert sites[k] in owned and sites[1 - k] not in owned, (k, owned)
        assert svc.counts["needs_published"] == 1 and svc.counts["received"] == 2
        m = svc.metrics
        assert m.value("careloop_score_messages_received_total") == 2
        if subscribe == "sites":  # the broker sent this partition its own site's messages only
            assert svc.counts["skipped"] == 0, svc.counts
            assert m.value("careloop_score_sites_subscribed") == 1
        else:  # every message reached both, the other's dropped undecoded
            scorer.wait_for(lambda s: s.counts["skipped"] == 2)
            assert m.value("careloop_score_sites_subscribed") == 0
        assert m.value("careloop_score_received_bytes_total") > 0
        assert svc.snapshot_path.name == f"p{k}of2.snapshot"


def test_a_partition_subscribes_to_a_site_added_while_it_runs(
    mosquitto, tmp_path, unique_topic_root, publisher, needs, start_scorer
):
    sites = site_per_partition(unique_topic_root)
    people = tmp_path / "people.sqlite3"
    Device(publisher, sites[1], "other", people)  # the database is not empty
    scorer = start_scorer(
        score_settings(mosquitto, tmp_path, registry=people, sites="+", partition="0/2")
    )
    scorer.wait_for(lambda s: s.connected.is_set())
    assert scorer.service.metrics.value("careloop_score_sites_subscribed") == 0
    dev = Device(publisher, sites[0], "new", people)  # provisioned now: a new site of ours
    scorer.wait_for(lambda s: s.metrics.value("careloop_score_sites_subscribed") == 1)
    dev.send("event", {"ts": T0, "type": "sos_button"})
    need = needs.wait(lambda n: n.site == sites[0])
    assert (need.resident, need.kind) == ("new", "sos")
    assert scorer.service.counts["skipped"] == 0
