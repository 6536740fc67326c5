"""The demo's simulated volunteers against the real service: a page is ignored, the alert
escalates, a decline pages a replacement, who accepts and resolves; the resident is told."""

from __future__ import annotations

import asyncio
import threading
import time

from alerts.demo import SimulatedVolunteers, demo_policy, demo_roster
from people import Resident
from tests.alerts.conftest import need


def test_demo_shows_page_escalation_and_accept(start_service, apps, site):
    roster = demo_roster(site)
    roster.residents.append(Resident(site, "r001", "Ann Example", "zh"))
    roster.devices.append((site, "r001", "term-r001"))  # the device told "help is coming"
    svc = start_service(roster=roster, policy=demo_policy(step_s=20))
    stop = threading.Event()
    volunteers = SimulatedVolunteers(svc.settings, think_s=(0, 0.05), resolve_after_s=(0.1, 0.2))

    async def play() -> None:
        async with volunteers:
            await asyncio.to_thread(stop.wait)

    thread = threading.Thread(target=asyncio.run, args=(play(),), daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # let the volunteers subscribe (a clean session hears only live pages)
        apps.publish_need(need(site, resident="r001", kind="fall", tier="emergency"))
        first = apps.wait(lambda x: x.type == "page")[0]
        assert first.volunteer == "v01"  # ignores it
        svc.advance(21)
        apps.wait(lambda x: x.type == "resolved" or x.type == "taken", timeout=15)
        deadline = time.monotonic() + 10
        while svc.alert(first.alert).state != "resolved":
            assert time.monotonic() < deadline, [e.action for e in svc.audit(first.alert)]
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    actions = [(e.action, e.actor) for e in svc.audit(first.alert)]
    assert ("escalate", "system") in actions
    assert ("decline", "v02") in actions
    assert ("accept", "v03") in actions
    assert ("resolved", "v03") in actions
    assert any("v03 replies accept" in line for line in volunteers.log)
    apps.drain(0.5)
    assert apps.commands and apps.commands[0]["alert"] == first.alert
