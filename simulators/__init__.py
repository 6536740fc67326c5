"""careloop simulators: residents, care homes and device fleets that speak the wire contract.

Public surface::

    ResidentProfile, Devices, make_profiles        profiles.py
    Scenario, Shift, Events, Speech, SCENARIOS     scenarios.py (the declarative library)
    Label, write_labels, read_labels               labels.py (ground truth as JSON lines)
    Assignment, Episode, default_assignments       episodes.py
    CareHome, Emission                             home.py
    Fleet                                          fleet.py (cheap vitals for load tests)
    generate, OfflineRun                           offline.py (readings.jsonl + labels.jsonl)

Every output is a pure function of the seed and the step, so runs repeat exactly and a device
can resume from any step.
"""

from simulators.episodes import Assignment, Episode, default_assignments
from simulators.fleet import Fleet
from simulators.home import DEFAULT_START_MS, CareHome, Emission
from simulators.labels import Label, read_labels, write_labels
from simulators.offline import OfflineRun, generate
from simulators.profiles import Devices, ResidentProfile, make_profiles
from simulators.scenarios import SCENARIOS, TIERS, Events, Scenario, Shift, Speech, get_scenario

__all__ = [
    "DEFAULT_START_MS",
    "SCENARIOS",
    "TIERS",
    "Assignment",
    "CareHome",
    "Devices",
    "Emission",
    "Episode",
    "Events",
    "Fleet",
    "Label",
    "OfflineRun",
    "ResidentProfile",
    "Scenario",
    "Shift",
    "Speech",
    "default_assignments",
    "generate",
    "get_scenario",
    "make_profiles",
    "read_labels",
    "write_labels",
]
