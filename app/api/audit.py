"""Every read of personal data leaves an audit row: who, what, which resident, which route.

Routes call :func:`audited` right after the access checks pass and before answering, so a
read that was answered is a read that was recorded (if the audit write fails, the request
fails). Rows hold ids and the route template only, never the data that was read.

The audit is kept as long as the site's retention: the API, which writes it, applies the
retention while it writes (:func:`reads_sweep`, at most every ``people.retention_every``).
"""

from __future__ import annotations

from fastapi import Request

from app.api.auth import Principal
from careloop.settings import Settings
from people import Directory
from people.retention import Retention, Sweep


def audited(
    request: Request, principal: Principal, action: str, site: str, resident: str | None
) -> None:
    """Record that ``principal`` read personal data of ``resident`` (None: a list) at ``site``."""
    directory: Directory = request.app.state.directory
    route = request.scope.get("route")
    directory.audit_read(
        subject=principal.subject,
        role=principal.role,
        action=action,
        site=site,
        resident=resident,
        route=str(getattr(route, "path", request.url.path)),
    )
    request.app.state.metrics.audit_reads.labels(action).inc()
    request.app.state.reads_sweep.maybe_run()


def reads_sweep(settings: Settings, directory: Directory) -> Sweep:
    """The sweep that applies each site's retention to the audit of reads."""

    def purge(kept: Retention) -> dict[str, int]:
        return {"audit_reads": directory.purge_reads(kept.cutoffs)}

    return Sweep(
        settings.paths.people,
        {"api": purge},
        url=settings.store_url,
        every=settings.people.retention_every,
    )
