"""The disk spool: order, durability across reopen, the bound, one owner at a time."""

from __future__ import annotations

import pytest

from ingest import Spool, SpoolError, SpoolFull


def test_fifo_and_reopen(tmp_path):
    with Spool(tmp_path, max_bytes=10_000) as spool:
        for n in range(3):
            spool.append(f"m f={n} {n}".encode())
        seq, body = spool.oldest()
        assert body == b"m f=0 0"
        spool.remove(seq)
    with Spool(tmp_path, max_bytes=10_000) as spool:
        assert len(spool) == 2 and spool.nbytes == 14
        assert spool.oldest()[1] == b"m f=1 1"
        spool.append(b"m f=3 3")  # numbering continues after the survivors
        got = []
        while (item := spool.oldest()) is not None:
            got.append(item[1])
            spool.remove(item[0])
        assert got == [b"m f=1 1", b"m f=2 2", b"m f=3 3"]
        assert not list(tmp_path.glob("*.lp"))


def test_bound_raises_spool_full_and_warns_at_80_percent(tmp_path, caplog):
    with Spool(tmp_path, max_bytes=1000) as spool:
        spool.append(b"x" * 700)
        assert not caplog.records
        spool.append(b"x" * 150)
        assert "80%" in caplog.records[-1].getMessage()
        with pytest.raises(SpoolFull):
            spool.append(b"x" * 200)
        assert len(spool) == 2


def test_an_oversized_batch_still_fits_an_empty_spool(tmp_path):
    with Spool(tmp_path, max_bytes=100) as spool:
        spool.append(b"x" * 500)
        assert len(spool) == 1


def test_one_owner_at_a_time(tmp_path):
    with Spool(tmp_path, max_bytes=100), pytest.raises(SpoolError, match="in use"):
        Spool(tmp_path, max_bytes=100)


def test_a_half_written_segment_is_discarded(tmp_path):
    (tmp_path / "00000000000000000001.tmp").write_bytes(b"torn")
    with Spool(tmp_path, max_bytes=100) as spool:
        assert len(spool) == 0
    assert not list(tmp_path.glob("*.tmp"))
