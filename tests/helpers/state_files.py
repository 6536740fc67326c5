"""Doctoring state files (snapshots) for tests: change the JSON document, an array, or a
member's raw bytes, and write the zip back the way :func:`models.state.dump` does; and the
red team's payloads (issue 11, item 5)."""

from __future__ import annotations

import io
import json
import shlex
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

DOC = "state.json"


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def pack(files: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as z:
        for name, raw in files.items():
            z.writestr(name, raw)
    return out.getvalue()


def npy(a: np.ndarray, *, allow_pickle: bool = False) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, a, allow_pickle=allow_pickle)
    return out.getvalue()


def npy_claiming(shape: tuple[int, ...], body: bytes = b"") -> bytes:
    """An ``.npy`` whose header claims ``shape`` (float64) over only ``body``: a reader that
    trusts the header allocates the claimed size."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        out, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    return out.getvalue() + body


def header(data: bytes) -> dict[str, Any]:
    return json.loads(members(data)[DOC])


def with_header(data: bytes, change: Callable[[dict[str, Any]], object]) -> bytes:
    """``data`` with its JSON header changed in place by ``change``."""
    files = members(data)
    doc = json.loads(files[DOC])
    change(doc)
    files[DOC] = json.dumps(doc).encode()
    return pack(files)


def with_member(data: bytes, name: str, raw: bytes | None) -> bytes:
    """``data`` with member ``name`` replaced (or added; removed if ``raw`` is None)."""
    files = members(data)
    if raw is None:
        del files[name]
    else:
        files[name] = raw
    return pack(files)


def array(data: bytes, name: str) -> np.ndarray:
    return np.lib.format.read_array(io.BytesIO(members(data)[f"{name}.npy"]))


# -- the red team's payloads ------------------------------------------------------------------


def red_team_pickle(marker: Path) -> bytes:
    """Protocol-0 pickle: ``import_string('os.system')('touch <marker>')`` when loaded (the
    pydantic helper was inside the old unpickler's allowlist)."""
    command = f"touch {shlex.quote(str(marker))}"
    return (
        b"cpydantic._internal._validators\nimport_string\n"
        b"(Vos.system\ntR"
        b"(V" + command.encode() + b"\ntR."
    )


def old_layout(objects: bytes) -> bytes:
    """A snapshot as careloop wrote them before issue 11 (``arrays.npz`` + ``objects.pickle``)
    with ``objects`` as the pickle: the file an attacker would leave in ``DATA_DIR/score/``."""
    arrays = io.BytesIO()
    np.savez(arrays, heart_rate=np.zeros((1, 6), dtype=np.float32))
    return pack({"arrays.npz": arrays.getvalue(), "objects.pickle": objects})


def pickled_npy(marker: Path) -> bytes:
    """An ``.npy`` of dtype object whose body is the payload (``np.load`` with
    ``allow_pickle=True`` would unpickle it)."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        out, {"descr": "|O", "fortran_order": False, "shape": (1,)}
    )
    out.write(red_team_pickle(marker))
    return out.getvalue()
