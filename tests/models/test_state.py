"""State files (models.state) and detector snapshots: plain data round-trips exactly, and
anything else, truncated, doctored, of another version, is a StateError (a ModelError),
never another exception type."""

from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Callable

import numpy as np
import pytest

from models.base import DETECTOR_FORMAT, DETECTOR_VERSION, ModelError, StateError
from models.baseline import ResidentBaseline
from models.decline import DeclineDetector
from models.speech.agitation import SpeechAgitationDetector
from models.state import dump, load, nest, ragged, stack
from models.stream_anomaly import MultiScaleNovelty
from tests.helpers import state_files as sf
from tests.models.cases_univariate import heart_rate_stream
from tests.models.checks import run_stream


def decline_snapshot() -> bytes:
    """A DeclineDetector with a baseline and some evidence (ints and arrays in its state)."""
    det = DeclineDetector(warmup_days=2)
    for day in range(6):
        hr = 70.0 + 3.0 * max(0, day - 3)
        det.close_day(day, np.array([hr * 20, 0.2 * 30, 0.8 * 20]), np.array([20.0, 30, 20]))
    assert det.score_one({}) > 0
    return det.snapshot()


def _set(*path: str, value: object) -> Callable[[bytes], bytes]:
    def change(doc: dict) -> None:
        for key in path[:-1]:
            doc = doc[key]
        doc[path[-1]] = value

    return lambda data: sf.with_header(data, change)


def _drop(*path: str) -> Callable[[bytes], bytes]:
    def change(doc: dict) -> None:
        for key in path[:-1]:
            doc = doc[key]
        del doc[path[-1]]

    return lambda data: sf.with_header(data, change)


def _array(name: str, a: np.ndarray | None, *, allow_pickle: bool = False) -> Callable:
    raw = None if a is None else sf.npy(a, allow_pickle=allow_pickle)
    return lambda data: sf.with_member(data, f"{name}.npy", raw)


def _flip_a_byte(data: bytes) -> bytes:
    raw = sf.members(data)["state/cusum.npy"]
    at = data.index(raw) + len(raw) - 1
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


CORRUPT: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
    "garbage": lambda data: b"this is not a snapshot",
    "a pickle (version 1)": lambda data: pickle.dumps(DeclineDetector()),
    "bad CRC": _flip_a_byte,
    "compressed members": lambda data: sf.pack(sf.members(data), zipfile.ZIP_DEFLATED),
    "an unexpected member": lambda data: sf.with_member(data, "notes.txt", b"hello"),
    "no JSON document": lambda data: sf.with_member(data, sf.DOC, None),
    "JSON not an object": lambda data: sf.with_member(data, sf.DOC, b"[1, 2, 3]"),
    "JSON not JSON": lambda data: sf.with_member(data, sf.DOC, b"{'format': 1"),
    "JSON nested too deep": lambda data: sf.with_member(data, sf.DOC, b"[" * 100_000),
    "NaN in the JSON": _set("state", "params", "k", value=float("nan")),
    "another format": _set("format", value="careloop-scorer-snapshot"),
    "no state": _drop("state"),
    "class of another detector": _set("state", "class", value="ResidentBaseline"),
    "class not a string": _set("state", "class", value=7),
    "unknown parameter": _set("state", "params", "colour", value="red"),
    "parameter of the wrong type": _set("state", "params", "warmup_days", value="4"),
    "parameter a bool for an int": _set("state", "params", "warmup_days", value=True),
    "parameter the detector refuses": _set("state", "params", "warmup_days", value=0),
    "missing key": _drop("state", "state", "day"),
    "int that is a float": _set("state", "state", "day", value=1.5),
    "int out of range": _set("state", "state", "days_closed", value=-3),
    "missing array": _array("state/cusum", None),
    "object array (a pickle)": _array("state/cusum", np.array([{"a": 1}]), allow_pickle=True),
    "string array": _array("state/cusum", np.array(["a", "b", "c", "d"])),
    "array of another dtype": _array("state/cusum", np.zeros(4, dtype=np.float32)),
    "array of another shape": _array("state/cusum", np.zeros((2, 2))),
    "big-endian array": _array("state/cusum", np.zeros(4, dtype=">f8")),
    "array header claiming petabytes": lambda data: sf.with_member(
        data, "state/cusum.npy", sf.npy_claiming((10**15,), bytes(64))
    ),
    "array shorter than its header": lambda data: sf.with_member(
        data, "state/cusum.npy", sf.npy_claiming((4,), bytes(24))
    ),
    "integer beyond 64 bits": _set("state", "state", "days_closed", value=2**64),
}


