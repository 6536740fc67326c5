"""The streaming scoring runtime: readings in, care needs out, vectorised over residents.

Public surface::

    ScoringEngine, EngineConfig      engine.py   (feed batches, get NeedMessages, snapshot)
    VitalsBatch, encode_readings     columns.py  (readings as one float32 matrix)
    CareProfile, Expectation         (re-exported from :mod:`people`: a resident's profile)
    ScoreService                     service.py  (``careloop score``: MQTT in and out)

The engine keeps every resident's state in a few numpy arrays (one row per resident, see
:class:`~models.runtime.table.Table`), so a batch of readings from thousands of residents is
scored with a handful of array operations per rule. Rules turn scores into *findings*;
:mod:`models.runtime.fusion` turns findings into needs with a tier and an explanation.
"""

from models.runtime.columns import FIELDS, VitalsBatch, encode_readings
from models.runtime.engine import EngineConfig, ScoringEngine
from people import CareProfile, Expectation

__all__ = [
    "FIELDS",
    "CareProfile",
    "EngineConfig",
    "Expectation",
    "ScoringEngine",
    "VitalsBatch",
    "encode_readings",
]
