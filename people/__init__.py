"""careloop's people: the one owner of who is cared for, who cares, and what they agreed to.

Every other part reads people through this package and follows its changes; none keeps a
copy (docs/architecture.md). Public surface::

    Directory                         store/      sites, residents, consents, care profiles,
                                                  volunteers, rotations, overrides, tokens,
                                                  audit of reads (one SQLite file)
    DeviceRegistry, Device, Verdict,  devices.py  which device speaks for which resident
    read_devices
    ConsentCache                      consent.py  whose words may be stored (ingest)
    Roster, read_roster, distance_km, roster.py   who can be paged; roster files
    RosterFile, load_roster_file,
    parse_roster, import_roster
    Follower                          follow.py   re-read when the database changes
    Site, Resident, Consent,          model.py    the records (frozen, validated, once)
    Volunteer, Rotation, Override,
    TokenRecord, AuditRow, Role, ROLES
    PushSubscription, SignIn,         store/      an app's push subscription, a one-time
    TooManySignIns                                sign-in
    CareProfile, Expectation,         profile.py  a resident's care profile and plan,
    FamilyContact                                 family contacts for reports
    RuleThresholds                    thresholds.py  their own rule thresholds
    PeopleError, NotFound, Conflict,  errors.py
    RosterError
"""

from people.consent import ConsentCache
from people.devices import Device, DeviceRegistry, Verdict, read_devices
from people.errors import Conflict, NotFound, PeopleError, RosterError
from people.follow import Follower
from people.model import (
    CHANNELS,
    ROLES,
    AuditRow,
    Consent,
    Override,
    Resident,
    Role,
    Rotation,
    Site,
    TokenRecord,
    Volunteer,
    parse_hours,
    valid_id,
)
from people.profile import CareProfile, Expectation, FamilyContact
from people.roster import (
    Roster,
    RosterFile,
    distance_km,
    import_roster,
    load_roster_file,
    parse_roster,
    read_roster,
)
from people.store import (
    MAX_LIMIT,
    Appointment,
    Directory,
    PushSubscription,
    SignIn,
    TooManySignIns,
    hash_token,
)
from people.thresholds import RuleThresholds

__all__ = [
    "CHANNELS",
    "MAX_LIMIT",
    "ROLES",
    "Appointment",
    "AuditRow",
    "CareProfile",
    "Conflict",
    "Consent",
    "ConsentCache",
    "Device",
    "DeviceRegistry",
    "Directory",
    "Expectation",
    "FamilyContact",
    "Follower",
    "NotFound",
    "Override",
    "PeopleError",
    "PushSubscription",
    "Resident",
    "Role",
    "Roster",
    "RosterError",
    "RosterFile",
    "Rotation",
    "RuleThresholds",
    "SignIn",
    "Site",
    "TokenRecord",
    "TooManySignIns",
    "Verdict",
    "Volunteer",
    "distance_km",
    "hash_token",
    "import_roster",
    "load_roster_file",
    "parse_hours",
    "parse_roster",
    "read_devices",
    "read_roster",
    "valid_id",
]
