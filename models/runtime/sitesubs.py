"""The topic filters of one scorer, and for a partition the sites it subscribes to.

A scorer that names its sites (``--sites a,b``) or owns every site (``--partition 0/1``)
subscribes once, one filter per kind (``+`` for every site). A partition ``K/N`` with
``N > 1`` subscribes **per site**, only to the sites it owns (``crc32(site) % N == K``), so
the broker sends each partition its own residents' readings and nothing else: with one
wildcard per partition every partition would receive (and drop) every site's messages, N
times the broker's sending and the scorers' receiving (docs/scale-scorers.md has the
figures). The sites come from the people database (:meth:`people.Directory.known_sites`:
created sites, residents' and devices' sites), followed with :class:`people.Follower`, so a
new site is subscribed within ``people.follow_every`` seconds, without a restart; a device
can be scored only once registered, and a site created before its devices are provisioned
is subscribed before they speak. Sites are never unsubscribed while the process runs (an
erase command may still come for a site whose last device was just removed); a restart
subscribes afresh.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from careloop.logs import fields
from careloop.mqtt import ConfirmingClient
from careloop.wire import subscription
from careloop.wire.control import erase_subscription
from models.runtime.config import site_partition
from models.runtime.metrics import ScoreMetrics
from people import Directory, Follower

log = logging.getLogger(__name__)

#: Runs a function on the scorer's engine thread (ScoreService._in_engine).
InEngine = Callable[..., Awaitable[Any]]

#: Topic filters per SUBSCRIBE packet when subscribing many sites at once.
FILTERS_PER_PACKET = 200


def site_filters(site: str, kinds: Iterable[str]) -> list[str]:
    """One site's filters: each scored kind, and its erase commands (``+`` = every site)."""
    return [subscription(site=site, kind=kind) for kind in kinds] + [erase_subscription(site)]


class PartitionSites:
    """The sites partition ``K/N`` owns, as the people database names them, and the
    subscriptions of the current session to them.

    :meth:`current` reads the database, so it runs on the engine thread (the one that uses
    the people connections); :meth:`follow` and :meth:`run` run on the event loop, in the
    MQTT session, and hand the read to ``in_engine``. ``add`` takes sites known otherwise
    (the residents of a restored snapshot), so their erase commands still arrive after their
    devices are gone.
    """

    def __init__(
        self,
        directory: Directory,
        partition: tuple[int, int],
        kinds: tuple[str, ...],
        *,
        every: float,
        metrics: ScoreMetrics,
    ) -> None:
        self.partition = partition
        self.kinds = kinds
        self.every = every
        self.metrics = metrics
        self._follower = Follower(directory, lambda d: d.known_sites(), every=every, name="sites")
        self._extra: set[str] = set()
        #: Sites subscribed in the current session.
        self.subscribed: frozenset[str] = frozenset()

    def owns(self, site: str) -> bool:
        k, n = self.partition
        return site_partition(site, n) == k

    def add(self, sites: Iterable[str]) -> None:
        self._extra.update(site for site in sites if self.owns(site))

    def current(self, force: bool = False) -> frozenset[str]:
        """The owned sites now (re-reads the database only if it changed). Engine thread."""
        self._follower.poll(force=force)
        return frozenset(s for s in self._follower.value if self.owns(s)) | self._extra

    async def follow(
        self, client: ConfirmingClient, in_engine: InEngine, *, new_session: bool = False
    ) -> None:
        """Subscribe ``client`` to the owned sites it is not subscribed to yet (every one
        at the start of a session: a clean subscription set, whatever the broker kept)."""
        if new_session:
            self.subscribed = frozenset()
        owned = await in_engine(self.current, new_session)
        new = sorted(owned - self.subscribed)
        if not new:
            return
        await subscribe(client, [f for site in new for f in site_filters(site, self.kinds)])
        self.subscribed |= frozenset(new)
        self.metrics.sites.set(len(self.subscribed))
        log.info("sites subscribed", extra=fields(new=len(new), total=len(self.subscribed)))

    async def run(self, client: ConfirmingClient, in_engine: InEngine) -> None:
        """Follow the database for the session's life: new sites within ``every`` s."""
        while True:
            await asyncio.sleep(self.every)
            await self.follow(client, in_engine)


async def subscribe(client: ConfirmingClient, filters: list[str]) -> None:
    """Subscribe ``filters`` at QoS 1, many per packet, waiting for each SUBACK without a
    time limit (behind a flood of readings it can be slow: see NeedOutbox.publish)."""
    for at in range(0, len(filters), FILTERS_PER_PACKET):
        chunk = filters[at : at + FILTERS_PER_PACKET]
        await client.subscribe([(f, 1) for f in chunk], timeout=math.inf)
