"""Streaming univariate anomaly detection (NAB-evaluated; usable on a resident's vitals)."""

from __future__ import annotations

from models.stream_anomaly.baselines import WindowedGaussian
from models.stream_anomaly.designs import (
    DEFAULT_DESIGN,
    DESIGNS,
    SLOW_SIGNALS,
    Trace,
    design_params,
    replay,
    replay_all,
    slow_signal_detector,
    superset,
    trace,
)
from models.stream_anomaly.detector import MultiScaleNovelty

__all__ = [
    "DEFAULT_DESIGN",
    "DESIGNS",
    "SLOW_SIGNALS",
    "MultiScaleNovelty",
    "Trace",
    "WindowedGaussian",
    "design_params",
    "replay",
    "replay_all",
    "slow_signal_detector",
    "superset",
    "trace",
]
