"""The posture labels of the older adults' wearable data and what careloop records for them.

ADL labels map to the wire contract's ``posture`` (sitting on bed or chair -> "sitting",
lying -> "lying", ambulating -> "walking"; the data has no standing-still class) and a rough
``activity`` in METs (Compendium-of-Physical-Activities ballpark values, not measured here).
"""

from __future__ import annotations

from typing import Any

#: The data set's activity labels.
ADL_LABELS = {1: "sit_on_bed", 2: "sit_on_chair", 3: "lying", 4: "ambulating"}
#: The label :class:`~models.posture.PostureClassifier` treats as lying.
LYING = 3
#: The label treated as walking.
AMBULATING = 4
#: ADL label -> careloop ``posture`` (careloop.wire.measures.POSTURES).
CARELOOP_POSTURE = {1: "sitting", 2: "sitting", 3: "lying", 4: "walking"}
#: careloop ``posture`` -> rough ``activity`` in METs (ballpark, not measured).
ACTIVITY_MET = {"lying": 1.0, "sitting": 1.3, "standing": 1.5, "walking": 2.5}


def careloop_fields(label: int) -> dict[str, Any]:
    """The ``posture`` and ``activity`` careloop records for one ADL label."""
    posture = CARELOOP_POSTURE[int(label)]
    return {"posture": posture, "activity": ACTIVITY_MET[posture]}
