"""ScoreService end to end on the real broker: wire messages in, care needs out."""

from __future__ import annotations

import json
import logging
import urllib.request

import pytest

from devservers import free_port
from models.runtime import ScoringEngine
from models.runtime.config import site_partition
from tests.helpers import state_files as sf
from tests.runtime.conftest import T0, Device, S, score_settings


def test_sos_and_confirmed_fall_become_needs(
    mosquitto, tmp_path, site, publisher, needs, start_scorer
):
    port = free_port()
    scorer = start_scorer(score_settings(mosquitto, tmp_path, metrics_port=port, sites=site))
    anna, ben = (
        Device(publisher, site, "r1", tmp_path / "people.sqlite3"),
        Device(publisher, site, "r2", tmp_path / "people.sqlite3"),
    )

    anna.vitals(T0)
    anna.send("event", {"ts": T0 + 5 * S, "type": "sos_button", "detail": "pendant"})
    sos = needs.wait(lambda n: n.resident == "r1" and n.kind == "sos")
    assert (sos.site, sos.tier, sos.state) == (site, "emergency", "open")
    assert sos.summary == "SOS button pressed."

    # a fall, then 75 s of lying still out of bed (device time, sent at once)
    ben.vitals(T0)
    ben.send("event", {"ts": T0 + 10 * S, "type": "fall_detected", "confidence": 0.9})
    for k in range(1, 16):
        ben.vitals(T0 + 10 * S + k * 5 * S, moving=False)
    fall = needs.wait(lambda n: n.resident == "r2" and n.kind == "fall")
    assert (fall.tier, fall.state, fall.onset) == ("emergency", "open", T0 + 10 * S)
    assert fall.summary.startswith("Fall detected (confidence 0.90) and no movement")
    assert not [n for n in needs.seen if n.resident == "r1" and n.kind == "fall"]

    # the same numbers on /metrics, by kind and tier
    scorer.wait_for(lambda s: s.counts["needs_published"] >= 2)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    assert 'careloop_score_needs_published_total{kind="sos",tier="emergency"} 1.0' in text
    assert 'careloop_score_needs_published_total{kind="fall",tier="emergency"} 1.0' in text
    assert 'careloop_score_readings_scored_total{kind="vitals"} 17.0' in text


def test_bad_messages_are_counted_and_skipped(
    mosquitto, tmp_path, site, publisher, needs, start_scorer
):
    scorer = start_scorer(score_settings(mosquitto, tmp_path, sites=site))
    dev = Device(publisher, site, "r7", tmp_path / "people.sqlite3")
    dev.raw("vitals", b"{not json")
    envelope = {"v": 1, "device": dev.device, "resident": "r7", "seq": 1, "ts": T0}
    too_fast = {**envelope, "readings": [{"ts": T0, "heart_rate": 900}]}
    dev.raw("vitals", json.dumps(too_fast).encode())
    spoofed = {**envelope, "device": "someone-else", "readings": [{"ts": T0, "type": "sos_button"}]}
    dev.raw("event", json.dumps(spoofed).encode())
    dev.vitals(T0 + S)
    dev.send("event", {"ts": T0 + 2 * S, "type": "sos_button"})
    need = needs.wait(lambda n: n.resident == "r7" and n.kind == "sos")
    assert need.ts == T0 + 2 * S  # the good SOS, not the spoofed one
    scorer.wait_for(lambda s: s.counts["rejected"] == 3 and s.counts["readings"] == 2)
    m = scorer.service.metrics
    assert m.value("careloop_score_rejected_total", reason="json_invalid:payload") == 1
    assert m.value("careloop_score_rejected_total", reason="less_than_equal:heart_rate") == 1
    assert m.value("careloop_score_rejected_total", reason="spoofed:device") == 1


def _site_per_partition(root: str, n: int = 2) -> dict[int, str]:
    """One site name per partition of ``n`` (crc32 decides; try names until all are covered)."""
    sites: dict[int, str] = {}
    for i in range(200):
        sites.setdefault(site_partition(f"{root}-{i}", n), f"{root}-{i}")
        if len(sites) == n:
            return sites
    raise AssertionError("no name for every partition")


@pytest.mark.parametrize("subscribe", ["sites", "all"])
def test_partitions_split_sites_between_scorers(
    mosquitto, tmp_path, unique_topic_root, publisher, needs, start_scorer, subscribe
):
    sites = _site_per_partition(unique_topic_root)
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
    sites = _site_per_partition(unique_topic_root)
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


def test_unreadable_snapshot_is_moved_aside_and_scoring_goes_on(
    mosquitto, tmp_path, site, publisher, needs, start_scorer
):
    bad = tmp_path / "score" / f"{site}.snapshot"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a snapshot at all")
    scorer = start_scorer(score_settings(mosquitto, tmp_path, sites=site))
    assert not scorer.service.restored
    assert bad.with_name(bad.name + ".corrupt").read_bytes() == b"not a snapshot at all"
    Device(publisher, site, "r1", tmp_path / "people.sqlite3").send(
        "event", {"ts": T0, "type": "sos_button"}
    )
    assert needs.wait(lambda n: n.site == site).kind == "sos"
    scorer.stop()  # a clean stop writes a good snapshot in its place
    assert scorer.service.counts["snapshots"] == 1 and bad.stat().st_size > 100


@pytest.mark.parametrize(
    ("make", "aside", "level"),
    [
        # what careloop wrote before issue 11 looks like this (here with the red team's pickle):
        # never unpickled, set aside as another version's file, a warning
        (lambda marker: sf.old_layout(sf.red_team_pickle(marker)), ".old", logging.WARNING),
        # a current-format file with a pickled object array: corrupt, an error
        (
            lambda marker: sf.with_member(
                ScoringEngine()._snapshot_bytes(), "evil.npy", sf.pickled_npy(marker)
            ),
            ".corrupt",
            logging.ERROR,
        ),
    ],
    ids=["older version", "doctored"],
)
def test_a_snapshot_that_is_not_read_runs_no_code_and_scoring_starts_fresh(
    mosquitto, tmp_path, site, publisher, needs, start_scorer, caplog, make, aside, level
):
    marker = tmp_path / "ran"
    path = tmp_path / "score" / f"{site}.snapshot"
    path.parent.mkdir(parents=True)
    path.write_bytes(payload := make(marker))
    with caplog.at_level(logging.WARNING, logger="models.runtime.service"):
        try:
            scorer = start_scorer(score_settings(mosquitto, tmp_path, sites=site))
        finally:  # checked even if the scorer did not start
            assert not marker.exists(), "reading the snapshot ran code"
    assert not scorer.service.restored
    assert path.with_name(path.name + aside).read_bytes() == payload
    said = [r for r in caplog.records if "starting with empty state" in r.getMessage()]
    assert [r.levelno for r in said] == [level]
    Device(publisher, site, "r1", tmp_path / "people.sqlite3").send(
        "event", {"ts": T0, "type": "sos_button"}
    )
    assert needs.wait(lambda n: n.site == site).kind == "sos"
