"""Hostile payloads: well-formed messages meant to get past the registry or the limits.

Most are valid JSON a lax reader would take: a provisioned device claiming a resident that
is not its own (another resident, a silent one, an invented one, its own id in another
case, or by a duplicate key), speaking as another device, or an unknown device or site;
payloads just over the 64 KiB limit or megabytes over it. Some must be *accepted*: a
payload of exactly 64 KiB, and text made to look like extra points of line protocol (it
must stay one field of one point). None may add a resident to the scorer.
"""

from __future__ import annotations

from collections.abc import Callable

from careloop.wire import MAX_PAYLOAD_BYTES, MAX_READINGS
from tests.fuzz.drafts import Draft
from tests.fuzz.fleet import SITES, UNKNOWN_SITES, Member
from tests.fuzz.mutations import BAD_TOPIC_IDS
from tests.fuzz.payloads import Generator, Payload
from tests.fuzz.values import NASTY

INJECTION = NASTY[12]
SPOOFED = "spoofed"
UNKNOWN_DEVICE = "unknown_device"
TOO_LARGE = "too_large:payload"


def pad_to(size: int) -> Callable[[bytes], bytes]:
    """Pad a JSON object with whitespace before its last brace to exactly ``size`` bytes."""

    def pad(data: bytes) -> bytes:
        at = data.rindex(b"}")
        return data[:at] + b" " * (size - len(data)) + data[at:]

    return pad


def sender(g: Generator) -> Member:
    return g.rng.choice(g.fleet.active)


def small(g: Generator, who: Member, kind: str | None = None) -> Draft:
    d = g.draft(who, kind, n=g.rng.randint(1, 4))
    d.body.pop("kind", None)
    return d


def spoof_resident(g: Generator) -> Payload:
    """A registered device claims a resident that is not its own."""
    rng = g.rng
    who = sender(g)
    d = small(g, who)
    others = [r for r in g.fleet.residents_at(who.site) if r != who.resident]
    pick = rng.random()
    if pick < 0.3:
        case, claim = "claims_another_resident", rng.choice(others)
    elif pick < 0.5:
        case, claim = "claims_a_silent_resident", rng.choice(g.fleet.silent).resident
    elif pick < 0.8:
        case, claim = "claims_an_invented_resident", rng.choice(g.fleet.ghosts)
    else:
        case, claim = "claims_itself_in_capitals", who.resident.upper()
    d.body["resident"] = claim
    if rng.random() < 0.01:  # a flood: as many readings as a message may carry
        d = g.draft(who, "vitals", n=MAX_READINGS)
        d.body.update(resident=rng.choice(g.fleet.ghosts))
        return g.rejected("hostile", "floods_an_invented_resident", d, SPOOFED, g.fit(d))
    return g.rejected("hostile", case, d, SPOOFED)


def duplicate_key(g: Generator) -> Payload:
    """Its own resident first, another one in a repeated key: the last one counts."""
    who = sender(g)
    d = small(g, who)
    claim = g.rng.choice([*g.fleet.ghosts, *(m.resident for m in g.fleet.silent)])

    def repeat(data: bytes) -> bytes:
        at = data.rindex(b"}")
        return data[:at] + f',"resident":"{claim}"'.encode() + data[at:]

    d.post = repeat
    return g.rejected("hostile", "repeats_the_resident_key", d, SPOOFED)


def other_device(g: Generator) -> Payload:
    """The payload names another registered device than the topic it is sent on."""
    who = sender(g)
    other = g.rng.choice([m for m in g.fleet.registered if m.device != who.device])
    d = small(g, who)
    d.body.update(device=other.device, resident=other.resident)
    return g.rejected("hostile", "speaks_as_another_device", d, "spoofed:device")


def unknown(g: Generator) -> Payload:
    """Unknown devices (at known or unknown sites), known devices at unknown sites."""
    rng = g.rng
    pick = rng.random()
    if pick < 0.5:
        site = rng.choice(SITES if rng.random() < 0.7 else UNKNOWN_SITES)
        claim = rng.choice([*(m.resident for m in g.fleet.active), *g.fleet.ghosts])
        rogue = Member(rng.choice(g.fleet.rogues), site, claim)
        return g.rejected("hostile", "unknown_device", small(g, rogue), UNKNOWN_DEVICE)
    d = small(g, sender(g))
    d.site = rng.choice(UNKNOWN_SITES)
    return g.rejected("hostile", "known_device_at_unknown_site", d, SPOOFED)


def oversized(g: Generator) -> Payload:
    """Over 64 KiB: by one byte, by a lot, by megabytes, and on a bad topic too."""
    rng = g.rng
    d = small(g, sender(g))
    pick = rng.random()
    if pick < 0.4:
        d.post = pad_to(MAX_PAYLOAD_BYTES + 1)
        return g.rejected("hostile", "one_byte_over_the_limit", d, TOO_LARGE)
    if pick < 0.99:
        d.post = pad_to(rng.randint(MAX_PAYLOAD_BYTES + 2, 2 * MAX_PAYLOAD_BYTES))
        if rng.random() < 0.2:
            d.site = rng.choice(BAD_TOPIC_IDS)  # the size is checked first
        return g.rejected("hostile", "far_over_the_limit", d, TOO_LARGE)
    d.post = pad_to(rng.randint(1_000_000, 2_000_000))
    return g.rejected("hostile", "megabytes", d, TOO_LARGE)


def at_the_limit(g: Generator) -> Payload:
    """Valid and exactly as large as allowed, or with the most readings allowed."""
    rng = g.rng
    who = sender(g)
    if rng.random() < 0.99:  # 500 readings of one resident cost the scorer 500 rounds
        d = small(g, who)
        body = d.encode(rng)
        return g.stored("hostile", "exactly_64_KiB", d, pad_to(MAX_PAYLOAD_BYTES)(body))
    d = g.draft(who, "vitals", n=MAX_READINGS)
    d.body.pop("kind", None)
    for r in d.readings:  # one measurement each, so all 500 fit in 64 KiB
        keep = next(k for k, v in r.items() if k != "ts" and v is not None)
        for name in [k for k in r if k not in ("ts", keep)]:
            del r[name]
    return g.stored("hostile", "most_readings_allowed", d)


def injection(g: Generator) -> Payload:
    """Line protocol in a stored string must stay a string; in an id it is refused."""
    rng = g.rng
    who = sender(g)
    if rng.random() < 0.6:
        d = small(g, who, "event")
        for r in d.readings:
            r["detail"] = INJECTION[: rng.randint(20, len(INJECTION))]
        return g.stored("hostile", "line_protocol_in_a_field", d)
    d = small(g, who)
    if rng.random() < 0.5:
        d.body["resident"] = who.resident + ",site=fz-south resident=x"
        return g.rejected(
            "hostile", "line_protocol_in_an_id", d, "string_pattern_mismatch:resident"
        )
    d.site = who.site + ",resident=" + rng.choice(g.fleet.ghosts)
    return g.rejected("hostile", "line_protocol_in_the_topic", d, "bad_id:site")


HOSTILE: dict[Callable[[Generator], Payload], float] = {
    spoof_resident: 0.35,
    duplicate_key: 0.07,
    other_device: 0.08,
    unknown: 0.3,
    oversized: 0.06,
    at_the_limit: 0.03,
    injection: 0.10,
}


def hostile(g: Generator) -> Payload:
    """One hostile payload, its case chosen by the weights of :data:`HOSTILE`."""
    make = g.rng.choices(list(HOSTILE), list(HOSTILE.values()))[0]
    return make(g)
