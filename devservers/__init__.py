"""Real servers for development, tests, benchmarks and the demo: never part of a deployment.

Tests, benchmarks and the demo talk to the same software production uses (Debian's
``mosquitto`` 2.0.11 and ``influxd`` 1.6.7) instead of mocks, so a passing test means the wire
protocol, persistence and failure behaviour are real. Each server gets its own data folder and
its own ports, so any number can run side by side and none touches the system services. A
server never outlives the Python process that started it (``PR_SET_PDEATHSIG``).

Public surface::

    Mosquitto                 mosquitto.py  a private broker (passwords, ACLs, a TLS
                                            listener optional)
    InfluxDB                  influxdb.py   a private InfluxDB 1.x (https, auth optional)
    PostgreSQL                postgresql.py a private PostgreSQL 15 (loopback, trust auth)
    ServerError, ServerTls,   base.py       what they share
    free_port, tie_to_parent
    careloop_command          here          argv that runs ``careloop`` in a child process
"""

from __future__ import annotations

import sys

from devservers.base import ServerError, ServerTls, free_port, tie_to_parent
from devservers.influxdb import InfluxDB
from devservers.mosquitto import Mosquitto
from devservers.postgresql import PostgreSQL


def careloop_command(*args: str) -> list[str]:
    """The argv of ``careloop ARGS`` run by this Python (no console script needed)."""
    return [sys.executable, "-m", "app", *args]


__all__ = [
    "InfluxDB",
    "Mosquitto",
    "PostgreSQL",
    "ServerError",
    "ServerTls",
    "careloop_command",
    "free_port",
    "tie_to_parent",
]
