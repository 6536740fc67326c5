"""The ``family`` step of an escalation chain, and a care plan's own chain.

A missed care-plan item (``missed_care_plan``: the reminder was said and nobody confirmed it)
is first a matter for the family: a daughter who calls "did you take your pills?" settles
most of them before anyone of the care team is needed. So the chain's ``family`` step e-mails
each of the resident's family contacts (:attr:`people.CareProfile.family`) in the contact's
own language, with the resident's name, the item and when it was due, and a link to the
family page, where a signed-in family member sees it too. Only where the resident agreed
(:attr:`people.Consent.notify_family`); otherwise, or without contacts, the step is skipped
(``step_skipped``, ``no_family_consent`` / ``no_family_contact``) and the chain goes on at
once, as it does without a webhook. The e-mails are rows of the alert store's outbox (channel
``email``), written in the step's transaction and sent once after the commit.

"Per the plan": an :class:`~people.Expectation` may name its own chain (``escalate``), which
replaces the policy's chain for that item's misses. The need does not carry it: the alert
service finds the expectation in the resident's profile from the need's evidence (the event
and when its window opened, :meth:`people.CareProfile.expectation_at`), so the wire stays as
it is. Nothing here pages, audits or commits; :mod:`alerts.core` calls it from ``_advance``
and ``rule`` (kept apart so the engine's core stays small).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

from alerts.model import Alert
from alerts.policy import ChainStep
from alerts.store import new_id
from careloop.i18n import Translator, resolve_locale
from people import Expectation, Resident, Roster

#: Why the family step told nobody (the ``step_skipped`` audit row's reason).
Skipped = Literal["no_family_consent", "no_family_contact"]


@dataclass(frozen=True, slots=True)
class FamilyEmail:
    """One e-mail for the outbox: the contact's address, the JSON body, its notification id."""

    to: str
    body: bytes
    nid: str


def missed_at(alert: Alert) -> tuple[str, int] | None:
    """(event, when the occurrence's window opened) from a miss's evidence, if it has it
    (the family page names the item with it too)."""
    try:
        facts = json.loads(alert.facts)
        first = facts[0]
        return str(first["measure"]), int(first["ts"])
    except (ValueError, LookupError, TypeError):
        return None


def missed_item(roster: Roster, alert: Alert) -> Expectation | None:
    """The care plan's expectation a ``missed_care_plan`` alert is about (None for other
    kinds, an unknown resident, or a plan that no longer has it)."""
    if alert.kind != "missed_care_plan":
        return None
    person = roster.resident(alert.site, alert.resident)
    found = missed_at(alert)
    if person is None or found is None:
        return None
    return person.profile.expectation_at(*found)


def plan_chain(roster: Roster, alert: Alert) -> tuple[ChainStep, ...] | None:
    """The chain the care plan names for this miss, or None (the policy's chain applies)."""
    item = missed_item(roster, alert)
    return item.escalate if item is not None else None


def family_emails(roster: Roster, alert: Alert, base_url: str = "") -> list[FamilyEmail] | Skipped:
    """The e-mails the ``family`` step sends for ``alert``, one per family contact, or why
    it sends none. The resident's consent is read here, at the step, so a consent withdrawn
    since the alert opened is honoured."""
    consent = roster.consent(alert.site, alert.resident)
    if consent is None or not consent.notify_family:
        return "no_family_consent"
    person = roster.resident(alert.site, alert.resident)
    if person is None or not person.profile.family:
        return "no_family_contact"
    item = missed_item(roster, alert)
    found = missed_at(alert)
    opens = found[1] if found is not None else alert.opened_ms
    out = []
    for contact in person.profile.family:
        nid = new_id("f")
        body = family_email_body(person, item, opens, contact.email, contact.language, nid,
                                 base_url)  # fmt: skip
        out.append(FamilyEmail(contact.email, body, nid))
    return out


def family_email_body(
    person: Resident, item: Expectation | None, opens_ms: int, to: str, language: str,
    nid: str, base_url: str = "",
) -> bytes:  # fmt: skip
    """The e-mail to one family contact, in their language and script (stored as JSON in the
    outbox like :func:`alerts.notify.email_body`; the SMTP channel renders it): who, which
    item and when (the resident's local time), a request to check, and why they get it."""
    t = Translator(resolve_locale(language))
    local = timezone(timedelta(minutes=person.profile.utc_offset_min))
    at = datetime.fromtimestamp(opens_ms / 1000, UTC).astimezone(local)
    when = f"{t.format_skeleton('MMMd', at)} {t.format_skeleton('Hm', at)}"
    name = person.display_name
    what = item.name if item is not None else t("need.missed_care_plan")
    lines = [t("email.family_missed", name=name, item=what, when=when), "",
             t("email.family_ask")]  # fmt: skip
    if base_url:
        lines.append(t("email.family_page", url=f"{base_url}/family/"))
    lines += ["", t("email.family_why", name=name)]
    subject = t("email.family_subject", name=name, item=what)
    return json.dumps(
        {"to": to, "subject": subject, "body": "\n".join(lines), "nid": nid}, ensure_ascii=False
    ).encode()
