"""Counter-based randomness: every random number is a hash of (seed, resident, counter, channel).

A simulator that draws from a stateful generator must replay its whole history to resume, and
its output depends on the order in which things were drawn. Hashing instead makes each value a
pure function of *where* it is used, so a device can restart at any step, a batch of steps can
be computed at once, and one resident can be computed alone, all giving identical numbers.

The mixer is SplitMix64's finaliser, vectorised over numpy ``uint64`` arrays (which wrap on
overflow silently, as the algorithm needs). Smooth noise is a sum of sinusoids with seeded
phases, so it is continuous in time and still needs no state.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

U64 = NDArray[np.uint64]
F64 = NDArray[np.float64]

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_MASK = (1 << 64) - 1

#: Periods (seconds) of the sinusoids behind smooth noise: minutes to hours, none a divisor of
#: a day, so the pattern does not repeat daily.
SMOOTH_PERIODS_S = (437.0, 1_279.0, 3_461.0, 9_973.0, 23_117.0)


def mix(x: U64) -> U64:
    """SplitMix64 finaliser: a bijective scramble of 64-bit integers."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def seed_key(seed: int, *parts: int) -> int:
    """Fold a seed and integer parts into one 64-bit key (plain Python, for set-up code)."""
    h = np.array([seed & _MASK], dtype=np.uint64)
    for part in parts:
        h = mix(h ^ np.array([(part & _MASK)], dtype=np.uint64) + GOLDEN)
    return int(mix(h)[0])


def resident_keys(seed: int, n: int) -> U64:
    """One 64-bit key per resident index ``0..n-1``: the root of all their randomness."""
    base = np.array([seed_key(seed, 0x5EED)], dtype=np.uint64)
    return mix(base ^ (np.arange(n, dtype=np.uint64) * GOLDEN))


def channel_keys(keys: U64, channel: int) -> U64:
    """Keys specialised to one named ``channel`` (the counter-independent half of keyed)."""
    return mix(keys ^ np.uint64((channel * 0x2545F4914F6CDD1D) & _MASK))


def keyed(keys: U64, counter: ArrayLike, channel: int) -> U64:
    """Keys for ``counter`` (a step, slot or day index) on one named ``channel``.

    Broadcasts like numpy: resident keys of shape ``(1, R)`` and counters of shape ``(K, 1)``
    give ``(K, R)`` keys.
    """
    c = np.asarray(counter, dtype=np.int64).astype(np.uint64)
    return mix(channel_keys(keys, channel) + c * GOLDEN)


def uniforms(keys: U64, n: int) -> F64:
    """``n`` independent uniforms in [0, 1) per key, on a new last axis."""
    lanes = np.arange(1, n + 1, dtype=np.uint64) * GOLDEN
    h = mix(keys[..., None] + lanes)
    return (h >> _S11).astype(np.float64) * (1.0 / 9007199254740992.0)


def normals(u: F64) -> F64:
    """Approximately standard normal values from uniforms on the last axis (Irwin-Hall).

    Summing four uniforms is cheap, and its tails stop at about 3.5 sigma, which keeps a
    noisy vital inside plausible bounds without clipping artefacts.
    """
    total = u[..., 0] + u[..., 1] + u[..., 2] + u[..., 3]
    return (total - 2.0) * 1.7320508075688772


def smooth(t_s: F64, phases: F64) -> F64:
    """Unit-variance smooth noise at times ``t_s`` (seconds) for each phase set.

    ``phases`` has shape ``(..., len(SMOOTH_PERIODS_S))``; the result drops that axis. Terms
    are added one by one (not ``sum``) so the arithmetic per element is the same whatever the
    array shape, which keeps batched and single-resident results bit-identical.
    """
    amp = np.sqrt(2.0 / len(SMOOTH_PERIODS_S))
    out: F64 | None = None
    for m, period in enumerate(SMOOTH_PERIODS_S):
        term = np.sin(t_s * (2.0 * np.pi / period) + phases[..., m])
        out = term if out is None else out + term
    assert out is not None
    return out * amp
