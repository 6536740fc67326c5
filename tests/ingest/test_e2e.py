"""End to end with real processes: edge agents -> Mosquitto -> ``careloop ingest`` ->
InfluxDB, with an exact count of distinct points against the readings the devices sent."""

from __future__ import annotations

import asyncio
import json
import uuid

from edge.adapters import ReplayAdapter
from edge.agent import EdgeAgent
from tests.edge.conftest import edge_settings
from tests.ingest.conftest import T0, IngestProcess, count, register, wait_count


def device_file(path, n: int) -> dict[str, int]:
    """A replay file: ``n`` vitals, an event every 50 and an utterance every 100 readings."""
    kinds = {"vitals": 0, "event": 0, "utterance": 0}
    with path.open("w") as fh:
        for i in range(n):
            ts = T0 + i * 1000
            items = [("vitals", {"ts": ts, "heart_rate": 60 + i % 40, "steps": i % 7})]
            if i % 50 == 0:
                items.append(("event", {"ts": ts, "type": "door"}))
            if i % 100 == 0:
                items.append(("utterance", {"ts": ts, "language": "zh", "speech_rate": 4.0}))
            for kind, reading in items:
                fh.write(json.dumps({"kind": kind, "reading": reading}) + "\n")
                kinds[kind] += 1
    return kinds


async def run_agents(mosquitto, site, tmp_path, devices):
    agents = []
    for device, resident, src in devices:
        settings = edge_settings(mosquitto, site, tmp_path / "edge" / device)
        adapter = ReplayAdapter(device, resident, src, batch=25)
        agents.append(EdgeAgent(settings, adapter))
    for agent in agents:
        await agent.__aenter__()
    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*(agent.wait_drained() for agent in agents))
    finally:
        for agent in agents:
            await agent.__aexit__(None, None, None)
    return agents


def test_edge_to_influxdb_exact_count(mosquitto, influxdb, influx_db, tmp_path, unique_topic_root):
    site = unique_topic_root
    devices = [(f"term-{n}", f"r{n}", tmp_path / f"term-{n}.jsonl") for n in range(4)]
    expected = {"vitals": 0, "event": 0, "utterance": 0}
    for _, _, src in devices:
        for kind, n in device_file(src, 1500).items():
            expected[kind] += n
    register(tmp_path / "ingest", site, *[(d, r) for d, r, _ in devices])
    group = f"g{uuid.uuid4().hex[:8]}"
    ingest = IngestProcess(
        mosquitto, influxdb, influx_db, tmp_path / "ingest", "--share-group", group,
        "--client-id", f"ingest-{group}", "--session-expiry", "60",
    ).start()  # fmt: skip
    try:
        agents = asyncio.run(run_agents(mosquitto, site, tmp_path, devices))
        assert sum(a.stats.published for a in agents) == sum(expected.values())
        vitals = wait_count(influxdb, influx_db, "vitals", "heart_rate", expected["vitals"], 60)
        events = wait_count(influxdb, influx_db, "event", "n", expected["event"], 10)
        utterances = count(influxdb, influx_db, "utterance", "language")
        statuses = count(influxdb, influx_db, "device_status", "state")
        final = ingest.stop()
    finally:
        ingest.close()
    print(f"\ne2e: expected {expected}; stored vitals={vitals} events={events} "
          f"utterances={utterances}; ingest {final}")  # fmt: skip
    assert (vitals, events, utterances) == (
        expected["vitals"],
        expected["event"],
        expected["utterance"],
    )
    assert statuses >= len(devices)  # each agent's online (and offline) status
    assert final["rejected"] == 0 and final["acked"] == final["received"]
    assert ingest.count('"level": "info"') <= 6  # nothing per message
