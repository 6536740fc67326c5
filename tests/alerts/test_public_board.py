"""The public board identifies nobody: whole days only (not today), per site and tier, and
no count from 1 to 4 (k = 5) — on a real alert store."""

from __future__ import annotations

from alerts import Alert, AlertStore
from alerts.sla import public_board

DAY = 86_400_000
TODAY = 1_767_657_600_000 + 13 * 3_600_000  # 2026-01-06, 13:00 UTC
MIDNIGHT = TODAY // DAY * DAY


def alert(n: int, site: str, tier: str, opened: int, *, accept_s: float | None = 30.0) -> Alert:
    a = Alert(f"a-{n}", site, f"r{n}", "sos", tier, "accepted", f"r{n}:sos:{opened}", opened)
    if accept_s is not None:
        a.accepted_ms = opened + int(accept_s * 1000)
    return a


def test_small_counts_today_and_kinds_never_show(tmp_path, database_url):
    store = AlertStore(tmp_path / "alerts.sqlite3", url=database_url)
    rows = [alert(n, "s1", "emergency", MIDNIGHT - 2 * DAY + n * 60_000, accept_s=20 + n)
            for n in range(6)]  # fmt: skip
    rows += [alert(10 + n, "s1", "important", MIDNIGHT - 3 * DAY + n) for n in range(2)]
    rows += [alert(20, "s2", "emergency", MIDNIGHT - DAY + 5, accept_s=None)]
    rows += [alert(30 + n, "s1", "general", MIDNIGHT + n * 1000) for n in range(7)]  # today
    with store.tx():
        for a in rows:
            store.save(a, new=True)
    board = public_board(store, days=7, today_ms=TODAY)
    store.close()

    assert (board["since_ms"], board["until_ms"]) == (MIDNIGHT - 7 * DAY, MIDNIGHT)
    groups = {(g["site"], g["tier"]): g for g in board["groups"]}
    assert set(groups) == {("s1", "emergency"), ("s1", "important"), ("s2", "emergency")}
    big = groups["s1", "emergency"]
    assert (big["needs"], big["accepted"], big["on_time"]) == (6, 6, 6)
    assert big["accept_p50_s"] == 22.5 and not big["suppressed"]
    for small in (groups["s1", "important"], groups["s2", "emergency"]):  # 2 and 1: persons
        assert small["suppressed"] and small["needs"] is None
        assert small["accepted"] is None and small["accept_p50_s"] is None
    text = str(board)
    assert "sos" not in text and "r1" not in text and "a-1" not in text
