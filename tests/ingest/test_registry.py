"""The device registry and the registry / deadletters commands."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from ingest import DeadLetter, DeadLetterStore
from people import Device, DeviceRegistry, PeopleError, read_devices


def test_check_binds_device_to_resident_and_site(tmp_path, database_url):
    with DeviceRegistry(tmp_path / "r.sqlite3", url=database_url) as reg:
        reg.add([Device("term-1", "home", "r1", "terminal")])
        assert reg.check("term-1", "home", "r1") == "ok"
        assert reg.check("term-1", "home", "r2") == "spoofed"
        assert reg.check("term-1", "other", "r1") == "spoofed"
        assert reg.check("term-9", "home", "r1") == "unknown_device"


def test_changes_by_another_process_are_seen(tmp_path, database_url):
    path, url = tmp_path / "r.sqlite3", database_url
    with DeviceRegistry(path, url=url) as ingest_view, DeviceRegistry(path, url=url) as cli:
        ingest_view.refresh(force=True)
        assert ingest_view.check("v1", "home", "r1") == "unknown_device"
        cli.add([Device("v1", "home", "r1")])
        assert ingest_view.check("v1", "home", "r1") == "ok"  # a miss re-reads
        cli.add([Device("v1", "home", "r2")])  # the device moved to another resident
        assert ingest_view.check("v1", "home", "r2") == "ok"
        assert ingest_view.check("v1", "home", "r1") == "spoofed"


def test_a_database_that_goes_away_leaves_the_known_devices_in_force(
    tmp_path, private_postgres, monkeypatch
):
    """PostgreSQL stopped under ingest and the scorer: their checks answer from memory and
    the periodic re-read neither raises (it once ended ingest's MQTT thread) nor makes each
    unknown device's message wait for a connect timeout; once it is back, new devices count."""
    import time

    from people import devices

    monkeypatch.setattr(devices, "RETRY_S", 0.5)
    url = private_postgres.create_database("registry")
    with DeviceRegistry(tmp_path / "unused.sqlite3", url=url) as reg:
        reg.add([Device("term-1", "home", "r1", "terminal")])
        assert reg.check("term-1", "home", "r1") == "ok" and reg.reachable
        private_postgres.stop()
        started = time.monotonic()
        reg.refresh_every(0.0)  # does not raise
        assert not reg.reachable
        assert reg.check("term-1", "home", "r1") == "ok"
        assert reg.check("term-1", "home", "r2") == "spoofed"
        for _ in range(50):  # an unknown device's messages do not each try the server
            assert reg.check("term-9", "home", "r1") == "unknown_device"
        assert time.monotonic() - started < 5.0
        private_postgres.start()
        with DeviceRegistry(tmp_path / "unused.sqlite3", url=url) as cli:
            cli.add([Device("term-9", "home", "r1", "terminal")])
        time.sleep(0.6)
        assert reg.check("term-9", "home", "r1") == "ok"
        assert reg.reachable


def test_ids_are_checked_strictly(tmp_path):
    with pytest.raises(PeopleError):
        Device("term\n", "home", "r1")
    with pytest.raises(PeopleError):
        Device("term-1", "a site", "r1")


def test_import_json_lines_and_csv(tmp_path):
    jl = tmp_path / "d.jsonl"
    jl.write_text('{"device":"a","resident":"r1","site":"s1"}\n\n{"device":"b","resident":"r2"}\n')
    assert [(d.device, d.site) for d in read_devices(jl, site="dflt")] == [
        ("a", "s1"),
        ("b", "dflt"),
    ]
    csv = tmp_path / "d.csv"
    csv.write_text("device,resident,site,kind\nc,r3,s2,voice\n")
    assert list(read_devices(csv)) == [Device("c", "s2", "r3", "voice")]
    csv.write_text("device,resident,site\nbad id,r3,s2\n")
    with pytest.raises(PeopleError, match=r"d\.csv:2"):
        list(read_devices(csv))


def test_registry_command(tmp_path, capsys):
    common = ["--data-dir", str(tmp_path), "--site", "home"]
    assert main(["registry", "add", "--device", "t1", "--resident", "r1", *common]) == 0
    src = tmp_path / "more.csv"
    src.write_text("device,resident\nt2,r2\nt3,r3\n")
    assert main(["registry", "import", str(src), *common]) == 0
    capsys.readouterr()
    assert main(["registry", "list", "--json", *common]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["device"], r["resident"], r["site"]) for r in rows] == [
        ("t1", "r1", "home"),
        ("t2", "r2", "home"),
        ("t3", "r3", "home"),
    ]
    assert main(["registry", "add", "--device", "t1", *common]) == 2  # needs --resident


def test_dead_letters_are_bounded_and_listed_newest_first(
    tmp_path, capsys, database_url, monkeypatch
):
    path = tmp_path / "ingest" / "deadletters.sqlite3"
    monkeypatch.setenv("CARELOOP_DATABASE_URL", database_url)  # the CLI reads the same store
    with DeadLetterStore(path, max_rows=10, url=database_url) as store:
        store.add([DeadLetter.make("t/a", "spoofed", "no", b"x" * 5000) for _ in range(8)])
        store.add([DeadLetter.make(f"t/{n}", "json_invalid:payload", "", b"{") for n in range(4)])
        assert store.counts() == {"spoofed": 6, "json_invalid:payload": 4}
        latest = store.latest(limit=1)[0]
        assert (latest.topic, latest.reason) == ("t/3", "json_invalid:payload")
        big = store.latest(reason="spoofed", limit=1)[0]
        assert (len(big.payload), big.size) == (4096, 5000)
    if not database_url:
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert main(["deadletters", "--data-dir", str(tmp_path), "--json", "--limit", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counts"] == {"spoofed": 6, "json_invalid:payload": 4} and out["total"] == 10
    assert [d["topic"] for d in out["dead_letters"]] == ["t/3", "t/2"]
    assert main(["deadletters", "--data-dir", str(tmp_path), "--reason", "spoofed"]) == 0
    text = capsys.readouterr().out
    assert "10 dead letters" in text and "t/a" in text and "t/3" not in text
