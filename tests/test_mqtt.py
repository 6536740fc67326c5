"""The kernel's asyncio MQTT loop (careloop.mqtt.run_forever) on the real broker."""

from __future__ import annotations

import asyncio
import uuid

from careloop.mqtt import Backoff, ConfirmingClient, make_client, run_forever
from careloop.settings import load_settings


def test_a_late_answer_from_the_broker_reconnects_instead_of_stopping(mosquitto) -> None:
    # A PUBACK that comes after the client's timeout (behind a burst of messages on a busy
    # machine) is a connection problem: the loop must reconnect and carry on, not end as if
    # it had been stopped, which left a service alive, "connected" and deaf.
    settings = load_settings(mqtt={"host": mosquitto.host, "port": mosquitto.port})
    client_id = f"late-{uuid.uuid4().hex[:8]}"
    states: list[bool] = []
    sessions = 0

    async def session(client: ConfirmingClient) -> None:
        nonlocal sessions
        sessions += 1
        if sessions == 1:  # no broker answers within a nanosecond
            await client.publish(f"{client_id}/x", b"x", qos=1, timeout=1e-9)

    async def main() -> None:
        async with asyncio.timeout(20):
            await run_forever(
                lambda: make_client(settings.mqtt, client_id, persistent=False),
                session,
                name=client_id,
                backoff=Backoff(0.01, 0.05),
                on_state=states.append,
            )

    asyncio.run(main())
    assert sessions == 2
    assert states == [True, False, True]
