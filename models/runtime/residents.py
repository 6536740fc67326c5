"""Resident slots: which row of the state tables belongs to which (site, resident)."""

from __future__ import annotations

from dataclasses import dataclass

from people import CareProfile


@dataclass(slots=True)
class SlotResident:
    """What the runtime knows about one resident besides the arrays (not the people record:
    ids, the care profile in force, and a name-free label for explanations)."""

    site: str
    id: str
    profile: CareProfile
    #: Pronoun-free display handle for explanations (never the name: needs leave the box).
    label: str


class Slots:
    """Slot allocation, in arrival order; slots are never reused (a snapshot keeps them)."""

    def __init__(self, profiles: dict[tuple[str, str], CareProfile] | None = None) -> None:
        self.profiles: dict[tuple[str, str], CareProfile] = dict(profiles or {})
        self.residents: list[SlotResident] = []
        self._slots: dict[tuple[str, str], int] = {}
        #: Bumped on every new slot or profile change, so derived arrays know to rebuild.
        self.version = 0

    def __len__(self) -> int:
        return len(self.residents)

    def slot(self, site: str, resident: str) -> int:
        """The slot of ``(site, resident)``, allocated on first sight."""
        key = (site, resident)
        slot = self._slots.get(key)
        if slot is None:
            slot = len(self.residents)
            profile = self.profiles.get(key) or CareProfile()
            self.residents.append(SlotResident(site, resident, profile, f"resident {resident}"))
            self._slots[key] = slot
            self.version += 1
        return slot

    def get(self, site: str, resident: str) -> int | None:
        """The slot if the resident was seen, else None."""
        return self._slots.get((site, resident))

    def set_profile(self, site: str, resident: str, profile: CareProfile) -> int:
        """Set (or replace) a resident's care profile; returns the slot."""
        self.profiles[(site, resident)] = profile
        slot = self.slot(site, resident)
        self.residents[slot].profile = profile
        self.version += 1
        return slot

    def forget(self, site: str, resident: str) -> int | None:
        """Unmap ``(site, resident)``: its slot stays allocated (slots are never reused) but
        holds a tombstone id, so the resident's id leaves the scorer's state and a later
        reading for them starts a fresh slot. Returns the old slot, or None if unknown."""
        slot = self._slots.pop((site, resident), None)
        if slot is None:
            return None
        tombstone = f"~erased-{slot}"
        self.residents[slot] = SlotResident(site, tombstone, CareProfile(), tombstone)
        self._slots[(site, tombstone)] = slot
        self.profiles.pop((site, resident), None)
        self.version += 1
        return slot

    def clear(self) -> None:
        """Forget every slot (before loading a snapshot's slots in its order)."""
        self.residents.clear()
        self._slots.clear()
        self.version += 1

    def keys(self) -> list[tuple[str, str]]:
        """``(site, resident)`` of every slot, in slot order (for snapshots)."""
        return [(r.site, r.id) for r in self.residents]
