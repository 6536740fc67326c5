"""``careloop bench score --partitions 2``: a tiny real run (scorer processes on a broker),
checking the report's shape and the counts that prove the split. No speed assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

from bench.partition_bench import _messages, site_names
from careloop.wire import VitalsMessage, decode
from models.runtime.config import site_partition


def test_site_names_are_spread_evenly() -> None:
    names = site_names(6, 2)
    assert len(set(names)) == 6
    assert sorted(site_partition(s, 2) for s in names) == [0, 0, 0, 1, 1, 1]


def test_batched_messages_carry_every_reading_once_and_are_valid() -> None:
    residents = [("home-a", "r1", "term-1"), ("home-b", "r2", "term-2")]
    messages = list(_messages(residents, 5, batch=2))
    assert len(messages) == 6  # per resident: 2 + 2 + 1 readings
    seen: Counter[tuple[str, int]] = Counter()
    for topic, payload in messages:
        _, message = decode(topic.decode(), payload)
        assert isinstance(message, VitalsMessage)
        seen.update((message.resident, r.ts) for r in message.readings)  # type: ignore[attr-defined]
    assert len(seen) == 10 and set(seen.values()) == {1}


def test_two_partitions_each_receive_only_their_sites() -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "app", "bench", "score", "--partitions", "2", "--json",
            "--residents", "40", "--seconds", "5", "--site-count", "4",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["readings"] == 200 and set(report["layouts"]) == {"1", "2/sites", "2/all"}
    one, split, alt = (report["layouts"][k] for k in ("1", "2/sites", "2/all"))
    assert [p["readings"] for p in one["per_partition"]] == [200]
    # per-site subscriptions: each partition got its two sites' 100 messages, nothing else
    for part in split["per_partition"]:
        assert (part["readings"], part["received_messages"], part["skipped_messages"]) == (
            100, 100, 0,
        )  # fmt: skip
        assert part["sites_subscribed"] == 2
        assert part["received_bytes"] * 2 == one["received_bytes"]
    # every site to every partition: each got all 200 and dropped the other's 100
    for part in alt["per_partition"]:
        assert (part["readings"], part["received_messages"], part["skipped_messages"]) == (
            100, 100, 100,
        )  # fmt: skip
        assert part["received_bytes"] == one["received_bytes"]
    assert report["all_vs_sites_bytes"] == 2.0
    for layout in (one, split, alt):
        assert layout["readings_per_s"] > 0 and layout["scorer_cpu_s"] >= 0
