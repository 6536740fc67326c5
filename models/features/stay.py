"""One ICU stay as the PhysioNet reader gives it: series of (hours, values) per parameter.

Its own module so that the vitals features (:mod:`models.features.icu`) and the clinical
features (:mod:`models.features.icu_clinical`) can both use it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Stay:
    """One ICU stay: per series, observation times (hours since admission) and values.

    ``clinical`` (labs, urine, FiO2, ventilation) and ``descriptors`` (age, sex, height,
    weight) are filled only by ``read_stays(..., clinical=True)``.
    """

    record_id: int
    series: dict[str, tuple[F64, F64]]
    invasive_bp: int  # number of arterial-line (SysABP) readings
    clinical: dict[str, tuple[F64, F64]] = field(default_factory=dict)
    descriptors: dict[str, float] = field(default_factory=dict)
