"""Sites: the unit of access control and retention."""

from __future__ import annotations

from people.errors import Conflict, NotFound
from people.model import Site
from people.store.base import MAX_LIMIT, DirectoryBase

_COLS = "id, name, timezone, retention_days"


class Sites(DirectoryBase):
    """Add, change, read and remove sites."""

    def add_site(self, site: Site) -> Site:
        with self.tx() as db:
            if db.execute("SELECT 1 FROM sites WHERE id = ?", (site.id,)).fetchone():
                raise Conflict("site", site.id, "exists")
            db.execute(
                "INSERT INTO sites VALUES (?, ?, ?, ?)",
                (site.id, site.name, site.timezone, site.retention_days),
            )
        return site

    def update_site(self, site: Site) -> Site:
        with self.tx() as db:
            cur = db.execute(
                "UPDATE sites SET name = ?, timezone = ?, retention_days = ? WHERE id = ?",
                (site.name, site.timezone, site.retention_days, site.id),
            )
            if cur.rowcount == 0:
                raise NotFound("site", site.id)
        return site

    def site(self, site_id: str) -> Site:
        row = self.one(f"SELECT {_COLS} FROM sites WHERE id = ?", [site_id])
        if row is None:
            raise NotFound("site", site_id)
        return Site(*row)

    def sites(
        self,
        sites: frozenset[str] | None = None,
        *,
        offset: int = 0,
        limit: int | None = MAX_LIMIT,
    ) -> tuple[list[Site], int]:
        where, args = self._scope("id", sites)
        rows, total = self._page("sites", _COLS, where, args, "id", offset, limit)
        return [Site(*r) for r in rows], total

    def delete_site(self, site_id: str) -> None:
        """Remove an empty site; Conflict while residents still belong to it."""
        with self.tx() as db:
            if db.execute("SELECT 1 FROM residents WHERE site = ?", (site_id,)).fetchone():
                raise Conflict("site", site_id, "still has residents")
            if db.execute("DELETE FROM sites WHERE id = ?", (site_id,)).rowcount == 0:
                raise NotFound("site", site_id)

    def known_sites(self) -> frozenset[str]:
        """Every site the database names: created sites, residents' and devices' sites.

        A scorer partition subscribes to exactly these (of its share): a device can only be
        scored once registered, and a site created before its devices is subscribed before
        they speak. One query; the caller follows it with :class:`people.Follower`.
        """
        rows = self.rows(
            "SELECT id FROM sites UNION SELECT site FROM residents UNION SELECT site FROM devices"
        )
        return frozenset(site for (site,) in rows)
