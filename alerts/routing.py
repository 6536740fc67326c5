"""Who gets paged next: eligible, on-call volunteers, best first, fairly.

For a ``volunteers`` step the candidates are the active, non-coordinator volunteers of the
alert's site who are on call now (rotations and overrides; a site without rotations counts
everyone as available), did not say "not now" in their app (or the time they gave has
passed) and were not paged about this alert yet. They are ordered by:

1. assigned to this resident first, then the skills the kind wants, then the resident's
   language (a volunteer who lacks them is still paged when nobody better is left: a page
   to someone is better than no page);
2. distance to the resident, when both locations are known ("nearest");
3. load: pages in the policy's ``fair_window`` plus ``owned_weight`` per owned open alert,
   so nobody is paged all night while others sleep;
4. round-robin: whoever was paged longest ago goes first.
"""

from __future__ import annotations

from alerts.model import Alert
from alerts.policy import Policy, TierRule
from alerts.store import AlertStore
from people import Roster, Volunteer, distance_km


def pick_volunteers(
    alert: Alert,
    rule: TierRule,
    *,
    roster: Roster,
    store: AlertStore,
    policy: Policy,
    now_ms: int,
    exclude: set[str],
) -> list[Volunteer]:
    """Up to ``rule.parallel`` volunteers to page for ``alert`` now, best first."""
    on_call = roster.on_call(alert.site, now_ms)
    candidates = [
        v
        for v in roster.volunteers.values()
        if v.serves(alert.site)
        and v.active
        and not v.coordinator
        and v.id not in exclude
        and (on_call is None or v.id in on_call)
        and roster.available(v.id, now_ms)
    ]
    if not candidates:
        return []
    resident = roster.resident(alert.site, alert.resident)
    language = alert.language or (resident.language if resident else None)
    where = resident.location if resident else None
    window_pages, last_paged = store.load(alert.site, now_ms - policy.routing.fair_window_ms)
    owned = store.owned(alert.site)
    wanted = set(rule.skills)

    def key(v: Volunteer) -> tuple[int, int, int, float, int, int, str]:
        return (
            0 if alert.resident in v.assigned else 1,
            0 if wanted <= set(v.skills) else 1,
            0 if language is None or _speaks(v, language) else 1,
            distance_km(v.location, where),
            window_pages.get(v.id, 0) + policy.routing.owned_weight * owned.get(v.id, 0),
            last_paged.get(v.id, 0),
            v.id,
        )

    return sorted(candidates, key=key)[: rule.parallel]


def coordinators(alert: Alert, roster: Roster, exclude: set[str]) -> list[Volunteer]:
    """The site's active coordinators not yet paged about ``alert``."""
    return sorted(
        (
            v
            for v in roster.volunteers.values()
            if v.serves(alert.site) and v.coordinator and v.active and v.id not in exclude
        ),
        key=lambda v: v.id,
    )


def _speaks(v: Volunteer, language: str) -> bool:
    primary = language.split("-")[0].lower()
    return any(lang.split("-")[0].lower() == primary for lang in v.languages)
