"""Vitals readings as columns: one float32 matrix, NaN where a field is absent.

The wire contract's vitals fields (:data:`careloop.wire.VITALS`, in that order) are the
columns. Booleans are 0/1, ``posture`` is its index in :data:`careloop.wire.POSTURES` and
``consciousness`` its index in :data:`careloop.wire.ACVPU`, so every rule downstream is an
array expression. Simulators and benchmarks build batches straight from their arrays;
the MQTT service builds them from decoded messages with :func:`encode_readings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from careloop.wire import ACVPU, POSTURES, VITALS

FIELDS: tuple[str, ...] = tuple(m.name for m in VITALS)
COL: dict[str, int] = {name: i for i, name in enumerate(FIELDS)}
POSTURE_CODE: dict[str, int] = {p: i for i, p in enumerate(POSTURES)}
ACVPU_CODE: dict[str, int] = {a: i for i, a in enumerate(ACVPU)}
LYING, SITTING, STANDING, WALKING = (POSTURE_CODE[p] for p in POSTURES)

F32 = NDArray[np.float32]
I64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class VitalsBatch:
    """``n`` vitals readings: resident slot, device time (epoch ms) and the field matrix."""

    resident: I64
    ts: I64
    x: F32

    def __post_init__(self) -> None:
        n = len(self.resident)
        if self.ts.shape != (n,) or self.x.shape != (n, len(FIELDS)):
            raise ValueError("resident, ts and x must agree: (n,), (n,), (n, len(FIELDS))")

    def __len__(self) -> int:
        return len(self.resident)

    def col(self, name: str) -> F32:
        """The column of ``name`` (a view)."""
        return self.x[:, COL[name]]

    def take(self, rows: NDArray[np.intp] | slice) -> VitalsBatch:
        """The readings at ``rows``."""
        return VitalsBatch(self.resident[rows], self.ts[rows], self.x[rows])

    @classmethod
    def empty(cls) -> VitalsBatch:
        return cls(
            np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(FIELDS)), np.float32)
        )


def _code(name: str, value: Any) -> float:
    if name == "posture":
        return float(POSTURE_CODE[value])
    if name == "consciousness":
        return float(ACVPU_CODE[value])
    return float(value)


def encode_readings(residents: Sequence[int], readings: Sequence[Mapping[str, Any]]) -> VitalsBatch:
    """A batch from validated vitals readings (dicts as on the wire) and their resident slots."""
    n = len(readings)
    x = np.full((n, len(FIELDS)), np.nan, dtype=np.float32)
    ts = np.empty(n, dtype=np.int64)
    for i, reading in enumerate(readings):
        ts[i] = reading["ts"]
        row = x[i]
        for name, value in reading.items():
            j = COL.get(name)
            if j is not None and value is not None:
                row[j] = _code(name, value)
    return VitalsBatch(np.asarray(residents, dtype=np.int64), ts, x)
