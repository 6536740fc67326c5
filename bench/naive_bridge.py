"""The reference consumer: the simplest correct-looking MQTT -> InfluxDB bridge (paho-mqtt 2.x).

This is the program a competent engineer writes in an afternoon, and the yardstick careloop
ingest is measured against (``careloop bench ingest``): one paho ``Client``, one thread.
``on_message`` decodes the JSON (``json.loads``, no contract validation), appends one line of
line protocol per reading, and when 5000 lines are pending or the oldest is 200 ms old it
POSTs them to ``/write`` right there, inside the callback, over one keep-alive connection.

It is *not* at least once, which is the point of comparing with it: paho acknowledges a
message as soon as ``on_message`` returns, so a crash loses whatever is pending. Run it as
``python -m bench.naive_bridge ...``; it prints ``connected`` on stderr once subscribed.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

import httpx
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion

MAX_LINES = 5000
MAX_AGE_S = 0.2


def _value(value: Any) -> str:
    """A field value in line protocol, typed by its JSON type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    return '"' + str(value).replace('"', '\\"') + '"'


class NaiveBridge:
    """Batches lines and writes them synchronously; the state of the one thread."""

    def __init__(self, influx_url: str, database: str) -> None:
        self.http = httpx.Client(base_url=influx_url, timeout=30.0, trust_env=False)
        self.params = {"db": database, "precision": "ms"}
        self.lines: list[str] = []
        self.first_at = 0.0
        self.written = 0

    def on_message(self, client: Client, userdata: Any, msg: MQTTMessage) -> None:
        data = json.loads(msg.payload)
        # The naive way, on purpose: split the topic instead of careloop.wire.Topic.parse.
        _prefix, _version, site, _device, kind = msg.topic.split("/")
        tags = f"{kind},device={data['device']},resident={data['resident']},site={site}"
        if not self.lines:
            self.first_at = time.monotonic()
        for reading in data["readings"]:
            fields = ",".join(f"{k}={_value(v)}" for k, v in reading.items() if k != "ts")
            self.lines.append(f"{tags} {fields} {reading['ts']}")
        if len(self.lines) >= MAX_LINES:
            self.flush()
        else:
            self.flush_if_old()

    def flush_if_old(self) -> None:
        if self.lines and time.monotonic() - self.first_at >= MAX_AGE_S:
            self.flush()

    def flush(self) -> None:
        if not self.lines:
            return
        response = self.http.post("/write", params=self.params, content="\n".join(self.lines))
        if response.status_code != 204:  # the naive way: say so, drop the batch
            print(f"write failed: {response.status_code} {response.text}", file=sys.stderr)
        else:
            self.written += len(self.lines)
        self.lines = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.naive_bridge", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--client-id", required=True, help="persistent session (clean=False)")
    parser.add_argument("--topic", required=True, help="subscription filter, QoS 1")
    parser.add_argument("--influx-url", required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args(argv)

    bridge = NaiveBridge(args.influx_url, args.db)
    client = Client(CallbackAPIVersion.VERSION2, client_id=args.client_id, clean_session=False)

    def on_connect(client: Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe(args.topic, qos=1)
        print("connected", file=sys.stderr, flush=True)

    client.on_connect = on_connect
    client.on_message = bridge.on_message
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    client.connect(args.host, args.port, keepalive=60)
    while not stop:
        client.loop(timeout=0.05)
        bridge.flush_if_old()
    bridge.flush()
    client.disconnect()
    print(f"stopped written={bridge.written}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
