"""One seeded home with every scenario, simulated once for three days at one-minute steps.

Building it once per session keeps the suite fast; tests only read from it. Each scenario
goes to its own resident (low mood to a consenting speaker of its language) on day 1, so day
0 is normal for everyone, and four residents stay normal throughout as controls.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from simulators import (
    DEFAULT_START_MS,
    SCENARIOS,
    Assignment,
    CareHome,
    Emission,
    ResidentProfile,
    make_profiles,
)

SEED = 7
N_RESIDENTS = 20
INTERVAL_S = 60.0
DAYS = 3
DAY_MS = 86_400_000


@dataclass
class Run:
    """A simulated stretch: the home, its emissions, and lookups used by the tests."""

    home: CareHome
    emissions: list[Emission]
    by_resident: dict[str, list[Emission]]
    scenario_of: dict[str, str]
    #: The same home and seed without scenarios: what would have happened otherwise.
    counterfactual: dict[str, list[Emission]]

    def profile(self, rid: str) -> ResidentProfile:
        return next(p for p in self.home.profiles if p.id == rid)

    def resident_with(self, scenario: str) -> str:
        return next(r for r, s in self.scenario_of.items() if s == scenario)

    @property
    def normal_residents(self) -> list[str]:
        return [p.id for p in self.home.profiles if p.id not in self.scenario_of]


def scenario_assignments(profiles: list[ResidentProfile]) -> list[Assignment]:
    """Every scenario on a resident of its own; slow decline over the whole run."""
    used: set[str] = set()

    def pick(language: str | None = None) -> ResidentProfile:
        for p in profiles:
            fits = language is None or (p.language == language and p.text_consent)
            if p.id not in used and fits:
                used.add(p.id)
                return p
        raise AssertionError("not enough residents for the scenarios")

    out = []
    # Language-bound scenarios first, so their speakers are not used up by the others.
    for name in sorted(SCENARIOS, key=lambda n: not n.startswith("low_mood_")):
        p = pick(name.removeprefix("low_mood_")) if name.startswith("low_mood_") else pick()
        if name == "slow_decline":
            end = DEFAULT_START_MS + DAYS * DAY_MS
            out.append(Assignment(p.id, name, start_ms=DEFAULT_START_MS, end_ms=end))
        else:
            out.append(Assignment(p.id, name, day=1))
    return out


@pytest.fixture(scope="session")
def run() -> Run:
    profiles = make_profiles(N_RESIDENTS, seed=SEED)
    assignments = scenario_assignments(profiles)
    home = CareHome(N_RESIDENTS, seed=SEED, interval_s=INTERVAL_S, scenarios=assignments)
    steps = int(DAYS * 86_400 / INTERVAL_S)
    emissions = [e for _, batch in home.iter_emissions(0, steps) for e in batch]
    plain = CareHome(N_RESIDENTS, seed=SEED, interval_s=INTERVAL_S, scenarios="none")
    scenario_of = {a.resident: a.scenario for a in assignments}
    return Run(
        home,
        emissions,
        _by_resident(emissions),
        scenario_of,
        _by_resident(e for _, batch in plain.iter_emissions(0, steps) for e in batch),
    )


def _by_resident(emissions: Iterable[Emission]) -> dict[str, list[Emission]]:
    out: dict[str, list[Emission]] = defaultdict(list)
    for e in emissions:
        out[e.resident].append(e)
    return dict(out)
