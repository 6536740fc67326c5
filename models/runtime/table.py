"""Per-resident state as a few numpy arrays: one row per resident, one array per field.

A component declares its fields once (name, dtype, per-row shape, initial value); the table
allocates them for every resident slot, grows them when new residents arrive, and snapshots
and restores them as plain arrays (:mod:`models.state`), so 10,000 residents' state is a few
hundred kilobytes and no Python object per resident is needed on the hot path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.state import StateReader


@dataclass(frozen=True, slots=True)
class Field:
    """One per-resident array: ``shape`` is per row (``()`` for a scalar per resident)."""

    name: str
    dtype: Any
    shape: tuple[int, ...] = ()
    fill: float | int | bool = 0


class Table:
    """Arrays of ``capacity`` rows; row ``i`` belongs to resident slot ``i``."""

    def __init__(self, fields: tuple[Field, ...], capacity: int = 64) -> None:
        names = [f.name for f in fields]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate field names in {names}")
        self.fields = fields
        self.capacity = 0
        self.arrays: dict[str, NDArray[Any]] = {}
        for f in fields:
            self.arrays[f.name] = np.full((0, *f.shape), f.fill, dtype=f.dtype)
        self.ensure(capacity)

    def __getitem__(self, name: str) -> NDArray[Any]:
        return self.arrays[name]

    def ensure(self, rows: int) -> None:
        """Make room for at least ``rows`` rows (doubling), new rows at their fill value."""
        if rows <= self.capacity:
            return
        new = max(rows, 2 * self.capacity, 16)
        for f in self.fields:
            old = self.arrays[f.name]
            grown = np.full((new, *f.shape), f.fill, dtype=f.dtype)
            grown[: len(old)] = old
            self.arrays[f.name] = grown
        self.capacity = new

    def reset(self, row: int) -> None:
        """Put one row back to its fill values (a resident erased or never seen)."""
        for f in self.fields:
            self.arrays[f.name][row] = f.fill

    def row_nbytes(self) -> int:
        """Bytes of state per resident row."""
        return sum(int(np.dtype(f.dtype).itemsize * int(np.prod(f.shape))) for f in self.fields)

    def state(self, rows: int) -> dict[str, NDArray[Any]]:
        """The first ``rows`` rows of every array (for a snapshot)."""
        return {name: a[:rows] for name, a in self.arrays.items()}

    def read_state(self, state: StateReader, rows: int) -> dict[str, NDArray[Any]]:
        """Every field's ``rows`` rows from a snapshot, checked: each field present, of its
        dtype and shape (StateError otherwise). Changes nothing; :meth:`load` applies them."""
        return {f.name: state.array(f.name, f.dtype, (rows, *f.shape)) for f in self.fields}

    def load(self, state: Mapping[str, NDArray[Any]], rows: int) -> None:
        """Restore rows checked by :meth:`read_state`."""
        self.ensure(rows)
        for f in self.fields:
            self.arrays[f.name][:rows] = state[f.name]
