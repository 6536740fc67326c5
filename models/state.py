"""Model state as plain data, a JSON document and numeric arrays, so reading it runs no code.

Snapshots used to be pickles, and unpickling a file runs whatever the file names: an
allowlist of modules was not enough (issue 11: a pydantic helper in the allowlist hands out
``os.system``). Now every stateful model part states its state explicitly:

* ``state() -> (doc, arrays)``: ``doc`` holds JSON values (ints, finite floats, strings,
  lists, dicts), ``arrays`` named bool, integer or float numpy arrays;
* a ``load_state(reader)`` (or a function building the part) that takes it back through a
  :class:`StateReader`, which checks every type, shape and range it is asked for and raises
  :class:`~models.errors.StateError` (a ModelError) on anything else.

:func:`dump` writes one state as a file and :func:`load` reads it back: a zip with every
member stored (no compression, so a file cannot expand beyond its size), holding
``state.json`` (``{"format", "version", "state": doc}``) and one ``<name>.npy`` per array,
each read with ``allow_pickle=False``; arrays of any other kind (object, string, structured)
are refused, as is NaN or infinity in the JSON (those belong in float arrays). Parts nest:
:func:`nest` puts a part's document under its name and its arrays under ``name/``, and
:meth:`StateReader.scope` undoes it.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from typing import IO, Any, NoReturn

import numpy as np
from numpy.typing import DTypeLike, NDArray

from models.errors import StateError

#: A part's state: a JSON-able document and named numeric arrays.
State = tuple[dict[str, Any], dict[str, NDArray[Any]]]

_DOC = "state.json"
#: Array kinds a state may hold: bool, signed and unsigned integers, floats.
_KINDS = frozenset("biuf")
#: Every way a truncated, doctored or foreign file fails to parse (none of them runs code):
#: zipfile's, the JSON parser's (ValueError, RecursionError on deep nesting) and numpy's.
_PARSE_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    RecursionError,
    NotImplementedError,
    RuntimeError,
)
#: What a pickle-based snapshot (careloop before issue 11) holds instead of ``state.json``.
_OLD_MEMBERS = frozenset({"objects.pickle"})
#: Integers in a document fit the int64 arrays and counters they end up in.
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def nest(doc: dict[str, Any], parts: Mapping[str, State]) -> State:
    """``doc`` plus each part's document under its name and its arrays under ``name/``."""
    arrays: dict[str, NDArray[Any]] = {}
    for name, (part_doc, part_arrays) in parts.items():
        doc[name] = part_doc
        arrays.update({f"{name}/{key}": a for key, a in part_arrays.items()})
    return doc, arrays


def stack(states: Sequence[State], empty: State) -> State:
    """Many same-shaped states (one per resident) as one: each number of the documents
    becomes an array with one entry per state, each array gains a leading axis.

    ``empty`` (an unlearned part's state) gives the keys and shapes when ``states`` is empty.
    Read back with :meth:`StateReader.rows`.
    """
    doc, arrays = empty
    out: dict[str, NDArray[Any]] = {}
    for key, value in doc.items():
        dtype = (
            np.bool_
            if isinstance(value, bool)
            else (np.int64 if isinstance(value, int) else np.float64)
        )
        out[key] = np.array([d[key] for d, _ in states], dtype=dtype)
    for key, a in arrays.items():
        out[key] = (
            np.stack([s[key] for _, s in states]) if states else np.zeros((0, *a.shape), a.dtype)
        )
    return {"rows": len(states), "numbers": sorted(doc)}, out


