"""Streaming univariate anomaly detection (NAB-evaluated; usable on a resident's vitals)."""

from __future__ import annotations

from models.stream_anomaly.baselines import WindowedGaussian
from models.stream_anomaly.detector import MultiScaleNovelty

__all__ = ["MultiScaleNovelty", "WindowedGaussian"]