@pytest.mark.parametrize("corrupt", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_detector_snapshot_is_a_state_error(corrupt: Callable[[bytes], bytes]) -> None:
    bad = corrupt(decline_snapshot())
    with pytest.raises(StateError, match=r"^unreadable snapshot: "):
        DeclineDetector.restore(bad)


def test_another_versions_snapshot_is_refused_as_stale() -> None:
    old = _set("version", value=DETECTOR_VERSION - 1)(decline_snapshot())
    with pytest.raises(StateError, match="format version 1, this careloop reads version 2") as e:
        DeclineDetector.restore(old)
    assert e.value.stale
    with pytest.raises(StateError) as e:
        DeclineDetector.restore(CORRUPT["truncated"](decline_snapshot()))
    assert not e.value.stale


def test_a_snapshot_is_json_and_plain_arrays_only() -> None:
    det = MultiScaleNovelty(field="heart_rate")
    run_stream(det, heart_rate_stream(0, n=400))
    data = det.snapshot()
    assert data == det.snapshot(), "the same state gives the same bytes"
    files = sf.members(data)
    head = sf.header(data)
    assert (head["format"], head["version"]) == (DETECTOR_FORMAT, DETECTOR_VERSION)
    assert head["state"]["class"] == "MultiScaleNovelty"
    assert {n for n in files if not n.endswith(".npy")} == {sf.DOC}
    for name, raw in files.items():
        if name != sf.DOC:
            a = np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
            assert a.dtype.kind in "biuf", name


def test_parameters_come_back_with_their_types() -> None:
    det = SpeechAgitationDetector(rate_prior=(3.0, 0.5), repeat_window=4)
    back = SpeechAgitationDetector.restore(det.snapshot())
    assert back.get_params() == det.get_params()
    assert back.rate_prior == (3.0, 0.5)


def test_restore_asks_for_the_class_it_is_called_on() -> None:
    with pytest.raises(ModelError, match="holds a DeclineDetector, not a ResidentBaseline"):
        ResidentBaseline.restore(decline_snapshot())


def test_pattern_novelty_continues_exactly_after_replacements_and_a_day_window() -> None:
    # a small memory replaces prototypes (seeded generator), five-minute readings add a
    # day window (288): both must survive a snapshot mid-stream
    stream = heart_rate_stream(1, n=1500)

    def make() -> MultiScaleNovelty:
        return MultiScaleNovelty(field="heart_rate", scales=(1, 4, 16), capacity=12, seed=3)

    whole = run_stream(make(), stream)
    first = make()
    run_stream(first, stream[:900])
    assert 288 in first.window_lengths
    assert all(s.memory.replaced > 0 for s in first._channels._lengths)
    restored = MultiScaleNovelty.restore(first.snapshot())
    assert run_stream(restored, stream[900:]) == whole[900:]


# -- the file format itself ---------------------------------------------------------------


def test_nested_stacked_and_ragged_parts_round_trip() -> None:
    rows = [({"n": i, "x": i / 3}, {"v": np.full(3, i, dtype=np.float32)}) for i in range(4)]
    empty = ({"n": 0, "x": 0.0}, {"v": np.zeros(3, dtype=np.float32)})
    part = ({}, ragged("seq", [[1, 2], [], [3]], np.int64))
    doc, arrays = nest({"name": "é"}, {"rows": stack(rows, empty), "seq": part})
    state = load(dump("test", 1, (doc, arrays)), "test", 1, where="here")
    assert state.text("name") == "é"
    back = state.scope("rows").rows()
    assert [r.integer("n") for r in back] == [0, 1, 2, 3]
    assert [r.number("x") for r in back] == [i / 3 for i in range(4)]
    np.testing.assert_array_equal(back[2].array("v", np.float32, (3,)), [2, 2, 2])
    seqs = state.scope("seq").ragged("seq", np.int64, 3, max_len=2)
    assert [s.tolist() for s in seqs] == [[1, 2], [], [3]]
    with pytest.raises(StateError, match="longer than 1"):
        state.scope("seq").ragged("seq", np.int64, 3, max_len=1)
    with pytest.raises(StateError, match="shape"):
        state.scope("seq").ragged("seq", np.int64, 2, max_len=2)
    empty_rows = load(dump("t", 1, nest({}, {"r": stack([], empty)})), "t", 1, where="w")
    assert empty_rows.scope("r").rows() == []


def test_indices_must_be_in_range_and_distinct() -> None:
    state = load(dump("t", 1, ({}, {"slot": np.array([0, 2, 2])})), "t", 1, where="w")
    assert state.indices("slot", 3, unique=False) == [0, 2, 2]
    with pytest.raises(StateError, match="repeats"):
        state.indices("slot", 3)
    with pytest.raises(StateError, match="outside"):
        state.indices("slot", 2, unique=False)


def test_dump_refuses_what_is_not_plain_data() -> None:
    with pytest.raises(StateError, match="not a number type"):
        dump("t", 1, ({}, {"x": np.array([object()])}))
    with pytest.raises(StateError, match="not plain JSON"):
        dump("t", 1, ({"x": float("inf")}, {}))
    with pytest.raises(StateError, match="not plain JSON"):
        dump("t", 1, ({"x": np.float32(1.0)}, {}))