def ragged(key: str, seqs: Sequence[Sequence[Any]], dtype: DTypeLike) -> dict[str, NDArray[Any]]:
    """Sequences of different lengths as two arrays, ``key/values`` (all of them, in order)
    and ``key/lengths``; read back with :meth:`StateReader.ragged`."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    values = np.array([v for s in seqs for v in s], dtype=dtype)
    return {f"{key}/values": values, f"{key}/lengths": lengths}


def dump(fmt: str, version: int, state: State) -> bytes:
    """One state as file contents (see the module docstring); ModelError if it is not
    plain data (a non-JSON value, NaN in the document, an object array)."""
    doc, arrays = state
    try:
        text = json.dumps(
            {"format": fmt, "version": version, "state": doc},
            allow_nan=False,
            separators=(",", ":"),
        )
    except (TypeError, ValueError) as exc:
        raise StateError(fmt, f"state is not plain JSON: {exc}") from exc
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(_member(_DOC), text)
        for name, a in arrays.items():
            if a.dtype.kind not in _KINDS:
                raise StateError(fmt, f"array {name} has dtype {a.dtype}, not a number type")
            with z.open(_member(f"{name}.npy"), "w") as f:
                np.lib.format.write_array(f, a, allow_pickle=False)
    return buf.getvalue()


def _member(name: str) -> zipfile.ZipInfo:
    # a fixed time stamp: the same state gives the same bytes (snapshots can be compared)
    return zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))


def load(data: bytes, fmt: str, version: int, *, where: str) -> StateReader:
    """Read :func:`dump`'s output; StateError (``stale`` for another version's file) if the
    data is anything else. ``where`` starts every error message (e.g. the file's path)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = z.infolist()
            names = {m.filename for m in members}
            for m in members:
                # stored only, and no bigger than the file: reading cannot inflate memory
                if m.compress_type != zipfile.ZIP_STORED or m.file_size > len(data):
                    raise StateError(where, f"member {m.filename!r} is compressed or oversized")
            if _DOC not in names:
                if names & _OLD_MEMBERS:
                    raise StateError(
                        where,
                        "written by an older careloop (pickled objects); not read",
                        stale=True,
                    )
                raise StateError(where, f"not a careloop state file (no {_DOC})")
            header = json.loads(z.read(_DOC).decode(), parse_constant=_no_constant)
            _check_header(header, fmt, version, where)
            arrays: dict[str, NDArray[Any]] = {}
            for m in members:
                if m.filename == _DOC:
                    continue
                if not m.filename.endswith(".npy"):
                    raise StateError(where, f"unexpected member {m.filename!r}")
                with z.open(m) as f:
                    arrays[m.filename[: -len(".npy")]] = _read_npy(f, m, where)
    except StateError:
        raise
    except _PARSE_ERRORS as exc:
        raise StateError(where, f"{type(exc).__name__}: {exc}") from exc
    return StateReader(header["state"], arrays, where)


def _read_npy(f: IO[bytes], member: zipfile.ZipInfo, where: str) -> NDArray[Any]:
    """One ``.npy`` member, its header checked before any memory is taken for the data: a
    number dtype (so nothing is ever unpickled) and exactly as many bytes as its shape says
    (a header claiming a huge shape is refused, not allocated)."""
    name = member.filename
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise StateError(where, f"array {name} has .npy version {version}")
    if dtype.kind not in _KINDS or dtype.hasobject:
        raise StateError(where, f"array {name} has dtype {dtype}, not a number type")
    count = math.prod(shape)
    size = count * dtype.itemsize
    if size != member.file_size - f.tell():
        raise StateError(where, f"array {name}: its data does not match its shape {shape}")
    raw = f.read(size)
    if len(raw) != size:
        raise StateError(where, f"array {name} is truncated")
    return np.frombuffer(raw, dtype=dtype, count=count).reshape(
        shape, order="F" if fortran else "C"
    )


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} in the JSON document (non-finite numbers belong in arrays)")


def _check_header(header: Any, fmt: str, version: int, where: str) -> None:
    if not isinstance(header, dict) or header.get("format") != fmt:
        got = header.get("format") if isinstance(header, dict) else None
        raise StateError(where, f"not a {fmt} file (format {got!r})")
    if header.get("version") != version:
        raise StateError(
            where,
            f"format version {header.get('version')!r}, this careloop reads version {version}",
            stale=True,
        )
    if not isinstance(header.get("state"), dict):
        raise StateError(where, "no state document")


