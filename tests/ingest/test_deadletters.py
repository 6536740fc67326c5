"""The dead-letter store on both backends (SQLite file, PostgreSQL schema ``ingest``):
bounded, paged by site scope, erased and purged with the same answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from careloop.wire import Topic
from ingest import DeadLetter, DeadLetterError, DeadLetterStore


def _letter(topic: str, reason: str = "bad_json", payload: bytes = b"{", at: int = 1) -> DeadLetter:
    return DeadLetter.make(topic, reason, f"detail of {topic}", payload, at)


def test_bounded_newest_first_and_counted(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "ingest" / "deadletters.sqlite3"
    with DeadLetterStore(path, url=database_url, max_rows=10) as store:
        store.add([DeadLetter.make("t/a", "spoofed", "no", b"x" * 5000) for _ in range(8)])
        store.add([_letter(f"t/{n}", "json_invalid:payload") for n in range(4)])
        assert store.counts() == {"spoofed": 6, "json_invalid:payload": 4}
        latest = store.latest(limit=1)[0]
        assert (latest.topic, latest.reason) == ("t/3", "json_invalid:payload")
        big = store.latest(reason="spoofed", limit=1)[0]
        assert (big.payload, big.size) == (b"x" * 4096, 5000)
        store.add([])  # nothing to write is no transaction
        assert sum(store.counts().values()) == 10
    assert path.exists() == (database_url == "")  # PostgreSQL writes no file


def test_a_page_is_scoped_to_sites(database_url: str, tmp_path: Path) -> None:
    a, b = (str(Topic(site, "dev", "vitals")) for site in ("home-a", "home-b"))
    with DeadLetterStore(tmp_path / "d.sqlite3", url=database_url) as store:
        store.add([_letter(a), _letter(b), _letter(a, "spoofed"), _letter("careloop/v1/x")])
        letters, total = store.page(sites={"home-a"})
        assert total == 2 and [d.topic for d in letters] == [a, a]
        assert letters[0].id > letters[1].id  # newest first
        assert store.page(sites={"home-a"}, reason="spoofed")[1] == 1
        assert store.page(sites=set())[1] == 0  # no site: nothing, not everything
        everything, total = store.page(offset=1, limit=2)
        assert total == 4 and [d.topic for d in everything] == [a, b]


def test_erase_finds_a_resident_in_payload_detail_or_topic(
    database_url: str, tmp_path: Path
) -> None:
    mine = str(Topic("home-a", "dev-1", "vitals"))
    other = str(Topic("home-a", "dev-2", "vitals"))
    elsewhere = str(Topic("home-b", "dev-3", "vitals"))
    with DeadLetterStore(tmp_path / "d.sqlite3", url=database_url) as store:
        store.add(
            [
                _letter(mine),  # the resident's device
                _letter(other, payload=b'{"resident":"r1","x":1}'),  # names r1 at home-a
                _letter(elsewhere, payload=b'{"resident":"r1"}'),  # another site's r1
                DeadLetter.make(other, "influx_rejected", "resident=r1,site=home-a", b"", 1),
                _letter(other, payload=b'{"resident":"r2"}'),
            ]
        )
        gone = store.erase(
            topics=[mine],
            needles=['"resident":"r1"'],
            topic_prefix="careloop/v1/home-a/",
            anywhere=["resident=r1,site=home-a"],
        )
        assert gone == 3
        kept = sorted(bytes(d.payload) for d in store.latest(limit=10))
        assert kept == [b'{"resident":"r1"}', b'{"resident":"r2"}']
        assert store.erase() == 0


def test_purge_by_site_cutoff_and_strays(database_url: str, tmp_path: Path) -> None:
    a = str(Topic("home-a", "dev", "vitals"))
    b = str(Topic("home-b", "dev", "vitals"))
    with DeadLetterStore(tmp_path / "d.sqlite3", url=database_url) as store:
        ghost = "careloop/v1/ghost/d/vitals"
        store.add([_letter(a, at=10), _letter(a, at=100), _letter(b, at=10)])
        store.add([_letter(ghost, at=10), _letter("nonsense", at=100)])
        removed = store.purge({"home-a": 50}, sites={"home-a", "home-b"}, others=50)
        assert removed == 2
        left = sorted((d.topic, d.received_at) for d in store.latest(limit=10))
        assert left == [(a, 100), (b, 10), ("nonsense", 100)]


def test_an_unreachable_server_is_a_dead_letter_error(tmp_path: Path) -> None:
    from devservers import free_port

    url = f"postgresql://careloop:pw-not-shown@127.0.0.1:{free_port()}/careloop"
    with pytest.raises(DeadLetterError) as caught:
        DeadLetterStore(tmp_path / "d.sqlite3", url=url)
    assert "cannot open dead letters" in str(caught.value)
    assert "pw-not-shown" not in str(caught.value)


def test_a_nul_in_the_text_does_not_refuse_the_batch(database_url: str, tmp_path: Path) -> None:
    """PostgreSQL text holds no NUL: it is kept as U+FFFD there, the rest of the batch too."""
    with DeadLetterStore(tmp_path / "d.sqlite3", url=database_url) as store:
        store.add([_letter("t/\x00a"), DeadLetter.make("t/b", "r", "x\x00y", b"\x00", 1)])
        kept = {d.topic: d for d in store.latest(limit=10)}
    nul = "\x00" if not database_url else "\ufffd"
    assert set(kept) == {f"t/{nul}a", "t/b"}
    assert kept["t/b"].detail == f"x{nul}y" and kept["t/b"].payload == b"\x00"
