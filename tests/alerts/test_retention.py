"""The site's retention reaches the alert store: closed alerts older than it go, with their
audit, pages, deliveries and replies, and the needs seen; open alerts and other sites stay."""

from __future__ import annotations

from dataclasses import replace

from alerts.model import Alert
from alerts.store import AlertStore
from people.retention import DAY_MS
from tests.alerts.conftest import T0, need

KEYED = ("audit", "pages", "timers", "deliveries", "replies")


def _rows(store: AlertStore, table: str, where: str = "1 = 1", *args: object) -> int:
    row = store.one(f"SELECT count(*) FROM {table} WHERE {where}", args)
    return int(row[0]) if row else 0


def _alert(n: int, site: str, closed_ms: int | None) -> Alert:
    state = "open" if closed_ms is None else "resolved"
    alert = Alert(f"a-{n}", site, f"r{n}", "fall", "urgent", state, f"r{n}:fall:{T0}", T0)
    alert.closed_ms = closed_ms
    return alert


def test_purge_takes_closed_alerts_before_the_cutoff_and_nothing_else(
    tmp_path, database_url
) -> None:
    path = tmp_path / "alerts.sqlite3"
    old, recent = T0 - 40 * DAY_MS, T0 - DAY_MS
    cases = [("s1", old), ("s1", None), ("s1", recent), ("s2", old)]  # s2 keeps forever
    with AlertStore(path, url=database_url) as store:
        for n, (site, closed) in enumerate(cases):
            alert = _alert(n, site, closed)
            with store.tx():
                store.save(alert, new=True)
                store.audit(alert.id, T0 - 41 * DAY_MS, "system", "open", channel="mqtt")
                store.add_page(alert, f"v-{n}", 0, "primary", T0 - 41 * DAY_MS)
                store.set_timer(alert.id, "respond", T0)
                store.enqueue(alert.id, "mqtt", "t", b"p", f"n-{n}", T0 - 41 * DAY_MS)
                store.record_reply(f"nonce-{n}", f"v-{n}", alert.id, T0 - 41 * DAY_MS, "ok")
                store.first_sight_of_need(site, alert.need_id, "open", T0 - 41 * DAY_MS)
        removed = store.purge({"s1": T0 - 30 * DAY_MS})
        assert removed == {t: 1 for t in (*KEYED, "alerts")} | {"needs_seen": 3}
        assert [r for (r,) in store.rows("SELECT id FROM alerts ORDER BY id")] == [
            "a-1", "a-2", "a-3",
        ]  # fmt: skip
        for table in KEYED:
            assert _rows(store, table, "alert = 'a-0'") == 0
            assert _rows(store, table, "alert != 'a-0'") == 3
        # needs seen go by their own time (the open alert's need is seen again on new evidence)
        assert _rows(store, "needs_seen", "site = 's1'") == 0
        assert _rows(store, "needs_seen", "site = 's2'") == 1


def test_the_alert_service_applies_the_site_retention(start_service, apps, site) -> None:
    svc = start_service(people={"retention_every": 1.0})
    with svc.people() as people:
        people.update_site(replace(people.site(site), retention_days=1))
    apps.publish_need(need(site, kind="fall", need_id="n1"))
    first = apps.wait(lambda x: x.type == "page", n=3)[0].alert
    apps.publish_need(need(site, kind="fall", state="cleared", need_id="n1", ts=T0 + 1))
    apps.wait(lambda x: x.type == "cancelled", n=3)
    assert svc.alert(first).state == "cancelled"

    svc.advance(2 * 86_400)  # two days later the cancelled alert is past a day's retention
    assert svc.alert(first) is None
    for table in KEYED:
        assert _rows(svc.reader, table, "alert = ?", first) == 0
    assert _rows(svc.reader, "needs_seen", "site = ?", site) == 0
    assert svc.service.sweep is not None and svc.service.sweep.removed["alerts.alerts"] == 1

    apps.publish_need(need(site, kind="fall", need_id="n2", ts=T0 + 3 * DAY_MS))
    second = apps.wait(lambda x: x.type == "page" and x.alert != first, n=3)[0].alert
    svc.advance(2 * 86_400)  # open: kept however old
    assert svc.alert(second) is not None
