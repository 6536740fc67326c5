"""How one ingest process is sized and named: in-flight bounds, client id, spool folder.

See docs/ingest.md ("How it works") for why both bounds exist.
"""

from __future__ import annotations

import socket

from careloop.settings import IngestSettings

#: Seconds between registry re-reads in steady state (misses re-read at once).
REGISTRY_REFRESH_S = 2.0
#: How long stop() waits for in-flight batches before leaving them to redelivery.
STOP_TIMEOUT_S = 30.0
#: Batches in flight beyond one per writer: one sealed and waiting, one being filled.
SPARE_BATCHES = 2


def receive_maximum(cfg: IngestSettings) -> int:
    """The MQTT v5 Receive Maximum ingest asks for: a batch per writer being written, one
    sealed and waiting, one being filled, so the broker never waits for an acknowledgement
    while ingest has work to do (``(writers + 2) x max_batch_messages``, at most 65535)."""
    return min(65535, (cfg.writers + SPARE_BATCHES) * cfg.max_batch_messages)


def hold_limit(cfg: IngestSettings) -> int:
    """Readings in sealed, unacknowledged batches at which the MQTT thread stops reading:
    the same number of full batches, counted in readings, so many-reading messages cannot
    fill memory with a whole Receive Maximum's worth of them."""
    return (cfg.writers + SPARE_BATCHES) * cfg.max_batch_readings


def default_client_id(instance: int) -> str:
    """``ingest-<hostname>-<n>``: stable across restarts of the same process slot."""
    host = "".join(c if c.isalnum() or c in "-_." else "-" for c in socket.gethostname())
    return f"ingest-{host or 'host'}-{instance}"


def safe_name(client_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in client_id) or "ingest"
