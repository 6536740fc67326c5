"""careloop ingest: MQTT -> validated -> InfluxDB, at least once, nothing lost.

Public surface::

    Ingestor, default_client_id                service.py  (the service and its threads)
    Decoder, Decoded                           decoder.py  (contract-checked message -> lines)
    message_lines, MEASUREMENTS                lineproto.py (the InfluxDB schema)
    Registry, Device, read_devices             registry.py (device -> resident, site)
    DeadLetterStore, DeadLetter                deadletters.py
    Spool                                      spool.py    (durable disk spool)
    InfluxWriter                               influx.py   (/write and /query)
    IngestMetrics                              metrics.py  (Prometheus)
    IngestClient                               client.py   (paho with a bulk reader)
    IngestError and its subclasses             errors.py

See docs/ingest.md for how the pieces fit and why no reading is lost or stored twice.
"""

from ingest.client import IngestClient
from ingest.deadletters import DeadLetter, DeadLetterStore
from ingest.decoder import Decoded, Decoder
from ingest.errors import (
    ClientError,
    DeadLetterError,
    InfluxError,
    InfluxRejected,
    InfluxUnavailable,
    IngestError,
    RegistryError,
    SpoolError,
    SpoolFull,
)
from ingest.influx import InfluxWriter
from ingest.lineproto import MEASUREMENTS, message_lines
from ingest.metrics import IngestMetrics
from ingest.registry import Device, Registry, read_devices
from ingest.service import Ingestor, default_client_id
from ingest.spool import Spool

__all__ = [
    "MEASUREMENTS",
    "ClientError",
    "DeadLetter",
    "DeadLetterError",
    "DeadLetterStore",
    "Decoded",
    "Decoder",
    "Device",
    "InfluxError",
    "InfluxRejected",
    "InfluxUnavailable",
    "InfluxWriter",
    "IngestClient",
    "IngestError",
    "IngestMetrics",
    "Ingestor",
    "Registry",
    "RegistryError",
    "Spool",
    "SpoolError",
    "SpoolFull",
    "default_client_id",
    "message_lines",
    "read_devices",
]
