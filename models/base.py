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
keeps per-resident state across restarts): each says what its learned state is
(:meth:`StreamingDetector.state`, plain JSON values and numeric arrays) and takes it back
(:meth:`StreamingDetector.load_state`), so a snapshot is data that cannot run code when read
(:mod:`models.state`), never a pickle.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Self

from models.errors import ModelError, NotFittedError, StateError
from models.state import State, StateReader, dump, load, nest

__all__ = [
    "DETECTOR_FORMAT",
    "DETECTOR_VERSION",
    "ModelError",
    "NotFittedError",
    "Observation",
    "StateError",
    "StreamingDetector",
]

Observation = Mapping[str, Any]

#: The file format of one detector's snapshot (version 1 was a pickle, and is not read).
DETECTOR_FORMAT = "careloop-detector"
DETECTOR_VERSION = 2
_SCALARS = (bool, int, float, str, type(None))


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

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Self:
        """A fresh detector from parameters read from a file (JSON values): each must be an
        ``__init__`` parameter of the type of its default (a list where it is a tuple);
        ModelError otherwise, or if the detector refuses them."""
        sig = inspect.signature(cls.__init__)
        known = {
            name: p.default
            for name, p in sig.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }
        kwargs: dict[str, Any] = {}
        for name, value in params.items():
            if name not in known:
                raise ModelError(f"{cls.__name__} has no parameter {name!r}")
            kwargs[name] = _like_default(name, value, known[name])
        try:
            return cls(**kwargs)
        except (TypeError, ValueError, OverflowError, MemoryError) as exc:
            raise ModelError(f"{cls.__name__} refuses parameters {params!r:.200}: {exc}") from exc

    # -- state ---------------------------------------------------------------------------
    @abstractmethod
    def state(self) -> State:
        """The learned state (not the parameters) as plain data: a dict of JSON values and
        a dict of named numeric arrays (:mod:`models.state`)."""

    @abstractmethod
    def load_state(self, state: StateReader) -> None:
        """Take back what :meth:`state` gave, on a fresh detector with the same parameters;
        raises StateError (through ``state``'s checks) if it does not fit them."""

    def snapshot(self) -> bytes:
        """Parameters and learned state as the bytes of a :data:`DETECTOR_FORMAT` file."""
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        doc = {"class": type(self).__name__, "params": params}
        return dump(DETECTOR_FORMAT, DETECTOR_VERSION, nest(doc, {"state": self.state()}))

    @classmethod
    def restore(cls, data: bytes) -> Self:
        """A detector from :meth:`snapshot` bytes; ModelError (a StateError) if they are not
        one of this class, whatever else they are. Reading runs no code from the data."""
        reader = load(data, DETECTOR_FORMAT, DETECTOR_VERSION, where="unreadable snapshot")
        if reader.text("class") != cls.__name__:
            reader.fail(f"snapshot holds a {reader.text('class')}, not a {cls.__name__}")
        try:
            detector = cls.from_params(reader.mapping("params"))
        except StateError:
            raise
        except ModelError as exc:
            reader.fail(str(exc))
        detector.load_state(reader.scope("state"))
        return detector

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def _like_default(name: str, value: Any, default: Any) -> Any:
    """``value`` (from JSON) checked against the type of the parameter's default."""
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or not all(isinstance(v, _SCALARS) for v in value):
            raise ModelError(f"parameter {name} should be a list of values, not {value!r:.60}")
        return tuple(value)
    if not isinstance(value, _SCALARS):
        raise ModelError(f"parameter {name} should be a plain value, not {value!r:.60}")
    if default is inspect.Parameter.empty or default is None:
        return value
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(default, bool) and isinstance(value, bool)
    elif isinstance(default, int | float):
        ok = isinstance(value, int | float) and (
            isinstance(default, float) or isinstance(value, int)
        )
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ModelError(f"parameter {name} should be like {default!r}, not {value!r:.60}")
    return value
