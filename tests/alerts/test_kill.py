"""kill -9 of a real ``careloop alerts`` between a page and its deadline: after the restart the
escalation happens exactly once (no missed deadline, no second escalation), and volunteers
never see two different pages for one step.

The subprocess takes its time from the documented ``--clock-offset-file`` (wall time plus
the seconds in the file), so the test jumps over the two-minute step without sleeping.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from alerts import AlertStore, write_offset
from tests.alerts.conftest import need
from tests.helpers.procs import start_alerts

ROSTER = """
[[volunteers]]
id = "{v}"
site = "{site}"
languages = ["zh"]
"""


def write_roster(path: Path, site: str) -> None:
    text = "".join(ROSTER.format(v=f"v{i:02d}", site=site) for i in range(1, 9))
    text += f'\n[[volunteers]]\nid = "c01"\nsite = "{site}"\ncoordinator = true\n'
    text += f'\n[[residents]]\nid = "r1"\nsite = "{site}"\ndevice = "term-r1"\nlanguage = "zh"\n'
    path.write_text(text, encoding="utf-8")


def start(mosquitto, tmp_path: Path, site: str) -> subprocess.Popen[bytes]:
    return start_alerts(
        mosquitto, tmp_path / "data", tmp_path / "alerts.log", client_id=f"alerts-{site}",
        site=site, roster=tmp_path / "roster.toml", clock_offset_file=tmp_path / "offset",
    )  # fmt: skip


def kill9(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def test_kill9_between_page_and_deadline(mosquitto, tmp_path, site, apps):
    write_roster(tmp_path / "roster.toml", site)
    write_offset(tmp_path / "offset", 0)
    proc = start(mosquitto, tmp_path, site)
    try:
        message = need(site, kind="fall", tier="emergency")
        deadline = time.monotonic() + 20
        while not apps.seen:  # the first start creates the session: repeat until heard
            assert time.monotonic() < deadline, (tmp_path / "alerts.log").read_text()
            apps.publish_need(message)  # same need id: handled once however often it comes
            apps.drain(0.5)
        first = apps.wait(lambda x: x.type == "page", n=3)
        alert_id = first[0].alert
        kill9(proc)

        write_offset(tmp_path / "offset", 121)  # the 2-minute step passes while it is down
        proc = start(mosquitto, tmp_path, site)
        apps.wait(lambda x: x.type == "page", n=6, timeout=20)
        kill9(proc)  # again, right after the escalation went out
        proc = start(mosquitto, tmp_path, site)
        apps.drain(1.5)
    finally:
        proc.terminate()
        proc.wait(10)

    pages = apps.pages(alert_id)
    assert len(pages) == 6, apps.brief()
    assert all(len(ids) == 1 for ids in pages.values()), pages  # redelivery keeps the id
    store = AlertStore(tmp_path / "data" / "alerts" / "alerts.sqlite3")
    try:
        escalations = [e for e in store.audit_log(alert_id) if e.action == "escalate"]
        assert [(e.reason, e.detail["step"]) for e in escalations] == [("no_answer", 1)]
        assert len([e for e in store.audit_log(alert_id) if e.action == "page"]) == 6
        assert store.timers(alert_id)["step"] > 0  # the next step is still ahead
    finally:
        store.close()
