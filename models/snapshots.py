"""Reading model snapshots back without letting a snapshot file run code.

Snapshots are pickles of careloop's own objects (detectors, the scoring engine's per-resident
objects). ``pickle.loads`` on a file someone else wrote can run anything, so snapshots are
read with an unpickler that only builds classes from an allowlist: careloop's model and
wire modules, numpy's array machinery, scikit-learn estimators and a few builtins. A file
naming anything else (``os.system``, ``subprocess``...) is refused with a ModelError.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

#: Module prefixes a snapshot may name classes from.
ALLOWED_MODULES: tuple[str, ...] = (
    "models.",
    "careloop.wire.",
    "numpy",
    "sklearn.",
    "scipy.sparse",
    "collections",
    "copyreg",
    "datetime",
    "pydantic",
    "pydantic_core",
)
#: Builtins a snapshot may use (types and constructors, no callables that act).
ALLOWED_BUILTINS: frozenset[str] = frozenset(
    {"dict", "list", "tuple", "set", "frozenset", "int", "float", "str", "bytes", "bytearray",
     "bool", "complex", "slice", "range", "object", "NoneType"}
)  # fmt: skip


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in ALLOWED_BUILTINS:
            return super().find_class(module, name)
        if module != "builtins" and any(
            module == prefix.rstrip(".") or module.startswith(prefix) for prefix in ALLOWED_MODULES
        ):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"snapshot names {module}.{name}, which is not allowed")


def safe_loads(data: bytes) -> Any:
    """``pickle.loads`` limited to the allowlist; raises ``pickle.UnpicklingError`` else."""
    return _Restricted(io.BytesIO(data)).load()
