"""InfluxDB beyond one server: points and queries routed by site across shards.

The settings (:class:`~careloop.connections.InfluxSettings`) name the shards: ``url`` is the
shard ``default``, ``shards`` adds named ones, ``sites`` puts a site on one of them (an
unnamed site is on ``default``). A site lives on exactly one shard, so every resident does
too, and a question about one site is one request to one server (docs/scale-influx.md).

:class:`ShardedInfluxClient` and :class:`AsyncShardedInfluxClient` have the surface of the
one-server clients of :mod:`careloop.influx` plus routing: ``write`` sends each line to the
shard of its ``site`` tag; ``query(q, sites=...)`` asks the shards of those sites (None:
every shard) and merges the answers, each statement's series one after the other. Merging
is right for statements that keep sites apart (one site's points, or ``GROUP BY site``),
which is how careloop asks; a sum over every site would come back once per shard. With
one shard (the default setup) every call goes straight to the one client: no splitting,
no merging, the same errors as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from careloop.connections import DEFAULT_SHARD
from careloop.influx import (
    AsyncInfluxClient,
    InfluxClient,
    InfluxError,
    InfluxRejected,
    options,
)

if TYPE_CHECKING:
    from careloop.connections import InfluxSettings

#: The one-server client a sharded client holds one of per shard.
Client = TypeVar("Client", InfluxClient, AsyncInfluxClient)

__all__ = [
    "DEFAULT_SHARD",
    "AsyncShardedInfluxClient",
    "ShardMap",
    "ShardedInfluxClient",
    "connect_sharded",
    "connect_sharded_async",
    "merge",
    "on_shard",
    "site_of_line",
]


def site_of_line(line: str) -> str | None:
    """The ``site`` tag of a line of line protocol as ingest writes it, or None."""
    start = line.find(",site=")
    if start < 0:
        return None
    start += 6
    end = start
    while end < len(line) and line[end] not in ", ":
        end += 1
    return line[start:end]


@dataclass(frozen=True)
class ShardMap:
    """Shard name -> URL (``default`` first) and site -> shard name."""

    urls: Mapping[str, str]
    sites: Mapping[str, str]

    @classmethod
    def of(cls, settings: InfluxSettings) -> ShardMap:
        """The map the settings describe (validated there: every shard a site names exists)."""
        return cls({DEFAULT_SHARD: settings.url, **settings.shards}, dict(settings.sites))

    @property
    def names(self) -> list[str]:
        """Every shard, ``default`` first."""
        return list(self.urls)

    @property
    def single(self) -> bool:
        """One server: the setup without a shard map."""
        return len(self.urls) == 1

    def shard_of(self, site: str | None) -> str:
        """The shard holding ``site`` (a line without a site tag goes to ``default``)."""
        return self.sites.get(site or "", DEFAULT_SHARD)

    def shards_of(self, sites: Iterable[str] | None) -> list[str]:
        """The shards holding ``sites``, each once, in shard order (None: every shard)."""
        if sites is None:
            return self.names
        wanted = {self.shard_of(s) for s in sites}
        return [name for name in self.urls if name in wanted]

    def split(self, lines: Iterable[str]) -> dict[str, list[str]]:
        """Lines of line protocol grouped by the shard of their ``site`` tag."""
        out: dict[str, list[str]] = {}
        for line in lines:
            out.setdefault(self.shard_of(site_of_line(line)), []).append(line)
        return out


def merge(answers: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``/query`` answer from several shards' answers to the same statements: per
    statement, the series of each shard in turn (a statement no shard has series for has
    none, as on one server)."""
    if len(answers) == 1:
        return answers[0]
    count = max((len(a.get("results") or []) for a in answers), default=0)
    results: list[dict[str, Any]] = []
    for i in range(count):
        series: list[dict[str, Any]] = []
        for answer in answers:
            mine = answer.get("results") or []
            if i < len(mine):
                series += mine[i].get("series") or []
        results.append({"statement_id": i, "series": series} if series else {"statement_id": i})
    return {"results": results}


def on_shard(shard: str, exc: InfluxError) -> InfluxError:
    """``exc`` with the shard it came from in its message and ``.shard`` (what readyz and
    the logs show: which server is missing)."""
    named = type(exc)(f"shard {shard}: {exc.reason}", status=exc.status)
    named.shard = shard
    return named


def _missing_database(exc: BaseException) -> bool:
    return isinstance(exc, InfluxRejected) and "database not found" in exc.reason


def _combine(names: list[str], outcomes: list[dict[str, Any] | BaseException]) -> dict[str, Any]:
    """The merged answer of a fan-out, or the error it means.

    A shard that is down fails the question (a partial answer would look complete); a shard
    nobody has written to yet ("database not found") has no points, unless no shard has
    the database, which is then the answer, as on one server.
    """
    answers: list[dict[str, Any]] = []
    missing: InfluxError | None = None
    for name, outcome in zip(names, outcomes, strict=True):
        if isinstance(outcome, InfluxError):
            if _missing_database(outcome):
                missing = missing or on_shard(name, outcome)
                continue
            raise on_shard(name, outcome) from outcome
        if isinstance(outcome, BaseException):
            raise outcome
        answers.append(outcome)
    if not answers:
        assert missing is not None
        raise missing
    return merge(answers)


