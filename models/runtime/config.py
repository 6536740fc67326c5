"""Which sites a scorer owns, its client id, and the care profiles it is given: the
``careloop score`` configuration read once at start (docs/runtime.md)."""

from __future__ import annotations

import json
import socket
import zlib
from pathlib import Path

from pydantic import ValidationError

from careloop.errors import SettingsError
from careloop.settings import Settings
from careloop.wire import WireError, check_id
from models.runtime.careplan import CareProfile


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


def load_profiles(path: str | Path) -> dict[tuple[str, str], CareProfile]:
    """Read ``{"<site>": {"<resident>": {CareProfile fields}}}`` with errors naming the spot.

    Raises :class:`~careloop.errors.SettingsError` (``score.profiles``) saying which file,
    which resident and which field is wrong, so a typo in one care plan is fixed from the
    message alone instead of silently giving that resident the default profile.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError("score.profiles", f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise SettingsError(
            "score.profiles", f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})"
        ) from exc
    if not isinstance(data, dict):
        raise SettingsError("score.profiles", f"{path}: must be an object of sites")
    out: dict[tuple[str, str], CareProfile] = {}
    for site, residents in data.items():
        try:
            check_id(site, "site")
        except WireError as exc:
            raise SettingsError("score.profiles", f"{path}: site {site!r}: {exc}") from exc
        if not isinstance(residents, dict):
            raise SettingsError(
                "score.profiles", f"{path}: site {site}: must be an object of residents"
            )
        for resident, fields_ in residents.items():
            where = f"{path}: resident {site}/{resident}"
            try:
                check_id(resident, "resident")
            except WireError as exc:
                raise SettingsError("score.profiles", f"{where}: {exc}") from exc
            try:
                out[(site, resident)] = CareProfile.model_validate(fields_)
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                loc = ".".join(str(p) for p in err["loc"]) or "profile"
                raise SettingsError("score.profiles", f"{where}: {loc}: {err['msg']}") from exc
    return out
