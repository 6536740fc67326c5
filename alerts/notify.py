"""What each channel carries: volunteer notifications, the resident's ``cmd``, webhook and
e-mail bodies. Builders only; the engine enqueues them, the channels deliver them."""

from __future__ import annotations

import json

from alerts.model import Alert
from careloop.i18n import DEFAULT_LOCALE, Translator, resolve_locale, translate
from careloop.i18n.summary import render_summary
from careloop.wire import CommandMessage, encode
from careloop.wire.alerts import AlertNotification, NotificationType, encode_alert
from people.consent import Disclosure

#: Notification types worth an e-mail, a push or an SMS (the others are bookkeeping for the
#: app, which shows them live anyway).
EMAIL_TYPES = frozenset({"page", "update", "handover", "overdue"})
#: Types that carry accept/decline links in their e-mail.
LINK_TYPES = frozenset({"page", "handover"})


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
        summary_key=alert.said[0] if shown.health else None,
        summary_args=alert.said[1] if shown.health and alert.said[0] else None,
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
    allows. The summary is English, its catalog text beside it for a receiver that
    renders it in its own language."""
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
            "summary_key": alert.said[0] if shown.health else None,
            "summary_args": alert.said[1] if shown.health else None,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def email_body(
    note: AlertNotification,
    to: str,
    locale: str = DEFAULT_LOCALE,
    links: dict[str, str] | None = None,
) -> bytes:
    """The e-mail (stored as JSON in the outbox; the SMTP channel renders it), in the
    volunteer's ``locale``. It carries what the notification carries, no more: a page for a
    resident who shares nothing says only the site, the tier and the alert's id. ``links``:
    action -> signed one-time URL (:mod:`alerts.links`), shown as "Accept: URL"."""
    t = Translator(locale)
    what = t(f"need.{note.kind}") if note.kind else t("need.unknown")
    tier = t(f"tier.{note.tier}")
    where = f"{note.site}/{note.resident}" if note.resident else note.site
    subject = t("email.subject", tier=tier, type=t(f"notification.{note.type}"), what=what,
                where=where)  # fmt: skip
    lines = [
        t("email.intro", alert=note.alert, site=note.site, what=what, tier=tier),
        "",
        render_summary(locale, note.summary_key, note.summary_args, note.summary or ""),
        "",
        t("email.reply_in_app"),
    ]
    for action, url in (links or {}).items():
        lines.insert(-1, t(f"email.link_{action}", url=url))
    lines.append(t("email.notification_id", id=note.id))
    return json.dumps(
        {"to": to, "subject": subject, "body": "\n".join(lines), "nid": note.id},
        ensure_ascii=False,
    ).encode()


def _headline(t: Translator, note: AlertNotification) -> tuple[str, str]:
    """(title, text) of a short message: the tier and type, then what and where as far as
    the notification carries them (it was built from the consent answer)."""
    tier = t(f"tier.{note.tier}")
    title = t("push.title", tier=tier, type=t(f"notification.{note.type}"))
    if note.kind:
        text = t("push.body_need", what=t(f"need.{note.kind}"), site=note.site)
    else:
        text = t("push.body_private", site=note.site)
    return title, text


def push_payload(note: AlertNotification, locale: str, url: str) -> bytes:
    """What the installed app's service worker shows (encrypted per subscription by
    :mod:`alerts.channels.webpush`): tier, a short localised title and text, the app's URL.
    Never the resident's name: a lock screen is read by whoever holds the phone."""
    t = Translator(locale)
    title, text = _headline(t, note)
    return json.dumps(
        {"nid": note.id, "type": note.type, "alert": note.alert, "site": note.site,
         "tier": note.tier, "title": title, "body": text, "url": url},
        ensure_ascii=False, separators=(",", ":"),
    ).encode()  # fmt: skip


def sms_text(note: AlertNotification, locale: str, url: str) -> bytes:
    """The SMS (stored as JSON ``{"text"}``): one line of headline and the app's link."""
    t = Translator(locale)
    title, text = _headline(t, note)
    body = t("sms.text", title=title, text=text, url=url)
    return json.dumps({"text": body}, ensure_ascii=False).encode()
