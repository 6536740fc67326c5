"""Run a whole simulated care home: one edge agent per device, in one process.

Each resident has a terminal (vitals, events), a voice device (utterances) and a worn tag
(motion windows); each device
gets its own :class:`~edge.agent.EdgeAgent` with its own outbox and MQTT connection, exactly
as real devices would, so the pipeline behind the broker cannot tell the difference.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator

from careloop.settings import Settings
from edge.adapters import SimulatedAdapter
from edge.agent import EdgeAgent
from simulators import CareHome, ResidentProfile


def device_settings(settings: Settings, profile: ResidentProfile, device: str) -> Settings:
    """The settings of one device: its id, its resident, and that resident's text consent."""
    edge = settings.edge.model_copy(
        update={"device": device, "resident": profile.id, "text_consent": profile.text_consent}
    )
    return settings.model_copy(update={"edge": edge})


@contextlib.asynccontextmanager
async def run_home(
    settings: Settings, home: CareHome, *, speed: float = 1.0, steps: int | None = None
) -> AsyncIterator[list[EdgeAgent]]:
    """Start every device's agent of ``home``; stop them all on exit (every agent's loops
    are cancelled at once, then each is closed: the stop is prompt however many there are)."""
    speed = math.inf if speed <= 0 else speed
    agents: list[EdgeAgent] = []
    async with contextlib.AsyncExitStack() as stack:
        try:
            for index, profile in enumerate(home.profiles):
                for role in ("terminal", "voice", "tag"):
                    adapter = SimulatedAdapter(home, index, role, speed=speed, steps=steps)
                    agent = EdgeAgent(device_settings(settings, profile, adapter.device), adapter)
                    agents.append(await stack.enter_async_context(agent))
            yield agents
        finally:
            # Before any agent is closed (and also when stopped while still starting them):
            # no agent generates readings while the others close.
            for agent in agents:
                agent.cancel()
