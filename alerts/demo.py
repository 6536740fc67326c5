"""Simulated volunteers for the demo: a newcomer sees a page, an escalation and an accept.

:class:`SimulatedVolunteers` is an async context manager holding one MQTT client that plays
every volunteer's app of a site. Each volunteer has a behaviour: ``accept`` (after a short
think, then resolves a while later), ``decline`` (at once) or ``ignore`` (never answers, so
the alert escalates past them). :func:`demo_roster` gives the volunteers, whose first ones
ignore and decline, so the first step of every chain is seen to fail and escalate, and
:func:`demo_policy` shortens every deadline to seconds so it happens while one watches.

Wiring (what ``careloop demo`` does)::

    settings = ...  # the demo's Settings (site, data_dir, mqtt)
    with Directory(settings.paths.people, url=settings.store_url) as people:
        import_roster(people, demo_roster(site))  # volunteers are people data
    async with (
        AlertService(settings, policy=demo_policy()),
        SimulatedVolunteers(settings, DEMO_BEHAVIOURS, seed=seed) as volunteers,
    ):
        ...  # volunteers.log holds one line per page / answer for the banner
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import aiomqtt

from alerts.policy import Policy
from careloop.logs import fields
from careloop.mqtt import Backoff, make_client, payload_bytes, run_forever
from careloop.settings import Settings
from careloop.wire import WireError
from careloop.wire.alerts import (
    AlertNotification,
    AlertReply,
    alert_subscription,
    decode_notification,
    encode_alert,
    reply_topic,
)
from people import RosterFile, parse_roster

log = logging.getLogger(__name__)

Behaviour = Literal["accept", "decline", "ignore"]
#: The demo's volunteers: the first ones paged ignore or decline, so escalation shows.
DEMO_BEHAVIOURS: dict[str, Behaviour] = {
    "v01": "ignore",
    "v02": "decline",
    "v03": "accept",
    "v04": "accept",
    "v05": "ignore",
    "v06": "decline",
    "coordinator": "accept",
}


def demo_roster(site: str) -> RosterFile:
    """Six simulated volunteers and a coordinator for ``site``, named after what they do."""
    volunteers: list[dict[str, Any]] = [
        {
            "id": v,
            "name": f"{v} (simulated: {behaviour})",
            "site": site,
            "languages": ["zh", "en"],
            "skills": ["medical"],
        }
        for v, behaviour in DEMO_BEHAVIOURS.items()
        if v != "coordinator"
    ]
    volunteers.append(
        {"id": "coordinator", "name": "coordinator (simulated)", "site": site, "coordinator": True}
    )
    return parse_roster({"volunteers": volunteers})


def demo_policy(step_s: int = 20, respond_s: int = 60) -> Policy:
    """The default policy with every step ``step_s`` and respond deadline ``respond_s``
    seconds (DEMO ONLY: real deadlines are minutes to days), one volunteer per step."""
    data = Policy.load()._data
    tiers = {
        name: {**body, "step": step_s, "respond": respond_s, "parallel": 1}
        for name, body in data["tiers"].items()
    }
    kinds = {
        name: {k: v for k, v in body.items() if k not in ("step", "respond", "parallel")}
        for name, body in data.get("kinds", {}).items()
    }
    return Policy({**data, "tiers": tiers, "kinds": kinds}, source="demo")


class SimulatedVolunteers:
    """Plays the apps of the volunteers in ``behaviours`` at ``settings.site``."""

    def __init__(
        self,
        settings: Settings,
        behaviours: Mapping[str, Behaviour] = DEMO_BEHAVIOURS,
        *,
        seed: int = 7,
        think_s: tuple[float, float] = (2.0, 5.0),
        resolve_after_s: tuple[float, float] = (20.0, 40.0),
        log_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.log_path = log_path
        self.behaviours = dict(behaviours)
        self.think_s = think_s
        self.resolve_after_s = resolve_after_s
        self.log: list[str] = []
        self._rng = random.Random(seed)
        self._seen: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._client: aiomqtt.Client | None = None

    async def __aenter__(self) -> SimulatedVolunteers:
        if self._task is not None:
            raise RuntimeError("SimulatedVolunteers is not reentrant")
        mqtt = self.settings.mqtt
        ident = f"demo-volunteers-{uuid.uuid4().hex[:6]}"
        self._task = asyncio.create_task(
            run_forever(
                lambda: make_client(mqtt, ident, persistent=False),
                self._session,
                name=ident,
                backoff=Backoff(mqtt.backoff_initial, mqtt.backoff_max),
            ),
            name="demo-volunteers",
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _session(self, client: aiomqtt.Client) -> None:
        self._client = client
        await client.subscribe(alert_subscription("volunteer", self.settings.site), qos=1)
        async with asyncio.TaskGroup() as tg:
            async for message in client.messages:
                try:
                    note = decode_notification(message.topic.value, payload_bytes(message))
                except WireError:
                    continue
                if note.id in self._seen:
                    continue  # at-least-once delivery: act on a notification id once
                self._seen.add(note.id)
                tg.create_task(self._act(client, note), name=f"volunteer:{note.id}")

    async def _act(self, client: aiomqtt.Client, note: AlertNotification) -> None:
        who = note.volunteer
        behaviour = self.behaviours.get(who, "ignore")
        self._say(f"{who} got {note.type} for {note.alert} ({note.kind}, {note.tier})")
        if note.type not in ("page", "handover"):
            return
        if behaviour == "ignore":
            self._say(f"{who} ignores it")
            return
        if behaviour == "decline":
            await self._reply(client, who, note.alert, "decline")
            return
        await asyncio.sleep(self._rng.uniform(*self.think_s))
        await self._reply(client, who, note.alert, "accept")
        await asyncio.sleep(self._rng.uniform(*self.resolve_after_s))
        await self._reply(client, who, note.alert, "resolve")

    async def _reply(self, client: aiomqtt.Client, who: str, alert: str, action: str) -> None:
        reply = AlertReply.model_validate(
            {"nonce": uuid.uuid4().hex[:16], "alert": alert, "action": action,
             "ts": _now_ms()}
        )  # fmt: skip
        await client.publish(reply_topic(self.settings.site, who), encode_alert(reply), qos=1)
        self._say(f"{who} replies {action}")

    def _say(self, line: str) -> None:
        self.log.append(line)
        if self.log_path is not None:
            stamp = time.strftime("%H:%M:%S")
            with self.log_path.open("a", encoding="utf-8") as out:
                out.write(f"{stamp} {line}\n")
        log.info("demo volunteer", extra=fields(event=line))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
