"""The two shapes every careloop model takes, and the conventions they share.

* **Batch models** are scikit-learn estimators: keyword parameters stored unchanged in
  ``__init__``, validation in ``fit``, learned state in ``name_`` attributes, ``fit`` returns
  ``self``. They subclass :class:`sklearn.base.BaseEstimator` directly.
* **Streaming detectors** subclass :class:`StreamingDetector`: ``score_one(x)`` then
  ``learn_one(x)`` for each observation, always scoring before learning, so a reading is
  never judged against a baseline that already contains it.

One score direction everywhere: **higher = more anomalous / more in need**. A wrapper around a
library with the opposite sign converts at the boundary. Everything random takes a
``seed``/``random_state``. Detectors snapshot and restore their state (the streaming runtime
keeps per-resident state across restarts).
"""

from __future__ import annotations

import inspect
import pickle
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Self

from careloop.errors import CareloopError
from models.snapshots import safe_loads


class ModelError(CareloopError):
    """Base of model errors: bad parameters, unfitted use, an unreadable snapshot."""


class NotFittedError(ModelError):
    """A batch model was used before ``fit``."""


Observation = Mapping[str, Any]


class StreamingDetector(ABC):
    """``learn_one`` / ``score_one`` over dict observations; higher score = more anomalous.

    Subclasses store their ``__init__`` keyword arguments unchanged as attributes of the same
    name (so :meth:`get_params` and :meth:`clone` work) and keep learned state elsewhere.
    """

    @abstractmethod
    def learn_one(self, x: Observation) -> None:
        """Update the state with one observation (after it was scored)."""

    @abstractmethod
    def score_one(self, x: Observation) -> float:
        """How anomalous ``x`` is against what was learned so far (higher = more)."""

    # -- parameters ----------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` parameters, read back from the attributes of the same name."""
        sig = inspect.signature(type(self).__init__)
        return {
            name: getattr(self, name)
            for name, p in sig.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }

    def clone(self) -> Self:
        """A fresh, unlearned detector with the same parameters."""
        return type(self)(**self.get_params())

    # -- state ---------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """The whole detector (parameters and learned state) as bytes."""
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def restore(cls, data: bytes) -> Self:
        """A detector from :meth:`snapshot` bytes; raises ModelError if they are not one."""
        try:
            obj = safe_loads(data)
        except Exception as exc:  # pickle raises many types on corrupt input
            raise ModelError(f"unreadable snapshot: {exc}") from exc
        if not isinstance(obj, cls):
            raise ModelError(f"snapshot holds a {type(obj).__name__}, not a {cls.__name__}")
        return obj

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"