class _Sharded(Generic[Client]):
    """What both sharded clients are made of: the map and one client per shard, of the same
    class for every shard (``default``'s database and URL are the sharded client's)."""

    def __init__(self, shards: ShardMap, clients: Mapping[str, Client]) -> None:
        self.map = shards
        self.clients: dict[str, Client] = dict(clients)
        self._default: Client = self.clients[DEFAULT_SHARD]
        self.database: str = self._default.database
        self.url: str = self._default.url


def _connect(
    settings: InfluxSettings, kind: type[Client], timeout: float
) -> tuple[ShardMap, dict[str, Client]]:
    """The shard map of ``settings`` and a ``kind`` client for each of its shards."""
    shards = ShardMap.of(settings)
    found = options(settings)
    clients = {
        name: kind(url, settings.database, timeout=timeout, **found)
        for name, url in shards.urls.items()
    }
    return shards, clients


class ShardedInfluxClient(_Sharded[InfluxClient]):
    """:class:`~careloop.influx.InfluxClient`'s surface over every shard (one connection
    each, opened on first use; not thread-safe, one per thread like the plain client)."""

    def site(self, site: str) -> InfluxClient:
        """The client of the shard holding ``site``: everything about one site goes there."""
        return self.clients[self.map.shard_of(site)]

    def write(self, body: bytes, rp: str | None = None) -> None:
        """Store ``body`` (line protocol), each line on its site's shard. Every shard is
        tried; the first failure is raised afterwards, naming its shard."""
        if self.map.single:
            self._default.write(body, rp)
            return
        failed: InfluxError | None = None
        for name, lines in self.map.split(body.decode().split("\n")).items():
            try:
                self.clients[name].write("\n".join(lines).encode(), rp)
            except InfluxError as exc:
                failed = failed or on_shard(name, exc)
        if failed is not None:
            raise failed

    def query(
        self,
        q: str,
        *,
        epoch: str | None = None,
        db: bool = True,
        sites: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """Run InfluxQL on the shards of ``sites`` (None: every shard); answers merged."""
        if self.map.single:
            return self._default.query(q, epoch=epoch, db=db)
        names = self.map.shards_of(sites)
        outcomes: list[dict[str, Any] | BaseException] = []
        for name in names:
            try:
                outcomes.append(self.clients[name].query(q, epoch=epoch, db=db))
            except InfluxError as exc:
                outcomes.append(exc)
        return _combine(names, outcomes)

    def create_database(self) -> None:
        """``CREATE DATABASE`` on every shard."""
        self._each(InfluxClient.create_database)

    def drop_database(self) -> None:
        """``DROP DATABASE`` on every shard."""
        self._each(InfluxClient.drop_database)

    def ping(self) -> None:
        """Raise InfluxUnavailable naming a shard that does not answer ``/ping``."""
        self._each(InfluxClient.ping)

    def ping_each(self) -> dict[str, InfluxError | None]:
        """Each shard's ``/ping``: None when it answered, else why not."""
        out: dict[str, InfluxError | None] = {}
        for name, client in self.clients.items():
            try:
                client.ping()
                out[name] = None
            except InfluxError as exc:
                out[name] = exc if self.map.single else on_shard(name, exc)
        return out

    def _each(self, call: Any) -> None:
        if self.map.single:
            call(self._default)
            return
        for name, client in self.clients.items():
            try:
                call(client)
            except InfluxError as exc:
                raise on_shard(name, exc) from exc

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncShardedInfluxClient(_Sharded[AsyncInfluxClient]):
    """:class:`~careloop.influx.AsyncInfluxClient`'s surface over every shard; a fan-out
    asks the shards at the same time."""

    async def query(
        self, q: str, *, epoch: str | None = "ms", sites: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """Run InfluxQL (reads only) on the shards of ``sites`` (None: every shard)."""
        if self.map.single:
            return await self._default.query(q, epoch=epoch)
        names = self.map.shards_of(sites)
        outcomes = await asyncio.gather(
            *(self.clients[n].query(q, epoch=epoch) for n in names), return_exceptions=True
        )
        return _combine(names, list(outcomes))

    async def ping(self) -> None:
        """Raise InfluxUnavailable naming the first shard that does not answer."""
        for error in (await self.ping_each()).values():
            if error is not None:
                raise error

    async def ping_each(self) -> dict[str, InfluxError | None]:
        """Each shard's ``/ping`` (all at once): None when it answered, else why not."""
        names = list(self.clients)
        outcomes = await asyncio.gather(
            *(self.clients[n].ping() for n in names), return_exceptions=True
        )
        out: dict[str, InfluxError | None] = {}
        for name, outcome in zip(names, outcomes, strict=True):
            if isinstance(outcome, InfluxError):
                out[name] = outcome if self.map.single else on_shard(name, outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                out[name] = None
        return out

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def connect_sharded(settings: InfluxSettings, *, timeout: float = 10.0) -> ShardedInfluxClient:
    """A synchronous client for every shard of the configured database."""
    return ShardedInfluxClient(*_connect(settings, InfluxClient, timeout))


def connect_sharded_async(
    settings: InfluxSettings, *, timeout: float = 10.0
) -> AsyncShardedInfluxClient:
    """An asyncio client for every shard (enter it with ``async with``)."""
    return AsyncShardedInfluxClient(*_connect(settings, AsyncInfluxClient, timeout))
