"""What each channel carries: volunteer notifications, the resident's ``cmd``, webhook and
e-mail bodies. Builders only; the engine enqueues them, the channels deliver them."""

from __future__ import annotations

import json

from alerts.model import Alert
from careloop.i18n import DEFAULT_LOCALE, Translator, resolve_locale, translate
from careloop.wire import CommandMessage, encode
from careloop.wire.alerts import AlertNotification, NotificationType, encode_alert
from people.consent import Disclosure

#: Notification types worth an e-mail (the others are bookkeeping for the app).
EMAIL_TYPES = frozenset({"page", "update", "handover", "overdue"})


def notification(
    nid: str,
    kind: NotificationType,
    alert: Alert,
    volunteer: str,
    now_ms: int,
    shown: Disclosure,
    *,
    deadline: int | None = None,
    reason: str | None = None,
) -> AlertNotification:
    """A notification about ``alert`` for ``volunteer``, carrying only what ``shown`` (the
    resident's consent, asked for this reader) allows; the tier always (how fast to answer)."""
    return AlertNotification(
        id=nid,
        type=kind,
        alert=alert.id,
        site=alert.site,
        volunteer=volunteer,
        ts=now_ms,
        resident=alert.resident if shown.resident else None,
        kind=alert.kind if shown.health else None,
        tier=alert.tier,
        summary=alert.summary if shown.health else None,
        deadline=deadline,
        reason=reason,
    )


def notification_bytes(note: AlertNotification) -> bytes:
    return encode_alert(note)


#: What the resident's device says the moment an alert of these kinds opens (catalog keys):
#: a lonely or agitated resident hears at once that a person is coming, before anyone
#: accepted. Other kinds wait for the accept (``device.help_on_the_way``).
SAY_ON_OPEN: dict[str, str] = {
    "low_mood": "device.someone_will_come_or_call",
    "agitation": "device.person_joining",
}


def help_command(nid: str, alert: Alert, now_ms: int, key: str = "device.help_on_the_way") -> bytes:
    """The ``cmd`` for the resident's device: the catalog message ``key`` ("help is on the
    way" by default), in their language and script."""
    language = resolve_locale(alert.language)
    text = translate(language, key)
    return encode(
        CommandMessage(
            id=nid, ts=now_ms, action="say", text=text, language=language, alert=alert.id
        )
    )


def webhook_body(nid: str, alert: Alert, now_ms: int, reason: str, shown: Disclosure) -> bytes:
    """The emergency webhook's JSON: the alert and why it escalated; the resident's id and
    what the need is only as far as ``shown`` (their consent, for an external reader)
    allows."""
    return json.dumps(
        {
            "v": 1,
            "id": nid,
            "type": "escalation",
            "reason": reason,
            "ts": now_ms,
            "alert": alert.id,
            "site": alert.site,
            "resident": alert.resident if shown.resident else None,
            "kind": alert.kind if shown.health else None,
            "tier": alert.tier,
            "state": alert.state,
            "opened": alert.opened_ms,
            "summary": alert.summary if shown.health else None,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def email_body(note: AlertNotification, to: str, locale: str = DEFAULT_LOCALE) -> bytes:
    """The e-mail (stored as JSON in the outbox; the SMTP channel renders it), in the
    volunteer's ``locale``. It carries what the notification carries, no more: a page for a
    resident who shares nothing says only the site, the tier and the alert's id."""
    t = Translator(locale)
    what = t(f"need.{note.kind}") if note.kind else t("need.unknown")
    tier = t(f"tier.{note.tier}")
    where = f"{note.site}/{note.resident}" if note.resident else note.site
    subject = t("email.subject", tier=tier, type=t(f"notification.{note.type}"), what=what,
                where=where)  # fmt: skip
    lines = [
        t("email.intro", alert=note.alert, site=note.site, what=what, tier=tier),
        "",
        note.summary or "",
        "",
        t("email.reply_in_app"),
        t("email.notification_id", id=note.id),
    ]
    return json.dumps(
        {"to": to, "subject": subject, "body": "\n".join(lines), "nid": note.id},
        ensure_ascii=False,
    ).encode()
