"""Reading the older adults' wearable data set (UCI 427) into :data:`RAW_COLUMNS` rows.

Layout: ``S*_Dataset/`` folders (two rooms), one headerless CSV per trial: time (s),
frontal/vertical/lateral acceleration (g), antenna id, RSSI, phase, frequency, label (1 sit on
bed, 2 sit on chair, 3 lying, 4 ambulating). The file name ends in the wearer's gender (M/F).
Torres, Ranasinghe, Shi & Sample (2013), IEEE RFID 2013; CC BY 4.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from careloop.errors import SettingsError


@dataclass(frozen=True)
class Trials:
    """Every trial file's rows (stream = file index), labels, and per-file name, room, gender."""

    raw: NDArray[np.float64]
    y: NDArray[np.int_]
    names: tuple[str, ...]
    rooms: tuple[str, ...]
    genders: tuple[str, ...]

    @property
    def stream(self) -> NDArray[np.int_]:
        return self.raw[:, 0].astype(int)


def read_trials(data: Path) -> Trials:
    """All trial files under ``data/S*_Dataset/`` (README files skipped)."""
    paths = sorted(
        p for p in Path(data).glob("S*_Dataset/*") if p.is_file() and p.suffix.lower() != ".txt"
    )
    if not paths:
        raise SettingsError("data", f"no trial files under {data}/S*_Dataset/")
    raws, labels, names, rooms, genders = [], [], [], [], []
    for i, path in enumerate(paths):
        try:
            table = np.loadtxt(path, delimiter=",", ndmin=2)
        except ValueError as exc:
            raise SettingsError("data", f"{path}: not a numeric CSV ({exc})") from exc
        if table.shape[1] != 9:
            raise SettingsError("data", f"{path}: expected 9 columns, found {table.shape[1]}")
        if path.name[-1:].upper() not in ("M", "F"):
            raise SettingsError("data", f"{path}: file name should end in the gender (M/F)")
        stream = np.full((len(table), 1), float(i))
        raws.append(np.hstack([stream, table[:, :8]]))
        labels.append(table[:, 8].astype(int))
        names.append(f"{path.parent.name}/{path.name}")
        rooms.append(path.parent.name.split("_")[0])
        genders.append(path.name[-1].upper())
    return Trials(np.vstack(raws), np.concatenate(labels), *map(tuple, (names, rooms, genders)))
