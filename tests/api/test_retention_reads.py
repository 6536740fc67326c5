"""The site's retention reaches the audit of reads: the API, which writes it, drops rows older
than their site keeps data as it writes new ones; sites that keep everything keep theirs."""

from __future__ import annotations

import sqlite3
import time
import uuid

import httpx

from app.api import create_app
from careloop.settings import load_settings
from people import Directory, Resident, Site
from people.retention import DAY_MS
from tests.helpers.api_server import serve_in_thread


def test_old_reads_leave_the_audit_with_the_site_retention(mosquitto, influxdb, tmp_path):
    short, forever = f"s{uuid.uuid4().hex[:6]}", f"k{uuid.uuid4().hex[:6]}"
    path = tmp_path / "people.sqlite3"
    old = int(time.time() * 1000) - 40 * DAY_MS
    with Directory(path, clock=lambda: old) as then:  # reads made 40 days ago
        then.add_site(Site(short, short, retention_days=30))
        then.add_site(Site(forever, forever))
        for site in (short, forever):
            then.add_resident(Resident(site, "r1", "Ann"))
            then.audit_read(subject="c01", role="coordinator", action="read_resident",
                            site=site, resident="r1", route="/x")  # fmt: skip
    settings = load_settings(
        data_dir=str(tmp_path),
        people={"retention_every": 0.1},
        mqtt={"host": mosquitto.host, "port": mosquitto.port},
        influx={"url": influxdb.url, "database": "unused"},
    )
    directory = Directory(path)
    token = directory.create_token("admin", "root", None)[0]
    server, thread, port = serve_in_thread(
        create_app(settings, alert_service=False, directory=directory)
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False,
                          headers={"Authorization": f"Bearer {token}"}) as client:  # fmt: skip
            answer = client.get(f"/api/v1/residents/{short}/r1")
            assert answer.status_code == 200, answer.text
    finally:
        server.should_exit = True
        thread.join(20)
        directory.close()
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT site, ts > ? FROM audit_reads ORDER BY site", (old,)).fetchall()
    assert sorted(rows) == sorted([(forever, 0), (short, 1)])  # the old read of short is gone
