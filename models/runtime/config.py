"""Which sites a scorer owns and its client id: the ``careloop score`` configuration read
once at start (docs/runtime.md)."""

from __future__ import annotations

import socket
import zlib

from careloop.settings import Settings


def owned_sites(settings: Settings) -> tuple[str, ...] | None:
    """The explicit sites a scorer owns, or None for "every site, filtered by partition"."""
    sites = settings.score.sites
    if sites == "+":
        return None
    if sites == "":
        return (settings.site,)
    return tuple(sites.split(","))


def parse_partition(value: str) -> tuple[int, int]:
    """``"K/N"`` as ``(K, N)`` (validated by :class:`~careloop.settings.ScoreSettings`)."""
    k, _, n = value.partition("/")
    return int(k), int(n)


def site_partition(site: str, n: int) -> int:
    """Which of ``n`` partitions owns ``site``: ``crc32(site) % n``, stable across processes."""
    return zlib.crc32(site.encode()) % n


def partition_label(settings: Settings) -> str:
    """A short, stable, file- and id-safe name for what this scorer owns.

    ``p0of2`` for a partition of every site, the site itself for one site, and ``sites-``
    plus a checksum for a list (so the same list always finds the same snapshot).
    """
    sites = owned_sites(settings)
    if sites is None:
        k, n = parse_partition(settings.score.partition)
        return f"p{k}of{n}"
    if len(sites) == 1:
        return sites[0]
    return f"sites-{zlib.crc32(','.join(sorted(sites)).encode()):08x}"


def default_client_id(settings: Settings) -> str:
    """``score-<hostname>-<partition>-<instance>``: stable across restarts of the same slot."""
    host = "".join(c if c.isalnum() or c in "-_." else "-" for c in socket.gethostname())
    return f"score-{host or 'host'}-{partition_label(settings)}-{settings.score.instance}"
