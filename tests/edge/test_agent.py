"""The edge agent against a real broker: order, seq, consent, bad input, commands, status."""

from __future__ import annotations

import asyncio
import json

import pytest

from careloop.wire import CommandMessage, Topic, encode, subscription
from edge.adapters import ReplayAdapter
from edge.agent import EdgeAgent
from edge.errors import EdgeError
from tests.edge.conftest import edge_settings
from tests.helpers.feed import T0, vitals_line
from tests.helpers.mqtt import MqttTestClient
from tests.helpers.readings import ReadingCollector, assert_complete_and_ordered


def write_lines(path, lines):
    path.write_text("".join(lines))


async def run_until_drained(settings, adapter):
    async with EdgeAgent(settings, adapter) as agent, asyncio.timeout(20):
        await agent.wait_drained()
        return agent


def test_all_readings_arrive_in_order_with_increasing_seq(mosquitto, unique_topic_root, tmp_path):
    n = 2000
    src = tmp_path / "in.jsonl"
    write_lines(src, [vitals_line(i) for i in range(n)])
    settings = edge_settings(mosquitto, unique_topic_root, tmp_path, max_batch=100)
    with ReadingCollector(
        mosquitto.host, mosquitto.port, subscription(site=unique_topic_root), client_id="c1"
    ) as sub:
        agent = asyncio.run(run_until_drained(settings, ReplayAdapter("dev1", "r1", src)))
        expected = [T0 + i * 1000 for i in range(n)]
        sub.wait_for(set(expected), 10)
    assert agent.stats.published == n and agent.pending == 0
    assert_complete_and_ordered(sub.data, expected)
    assert sub.data.duplicates() == 0
    assert sub.data.seqs == sorted(sub.data.seqs) and len(set(sub.data.seqs)) == len(sub.data.seqs)
    # Caught up from a backlog, so readings travelled in batches of up to max_batch.
    assert len(sub.data.seqs) < n / 10


def test_utterance_text_only_with_consent(mosquitto, unique_topic_root, tmp_path):
    line = (
        json.dumps(
            {
                "kind": "utterance",
                "reading": {"ts": T0, "language": "zh", "text": "今天有点闷", "speech_rate": 4.1},
            }
        )
        + "\n"
    )
    src = tmp_path / "in.jsonl"
    write_lines(src, [line])
    got = {}
    for consent in (False, True):
        site = f"{unique_topic_root}{int(consent)}"
        settings = edge_settings(mosquitto, site, tmp_path / site, text_consent=consent)
        with MqttTestClient(mosquitto.host, mosquitto.port) as sub:
            sub.subscribe(subscription(site=site, kind="utterance"))
            asyncio.run(run_until_drained(settings, ReplayAdapter("voice1", "r1", src)))
            got[consent] = json.loads(sub.get().payload)["readings"][0]
    assert "text" not in got[False] and got[False]["speech_rate"] == 4.1
    assert got[True]["text"] == "今天有点闷"


def test_invalid_readings_are_skipped_and_the_rest_delivered(
    mosquitto, unique_topic_root, tmp_path
):
    src = tmp_path / "in.jsonl"
    bad = [
        "not json\n",
        json.dumps({"kind": "vitals", "reading": {"ts": T0 + 500, "heart_rate": 900}}) + "\n",
        json.dumps({"kind": "selfie", "reading": {"ts": T0 + 600}}) + "\n",
    ]
    write_lines(src, [vitals_line(0), *bad, vitals_line(1)])
    settings = edge_settings(mosquitto, unique_topic_root, tmp_path)
    with ReadingCollector(
        mosquitto.host, mosquitto.port, subscription(site=unique_topic_root), client_id="c2"
    ) as sub:
        agent = asyncio.run(run_until_drained(settings, ReplayAdapter("dev1", "r1", src)))
        sub.wait_for({T0, T0 + 1000}, 10)
    assert agent.stats.invalid == 2  # out of range, unknown kind; the bad line never parsed
    assert_complete_and_ordered(sub.data, [T0, T0 + 1000])


def test_commands_reach_the_adapter_and_status_is_retained(mosquitto, unique_topic_root, tmp_path):
    site = unique_topic_root
    src = tmp_path / "in.jsonl"
    src.touch()
    settings = edge_settings(mosquitto, site, tmp_path)
    adapter = ReplayAdapter("voice9", "r9", src, follow=True)

    async def scenario():
        async with EdgeAgent(settings, adapter) as agent:
            for _ in range(100):
                if agent.stats.connected:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # the cmd subscription follows the birth message
            with MqttTestClient(mosquitto.host, mosquitto.port) as ctl:
                ctl.subscribe(str(Topic(site, "voice9", "status")))
                status = json.loads(ctl.get().payload)
                cmd = CommandMessage(
                    id="a1",
                    ts=T0,
                    action="say",
                    text="help is on the way",
                    language="en",
                    alert="alert-1",
                )
                ctl.publish(str(Topic(site, "voice9", "cmd")), encode(cmd))
                ctl.publish(str(Topic(site, "voice9", "cmd")), b"{broken")
                for _ in range(100):
                    if adapter.commands:
                        break
                    await asyncio.sleep(0.05)
            return status

    status = asyncio.run(scenario())
    assert status["state"] == "online" and status["reason"] == "connected"
    assert [c.id for c in adapter.commands] == ["a1"]
    with MqttTestClient(mosquitto.host, mosquitto.port) as ctl:
        ctl.subscribe(str(Topic(site, "voice9", "status")))
        after = json.loads(ctl.get().payload)
    assert (after["state"], after["reason"]) == ("offline", "shutdown")
    assert after["seq"] == status["seq"]


def test_an_agent_is_entered_once(mosquitto, unique_topic_root, tmp_path):
    src = tmp_path / "in.jsonl"
    src.touch()
    agent = EdgeAgent(
        edge_settings(mosquitto, unique_topic_root, tmp_path), ReplayAdapter("d", "r", src)
    )

    async def twice():
        async with agent:
            pass
        with pytest.raises(EdgeError, match="already started"):
            async with agent:
                pass

    asyncio.run(twice())


def test_readings_nobody_received_stay_until_a_subscriber_is_back(
    private_mosquitto, unique_topic_root, tmp_path
):
    """A v5 PUBACK "no matching subscribers" means the message reached nobody: keep it.

    On a broker of its own: a persistent session another test left on the shared broker
    (ingest's shared subscription to every site) would hear the readings.
    """
    mosquitto = private_mosquitto
    src = tmp_path / "in.jsonl"
    write_lines(src, [vitals_line(i) for i in range(10)])
    settings = edge_settings(mosquitto, unique_topic_root, tmp_path)

    async def scenario():
        async with EdgeAgent(settings, ReplayAdapter("dev1", "r1", src)) as agent:
            await asyncio.sleep(1.5)
            alone = (agent.pending, agent.stats.published, agent.stats.unheard)
            with ReadingCollector(
                mosquitto.host,
                mosquitto.port,
                subscription(site=unique_topic_root),
                client_id="late",
            ) as sub:
                async with asyncio.timeout(15):
                    await agent.wait_drained()
                sub.wait_for({T0 + i * 1000 for i in range(10)}, 5)
            return alone, sub.data

    (pending, published, unheard), data = asyncio.run(scenario())
    assert (pending, published) == (10, 0) and unheard >= 1
    assert_complete_and_ordered(data, [T0 + i * 1000 for i in range(10)])
