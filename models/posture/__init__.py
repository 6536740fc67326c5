"""Posture, lying and fall candidates of an older adult from a chest-worn accelerometer.

* :class:`PostureClassifier` (batch, scikit-learn): raw readings -> sit on bed, sit on chair,
  lying, ambulating, from causal features of the irregularly sampled acceleration
  (:mod:`models.posture.features`) and, for the RFID data set only, of the reads
  (:mod:`models.posture.rfid`);
* :func:`classify_window` / :class:`PostureTracker` (the runtime's entry points): one window of
  raw samples, or a device's stream through a bounded buffer -> posture, confidence, lying
  and a fall candidate (:class:`FallRule`), with the shipped model loaded from its
  plain-array artefact (:func:`load_posture_model`, no pickle);
* :class:`InactivityDetector` (streaming): long stillness and unusual lying over careloop's
  ``posture`` / ``activity`` fields.

Training the shipped model: ``python -m models.posture train --data DIR --out FILE``.
"""

from models.posture.artifact import PostureModel, load_posture_model, save_artifact
from models.posture.classifier import (
    RAW_COLUMNS,
    PostureClassifier,
    feature_names,
    posture_features,
)
from models.posture.falls import FallCandidate, FallRule
from models.posture.inactivity import InactivityDetector
from models.posture.labels import (
    ACTIVITY_MET,
    ADL_LABELS,
    AMBULATING,
    CARELOOP_POSTURE,
    LYING,
    careloop_fields,
)
from models.posture.window import PostureReading, PostureTracker, classify_window

__all__ = [
    "ACTIVITY_MET",
    "ADL_LABELS",
    "AMBULATING",
    "CARELOOP_POSTURE",
    "LYING",
    "RAW_COLUMNS",
    "FallCandidate",
    "FallRule",
    "InactivityDetector",
    "PostureClassifier",
    "PostureModel",
    "PostureReading",
    "PostureTracker",
    "careloop_fields",
    "classify_window",
    "feature_names",
    "load_posture_model",
    "posture_features",
    "save_artifact",
]