class StateReader:
    """Checked access to one part's state document and arrays: every accessor names what it
    expects and raises :class:`~models.errors.StateError` if the state holds anything else."""

    def __init__(
        self,
        doc: Mapping[str, Any],
        arrays: Mapping[str, NDArray[Any]],
        where: str,
        path: str = "",
    ) -> None:
        self.doc = doc
        self.arrays = arrays
        self.where = where
        #: Where this part sits in the whole state (``daily/detector/``), for messages.
        self.path = path

    def fail(self, reason: str) -> NoReturn:
        raise StateError(self.where, reason)

    def _get(self, key: str) -> Any:
        if key not in self.doc:
            self.fail(f"missing {self.path}{key}")
        return self.doc[key]

    def _bad(self, key: str, what: str, value: Any) -> NoReturn:
        self.fail(f"{self.path}{key} should be {what}, not {type(value).__name__} {value!r:.60}")

    # -- JSON values -----------------------------------------------------------------------
    def integer(self, key: str, lo: int | None = None, hi: int | None = None) -> int:
        """An int (not a bool) in ``[lo, hi]``."""
        v = self._get(key)
        if not isinstance(v, int) or isinstance(v, bool):
            self._bad(key, "an integer", v)
        if not _INT64_MIN <= v <= _INT64_MAX:
            self.fail(f"{self.path}{key} = {v:.3g} does not fit 64 bits")
        if lo is not None and v < lo:
            self.fail(f"{self.path}{key} = {v} is below {lo}")
        if hi is not None and v > hi:
            self.fail(f"{self.path}{key} = {v} is above {hi}")
        return v

    def number(self, key: str) -> float:
        """A finite int or float (not a bool), as float."""
        v = self._get(key)
        if not isinstance(v, int | float) or isinstance(v, bool):
            self._bad(key, "a number", v)
        return float(v)

    def optional_number(self, key: str) -> float | None:
        return None if self._get(key) is None else self.number(key)

    def optional_integer(
        self, key: str, lo: int | None = None, hi: int | None = None
    ) -> int | None:
        return None if self._get(key) is None else self.integer(key, lo, hi)

    def text(self, key: str) -> str:
        v = self._get(key)
        if not isinstance(v, str):
            self._bad(key, "a string", v)
        return v

    def texts(self, key: str) -> list[str]:
        """A list of strings."""
        v = self._get(key)
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            self._bad(key, "a list of strings", v)
        return v

    def integers(self, key: str) -> list[int]:
        """A list of ints (not bools)."""
        v = self._get(key)
        if not isinstance(v, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in v
        ):
            self._bad(key, "a list of integers", v)
        return v

    def mapping(self, key: str) -> dict[str, Any]:
        v = self._get(key)
        if not isinstance(v, dict):
            self._bad(key, "an object", v)
        return v

    def items(self, key: str) -> list[Any]:
        """A list of JSON values, unchecked (the caller validates them)."""
        v = self._get(key)
        if not isinstance(v, list):
            self._bad(key, "a list", v)
        return v

    def records(self, key: str) -> list[StateReader]:
        """A list of objects, each as a reader of its own (no arrays)."""
        v = self._get(key)
        if not isinstance(v, list) or not all(isinstance(d, dict) for d in v):
            self._bad(key, "a list of objects", v)
        return [StateReader(d, {}, self.where, f"{self.path}{key}[{i}].") for i, d in enumerate(v)]

    # -- arrays ----------------------------------------------------------------------------
    def array(self, key: str, dtype: DTypeLike, shape: tuple[int | None, ...]) -> NDArray[Any]:
        """A writable copy of array ``key``, of exactly ``dtype`` and ``shape`` (None: any
        length along that axis)."""
        a = self.arrays.get(key)
        if a is None:
            self.fail(f"missing array {self.path}{key}")
        if a.dtype != np.dtype(dtype):
            self.fail(f"array {self.path}{key} is {a.dtype}, not {np.dtype(dtype)}")
        if a.ndim != len(shape) or any(
            w is not None and w != n for w, n in zip(shape, a.shape, strict=True)
        ):
            self.fail(f"array {self.path}{key} has shape {a.shape}, not {shape}")
        return np.array(a, copy=True)

    def indices(
        self, key: str, bound: int, count: int | None = None, *, unique: bool = True
    ) -> list[int]:
        """Array ``key`` of ``count`` (any if None) int64 indices into ``range(bound)``
        (resident slots), distinct if ``unique``, as a list."""
        a = self.array(key, np.int64, (count,))
        if len(a) and (a.min() < 0 or a.max() >= bound):
            self.fail(f"{self.path}{key} has an index outside [0, {bound})")
        if unique and len(np.unique(a)) != len(a):
            self.fail(f"{self.path}{key} repeats an index")
        return a.tolist()

    def ragged(self, key: str, dtype: DTypeLike, rows: int, max_len: int) -> list[NDArray[Any]]:
        """:func:`ragged`'s output under ``key``: ``rows`` sequences of at most ``max_len``."""
        lengths = self.array(f"{key}/lengths", np.int64, (rows,))
        values = self.array(f"{key}/values", dtype, (None,))
        if rows and (lengths.min() < 0 or lengths.max() > max_len):
            self.fail(f"{self.path}{key} has a sequence longer than {max_len} or negative")
        if int(lengths.sum()) != len(values):
            self.fail(f"{self.path}{key}: lengths do not add up to the values")
        return np.split(values, np.cumsum(lengths)[:-1]) if rows else []

    # -- parts -----------------------------------------------------------------------------
    def scope(self, key: str) -> StateReader:
        """The part :func:`nest` put under ``key``."""
        prefix = f"{key}/"
        arrays = {k[len(prefix) :]: a for k, a in self.arrays.items() if k.startswith(prefix)}
        return StateReader(self.mapping(key), arrays, self.where, f"{self.path}{key}/")

    def rows(self) -> list[StateReader]:
        """The states :func:`stack` stacked, one reader each (views of the rows)."""
        n = self.integer("rows", lo=0)
        numbers = set(self.texts("numbers"))
        for key, a in self.arrays.items():
            if a.ndim < 1 or len(a) != n or (key in numbers and a.ndim != 1):
                self.fail(f"array {self.path}{key} does not have one entry per row ({n})")
        missing = numbers - set(self.arrays)
        if missing:
            self.fail(f"missing arrays {sorted(missing)} in {self.path}")
        columns = {k: a.tolist() for k, a in self.arrays.items() if k in numbers}
        shaped = {k: a for k, a in self.arrays.items() if k not in numbers}
        return [
            StateReader(
                {k: c[i] for k, c in columns.items()},
                {k: a[i] for k, a in shaped.items()},
                self.where,
                f"{self.path}{i}/",
            )
            for i in range(n)
        ]
