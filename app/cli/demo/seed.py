"""What the demo knows before it starts: the simulated home, and the people it cares for.

The home (:func:`make_demo_home`) is the default scenario schedule plus the showcase (an
SOS call, a fall, one sentence of loneliness and an agitated exchange in the first
minutes). The people database gets the demo site, its residents with their care profiles
and consents, their devices, the simulated volunteers, a coordinator token and a one-time
sign-in to the volunteers' app for v01
(:func:`seed_people`): everything the scorer, the alert service and the dashboard read,
from one place.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from careloop.settings import Settings
from simulators import Assignment, CareHome, default_assignments, make_profiles

#: The showcase: (scenario, simulated seconds after the start), on residents 1, 2, ... (a
#: scenario in :data:`NEEDS_TEXT` goes to the next resident who consented to text: the
#: words are what is read).
SHOWCASE: tuple[tuple[str, int], ...] = (
    ("sos_call", 45),
    ("fall_no_movement", 90),
    ("lonely_sentence", 120),
    ("agitated_exchange", 150),
)
NEEDS_TEXT = frozenset({"lonely_sentence"})


#: The demo dashboard link's token expires after a day: a demo is not a deployment.
DEMO_TOKEN_MS = 24 * 3600 * 1000


def make_demo_home(args: argparse.Namespace, settings: Settings) -> CareHome:
    """The simulated home: the default schedule plus (unless ``--no-showcase``) the showcase."""
    from app.cli.simulate import make_home

    start = int(time.time() // args.interval * args.interval * 1000)
    profiles = make_profiles(args.residents, seed=args.seed, site=settings.site)
    scenarios = [] if args.no_showcase else showcase(profiles, start)
    scenarios += default_assignments(profiles, seed=args.seed)
    sim = argparse.Namespace(
        residents=args.residents,
        seed=args.seed,
        speed=args.speed,
        interval=args.interval,
        scenarios=scenarios,
        start_ms=start,
    )
    home: CareHome = make_home(sim, settings)
    return home


def showcase(profiles: list[Any], start_ms: int) -> list[Assignment]:
    """:data:`SHOWCASE` on the first residents, timed from the simulation's start."""
    free = list(profiles)
    out: list[Assignment] = []
    for scenario, seconds in SHOWCASE:
        fits = [p for p in free if scenario not in NEEDS_TEXT or p.text_consent]
        if not fits:
            continue
        free.remove(fits[0])
        out.append(Assignment(fits[0].id, scenario, start_ms=start_ms + seconds * 1000))
    return out


#: The simulated volunteer whose app the banner's link signs in to: v01 ignores pages, so
#: whoever opens the app is the one who answers them.
APP_VOLUNTEER = "v01"


def seed_people(settings: Settings, home: CareHome) -> tuple[str, str, str]:
    """The demo's people; returns a coordinator token (raw, shown once, in the banner), the
    volunteer app's one-time sign-in and a family token for the first resident.

    Residents consent to sharing with volunteers (they are simulated), so the board shows
    the needs' explanations; their care profiles (the daily check-up) are what the scorer
    judges; the volunteers are :func:`alerts.demo.demo_roster`'s, so the alert service
    pages the people the simulated volunteers play.
    """
    from alerts.demo import demo_roster
    from models.evaluation.scenarios import care_profile
    from people import Consent, Device, DeviceRegistry, Directory, Resident, Site, import_roster

    site = settings.site
    with Directory(settings.paths.people, url=settings.store_url) as people:
        if people.sites(frozenset({site}))[1] == 0:
            people.add_site(Site(site, "careloop demo home (simulated)"))
        for p in home.profiles:
            resident = Resident(
                site, p.id, f"Simulated resident {p.index + 1}", language=p.language,
                profile=care_profile(p),
            )  # fmt: skip
            if people.find_resident(site, p.id) is None:
                people.add_resident(resident)
            else:
                people.update_resident(resident)
            people.set_consent(
                Consent(
                    site, p.id, share_with_volunteers=True, share_vitals_with_volunteers=True,
                    share_reports_with_family=True, share_vitals_with_family=True,
                    updated_by="careloop-demo",
                )
            )  # fmt: skip
        import_roster(people, demo_roster(site))
        token, _ = people.create_token(  # the demo's link: lives as long as a demo day
            "coordinator", "coordinator", [site], note="careloop demo dashboard",
            lifetime_ms=DEMO_TOKEN_MS,
        )  # fmt: skip
        app_link = people.create_signin(  # one use, for the volunteers' app
            APP_VOLUNTEER, lifetime_ms=DEMO_TOKEN_MS, max_recent=1_000, window_ms=60_000
        ).link
        family, _ = people.create_token(  # the family page of the first resident, for a day
            "family", home.profiles[0].id, [site], note="careloop demo family page",
            lifetime_ms=DEMO_TOKEN_MS,
        )  # fmt: skip
    with DeviceRegistry(settings.paths.people, url=settings.store_url) as registry:
        registry.add(
            Device(device, site, p.id, kind=role)
            for p in home.profiles
            for role, device in p.devices._asdict().items()
        )
    return token, app_link, family
