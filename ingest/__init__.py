"""careloop ingest: MQTT -> validated -> InfluxDB, at least once, nothing lost.

Public surface::

    Ingestor, default_client_id                service.py  (the service and its threads)
    Decoder, Decoded                           decoder.py  (contract-checked message -> lines)
    message_lines, MEASUREMENTS                lineproto.py (the InfluxDB schema)
    DeadLetterStore, DeadLetter                deadletters.py
    Spool                                      spool.py    (durable disk spool)
    IngestMetrics                              metrics.py  (Prometheus)
    IngestClient                               client.py   (paho with a bulk reader)
    IngestError and its subclasses             errors.py

The device registry (device -> resident, site) and consents are people data
(:mod:`people`); InfluxDB is spoken through the kernel's one client (:mod:`careloop.influx`).
See docs/ingest.md for how the pieces fit and why no reading is lost or stored twice.
"""

from ingest.client import IngestClient
from ingest.config import default_client_id
from ingest.deadletters import DeadLetter, DeadLetterStore
from ingest.decoder import Decoded, Decoder
from ingest.errors import (
    ClientError,
    DeadLetterError,
    IngestError,
    SpoolError,
    SpoolFull,
)
from ingest.lineproto import MEASUREMENTS, message_lines
from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from ingest.spool import Spool

__all__ = [
    "MEASUREMENTS",
    "ClientError",
    "DeadLetter",
    "DeadLetterError",
    "DeadLetterStore",
    "Decoded",
    "Decoder",
    "IngestClient",
    "IngestError",
    "IngestMetrics",
    "Ingestor",
    "Spool",
    "SpoolError",
    "SpoolFull",
    "default_client_id",
    "message_lines",
]
