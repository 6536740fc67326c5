"""The alert engine's core: one transaction per change, its audit rows, notifications, and
paging and escalation along the tier's chain.

:class:`EngineCore` holds what every entry point of :class:`~alerts.engine.AlertEngine` uses:
the store, policy, roster and clock, :meth:`EngineCore._change` (one transaction, listeners
told only after the commit), the audit, queuing notifications on each volunteer's channels,
and moving an alert along its escalation chain (family, volunteers, coordinator, webhook; the
family step and a care plan's own chain live in :mod:`alerts.family`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from alerts.clock import Clock
from alerts.family import family_emails, plan_chain
from alerts.links import DEFAULT_LIFETIME_MS, LinkSigner
from alerts.model import UNOWNED, Alert
from alerts.notify import (
    EMAIL_TYPES,
    LINK_TYPES,
    email_body,
    notification,
    notification_bytes,
    push_payload,
    sms_text,
    webhook_body,
)
from alerts.policy import Policy, TierRule
from alerts.routing import coordinators, pick_volunteers
from alerts.store import AlertStore, AuditEntry, new_id
from careloop.i18n import resolve_locale
from careloop.wire.alerts import (
    AlertNotification,
    AlertReply,
    NotificationType,
    encode_alert,
    volunteer_topic,
)
from people import Roster
from people.consent import Reader, disclosure

log = logging.getLogger(__name__)

#: Called after a commit with the audit rows it wrote (SSE, metrics, logs).
Listener = Callable[[list[AuditEntry], "EngineCore"], None]


class EngineCore:
    """Plumbing, paging and closing, shared by needs, timers and replies."""

    def __init__(self, store: AlertStore, policy: Policy, roster: Roster, clock: Clock) -> None:
        self.store = store
        self.policy = policy
        self.roster = roster
        self.clock = clock
        self.listeners: list[Listener] = []
        self._entries: list[AuditEntry] = []
        self._in_change = False
        #: Set whenever the outbox got new rows (the service wakes its channels).
        self.outbox_dirty = False
        #: Signs e-mails' accept/decline links (None: e-mails carry none).
        self.links: LinkSigner | None = None
        #: Where volunteers' phones reach the API (links in e-mails, pushes and SMS).
        self.base_url = ""
        #: Channels the service can deliver on besides MQTT and e-mail ("push", "sms").
        self.reach: frozenset[str] = frozenset()

    # -- plumbing -----------------------------------------------------------------------------
    @contextmanager
    def _change(self) -> Iterator[None]:
        """One transaction; listeners hear about its audit rows only once committed. A
        change inside a change joins it (a device message's claim and its answer)."""
        if self._in_change:
            yield
            return
        self._entries = []
        self._in_change = True
        try:
            with self.store.tx():
                yield
        finally:
            self._in_change = False
        entries, self._entries = self._entries, []
        for listener in self.listeners:
            listener(entries, self)

    def _audit(
        self,
        alert: Alert | str,
        actor: str,
        action: str,
        channel: str,
        *,
        from_state: str | None = None,
        reason: str | None = None,
        **detail: Any,
    ) -> None:
        alert_id = alert if isinstance(alert, str) else alert.id
        to_state = None if isinstance(alert, str) else alert.state
        entry = self.store.audit(
            alert_id,
            self.clock.now_ms(),
            actor,
            action,
            channel=channel,
            from_state=from_state,
            to_state=to_state,
            reason=reason,
            detail=detail,
        )
        self._entries.append(entry)

    def rule(self, alert: Alert) -> TierRule:
        """The policy's rule for the alert, with the care plan's own chain for a miss whose
        plan names one."""
        rule = self.policy.rule(alert.site, alert.tier, alert.kind)
        chain = plan_chain(self.roster, alert)
        return rule if chain is None else replace(rule, chain=chain)

    def _notify(
        self,
        alert: Alert,
        volunteer: str,
        kind: NotificationType,
        *,
        deadline: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Queue a notification to one volunteer on each of their channels, carrying what the
        resident's consent lets this reader see (a coordinator is staff of the site)."""
        now = self.clock.now_ms()
        nid = new_id("n")
        vol = self.roster.volunteers.get(volunteer)
        reader: Reader = "staff" if vol is not None and vol.coordinator else "volunteer"
        shown = disclosure(self.roster.consent(alert.site, alert.resident), reader)
        note = notification(
            nid, kind, alert, volunteer, now, shown, deadline=deadline, reason=reason
        )
        channels = vol.channels if vol is not None else ("mqtt",)
        if "mqtt" in channels:
            topic = volunteer_topic(alert.site, volunteer)
            self.store.enqueue(alert.id, "mqtt", topic, notification_bytes(note), nid, now)
        if vol is not None and kind in EMAIL_TYPES:
            self._notify_away(alert, vol.id, note, now)
        self.outbox_dirty = True

    def _notify_away(self, alert: Alert, volunteer: str, note: AlertNotification, now: int) -> None:
        """The channels that reach a phone when the app is closed: e-mail (with one-time
        accept/decline links), Web Push to each installed app, SMS."""
        vol = self.roster.volunteers[volunteer]
        locale = resolve_locale(next(iter(vol.languages), None))
        app_url = f"{self.base_url}/app/#alert={alert.id}"
        if "email" in vol.channels and vol.email:
            links = None
            if self.links is not None and note.type in LINK_TYPES:
                expires = alert.resolve_due_ms or now + DEFAULT_LIFETIME_MS
                links = {
                    action: f"{self.base_url}/app/act/"
                    + self.links.sign(alert.id, volunteer, action, expires)
                    for action in ("accept", "decline")
                }
            body = email_body(note, vol.email, locale, links)
            self.store.enqueue(alert.id, "email", vol.email, body, f"{note.id}-e", now)
        if "push" in self.reach and ("push" in vol.channels or volunteer in self.roster.pushable):
            body = push_payload(note, locale, app_url)
            self.store.enqueue(alert.id, "push", volunteer, body, f"{note.id}-p", now)
        if "sms" in self.reach and "sms" in vol.channels and vol.phone:
            body = sms_text(note, locale, app_url)
            self.store.enqueue(alert.id, "sms", vol.phone, body, f"{note.id}-s", now)

    def _reject_notice(self, site: str, volunteer: str, reply: AlertReply, reason: str) -> None:
        now = self.clock.now_ms()
        nid = new_id("n")
        note = AlertNotification(
            id=nid,
            type="rejected",
            alert=reply.alert,
            site=site,
            volunteer=volunteer,
            ts=now,
            reason=reason,
            nonce=reply.nonce,
        )
        topic = volunteer_topic(site, volunteer)
        self.store.enqueue(reply.alert, "mqtt", topic, encode_alert(note), nid, now)
        self.outbox_dirty = True

    # -- paging and escalation ------------------------------------------------------------
    def _advance(self, alert: Alert, rule: TierRule, why: str) -> bool:
        """Page the next step of the chain that reaches somebody; False if none is left."""
        now = self.clock.now_ms()
        exclude = set(self.store.pages(alert.id))
        while alert.step + 1 < len(rule.chain):
            alert.step += 1
            step = rule.chain[alert.step]
            if step == "family":
                told = family_emails(self.roster, alert, self.base_url)
                if isinstance(told, str):
                    self._audit(alert, "system", "step_skipped", "timer", reason=told)
                    continue
                for mail in told:
                    self.store.enqueue(alert.id, "email", mail.to, mail.body, mail.nid, now)
                self.outbox_dirty = True
                self._audit(alert, "system", "family_told", "email", contacts=len(told))
                self._transition(alert, "family", why)
                self.store.set_timer(alert.id, "step", now + rule.step_ms)
                return True
            if step == "webhook":
                url = self.policy.webhook(alert.site)
                if url is None:
                    self._audit(alert, "system", "step_skipped", "timer", reason="no_webhook")
                    continue
                nid = new_id("w")
                shown = disclosure(self.roster.consent(alert.site, alert.resident), "external")
                body = webhook_body(nid, alert, now, why, shown)
                self.store.enqueue(alert.id, "webhook", url, body, nid, now)
                self.outbox_dirty = True
                self._transition(alert, "webhook", why)
                self.store.set_timer(alert.id, "step", now + rule.step_ms)
                return True
            if step == "coordinator":
                targets = [v.id for v in coordinators(alert, self.roster, exclude)]
                role = "coordinator"
            else:
                targets = [
                    v.id
                    for v in pick_volunteers(
                        alert, rule, roster=self.roster, store=self.store,
                        policy=self.policy, now_ms=now, exclude=exclude,
                    )
                ]  # fmt: skip
                role = "volunteer"
            if not targets:
                self._audit(alert, "system", "step_skipped", "timer", reason="nobody_available")
                continue
            for volunteer in targets:
                self._page(alert, volunteer, role, why)
            self._transition(alert, step, why)
            self.store.set_timer(alert.id, "step", now + rule.step_ms)
            return True
        self.store.clear_timer(alert.id, "step")
        self._audit(alert, "system", "chain_exhausted", "timer", reason=why)
        return False

    def _page(self, alert: Alert, volunteer: str, role: str, why: str) -> None:
        now = self.clock.now_ms()
        self.store.add_page(alert, volunteer, alert.step, role, now)
        self._notify(alert, volunteer, "page", deadline=alert.respond_due_ms)
        self._audit(alert, "system", "page", "mqtt", reason=why, volunteer=volunteer, role=role)

    def _page_more(self, alert: Alert, rule: TierRule, n: int, why: str) -> int:
        """Page ``n`` more volunteers at the current step (after a decline or tier raise)."""
        if alert.step < 0 or rule.chain[min(alert.step, len(rule.chain) - 1)] != "volunteers":
            return 0
        extra = pick_volunteers(
            alert,
            rule,
            roster=self.roster,
            store=self.store,
            policy=self.policy,
            now_ms=self.clock.now_ms(),
            exclude=set(self.store.pages(alert.id)),
        )[:n]
        for v in extra:
            self._page(alert, v.id, "volunteer", why)
        return len(extra)

    def _transition(self, alert: Alert, step: str, why: str) -> None:
        before = alert.state
        if alert.state in UNOWNED:
            alert.state = "notified" if alert.step == 0 else "escalated"
        if alert.notified_ms is None:
            alert.notified_ms = self.clock.now_ms()
        action = "notify" if alert.step == 0 else "escalate"
        self._audit(
            alert, "system", action, "timer", from_state=before, reason=why,
            step=alert.step, target=step,
        )  # fmt: skip

    def _close(
        self, alert: Alert, state: str, actor: str, channel: str, *, reason: str,
        note: str | None = None,
    ) -> None:  # fmt: skip
        before = alert.state
        now = self.clock.now_ms()
        alert.state = state
        alert.closed_ms = now
        alert.outcome = reason if state != "resolved" else "resolved"
        if state == "resolved":
            alert.resolved_ms = now
        self.store.clear_timers(alert.id)
        for volunteer, (_step, _role, answer) in self.store.pages(alert.id).items():
            if volunteer != actor and answer not in ("declined",):
                kind: NotificationType = "resolved" if state == "resolved" else "cancelled"
                self._notify(alert, volunteer, kind, reason=reason)
        self.store.save(alert)
        extra = {"note": note} if note else {}  # the volunteer's words: audit only, never logs
        self._audit(alert, actor, state, channel, from_state=before, reason=reason, **extra)
        if state == "resolved":
            self.on_resolved(alert)

    def on_resolved(self, alert: Alert) -> None:
        """Hook, inside the resolve's transaction: what follows a resolved alert (the
        satisfaction question, :meth:`alerts.tickets.Tickets.on_resolved`)."""
