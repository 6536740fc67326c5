"""Who the fuzz payloads speak for: registered devices, silent residents, and strangers.

The fleet is fixed (no randomness): three sites with the same resident ids at each (so a
device can claim "r01" at the wrong site), active residents whose devices send valid data,
*silent* residents whose registered devices only ever send broken or hostile messages, and
names nobody registered (ghost residents, rogue devices, unknown sites). Silent residents
and ghosts are what spoofing claims, so a spoof that got through would add a resident the
scorer must never hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from people import Device

SITES: tuple[str, ...] = ("fz-north", "fz-south", "fz-east")
#: Valid ids that name no registered site.
UNKNOWN_SITES: tuple[str, ...] = ("fz-west", "elsewhere", "FZ-NORTH", "fz-north.x")
ACTIVE_PER_SITE = 150
SILENT_PER_SITE = 5
#: Active residents with a second device (a voice unit), by index.
VOICE_EVERY = 3


@dataclass(frozen=True, slots=True)
class Member:
    """One registered device and the resident it speaks for."""

    device: str
    site: str
    resident: str


@dataclass(frozen=True, slots=True)
class Fleet:
    """Every name the generator uses, and the registrations the services are given."""

    #: Devices of active residents (they send valid data).
    active: tuple[Member, ...]
    #: Devices of silent residents (registered; they only send rejected messages).
    silent: tuple[Member, ...]
    #: Valid resident ids registered nowhere.
    ghosts: tuple[str, ...]
    #: Valid device ids registered nowhere.
    rogues: tuple[str, ...]

    @classmethod
    def build(cls) -> Fleet:
        """The fixed fleet: 3 sites x (14 active + 3 silent residents)."""
        active: list[Member] = []
        silent: list[Member] = []
        for site in SITES:
            for n in range(1, ACTIVE_PER_SITE + 1):
                resident = f"r{n:03d}"
                active.append(Member(f"term-{site}-{resident}", site, resident))
                if n % VOICE_EVERY == 0:
                    active.append(Member(f"voice-{site}-{resident}", site, resident))
            for n in range(ACTIVE_PER_SITE + 1, ACTIVE_PER_SITE + SILENT_PER_SITE + 1):
                resident = f"r{n:03d}"
                silent.append(Member(f"term-{site}-{resident}", site, resident))
        ghosts = tuple(f"ghost-{n}" for n in range(20))
        rogues = tuple(f"rogue-{n}" for n in range(10))
        return cls(tuple(active), tuple(silent), ghosts, rogues)

    @property
    def registered(self) -> tuple[Member, ...]:
        """Every registered device, active and silent."""
        return self.active + self.silent

    def registrations(self) -> list[Device]:
        """The device registry rows, as provisioning writes them."""
        return [Device(m.device, m.site, m.resident) for m in self.registered]

    def active_residents(self) -> set[tuple[str, str]]:
        """``(site, resident)`` of every resident that sends valid data."""
        return {(m.site, m.resident) for m in self.active}

    def residents_at(self, site: str) -> list[str]:
        """Registered resident ids of ``site`` (active and silent)."""
        return sorted({m.resident for m in self.registered if m.site == site})
