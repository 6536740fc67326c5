"""The alert lifecycle: needs, replies and deadlines in; transitions, audit and notifications out.

:class:`AlertEngine` is synchronous and knows no network: every entry point
(:meth:`handle_need`, :meth:`handle_reply`, :meth:`fire_due`) runs one SQLite transaction
that updates the alert, appends its audit rows, sets or clears its timers and enqueues the
notifications it causes in the ``deliveries`` outbox. The service's channels send the outbox
afterwards. So a crash leaves either the old state with its timer still due (it fires after
the restart) or the new state with its notifications queued (sent after the restart, under
the same notification ids): no escalation is missed and none is made twice.

Time comes only from the injected :class:`~alerts.clock.Clock`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from alerts.clock import Clock
from alerts.errors import ReplyRejected
from alerts.model import UNOWNED, Alert
from alerts.notify import (
    EMAIL_TYPES,
    email_body,
    help_command,
    notification,
    notification_bytes,
    webhook_body,
)
from alerts.policy import Policy, TierRule
from alerts.roster import Roster
from alerts.routing import coordinators, pick_volunteers
from alerts.store import AlertStore, AuditEntry, new_id
from careloop.logs import fields
from careloop.wire import Topic
from careloop.wire.alerts import (
    AlertNotification,
    AlertReply,
    NotificationType,
    encode_alert,
    volunteer_topic,
)
from careloop.wire.needs import TIER_RANK, NeedMessage

log = logging.getLogger(__name__)

#: Called after a commit with the audit rows it wrote (SSE, metrics, logs).
Listener = Callable[[list[AuditEntry], "AlertEngine"], None]


class AlertEngine:
    """Runs every alert through its lifecycle; see ``alerts/model.py`` for the diagram."""

    def __init__(self, store: AlertStore, policy: Policy, roster: Roster, clock: Clock) -> None:
        self.store = store
        self.policy = policy
        self.roster = roster
        self.clock = clock
        self.listeners: list[Listener] = []
        self._entries: list[AuditEntry] = []
        #: Set whenever the outbox got new rows (the service wakes its channels).
        self.outbox_dirty = False

    # -- plumbing -----------------------------------------------------------------------------
    @contextmanager
    def _change(self) -> Iterator[None]:
        """One transaction; listeners hear about its audit rows only once committed."""
        self._entries = []
        with self.store.tx():
            yield
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
        return self.policy.rule(alert.site, alert.tier, alert.kind)

    def _notify(
        self,
        alert: Alert,
        volunteer: str,
        kind: NotificationType,
        *,
        deadline: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Queue a notification to one volunteer on each of their channels."""
        now = self.clock.now_ms()
        nid = new_id("n")
        note = notification(nid, kind, alert, volunteer, now, deadline=deadline, reason=reason)
        vol = self.roster.volunteers.get(volunteer)
        channels = vol.channels if vol is not None else ("mqtt",)
        if "mqtt" in channels:
            topic = volunteer_topic(alert.site, volunteer)
            self.store.enqueue(alert.id, "mqtt", topic, notification_bytes(note), nid, now)
        if "email" in channels and kind in EMAIL_TYPES and vol is not None and vol.email:
            self.store.enqueue(
                alert.id, "email", vol.email, email_body(note, vol.email), f"{nid}-e", now
            )
        self.outbox_dirty = True

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

    # -- needs --------------------------------------------------------------------------------
    def handle_need(self, need: NeedMessage, channel: str = "mqtt") -> str | None:
        """Open, merge into, or cancel an alert; returns its id (None if nothing to do)."""
        with self._change():
            if not self.store.first_sight_of_need(need.id, need.state, need.ts):
                return None  # a redelivery of a message already handled
            if need.reminder:
                return None  # a nudge for the resident or carer, not a page
            existing = self.store.open_alert(need.site, need.resident, need.kind)
            if need.state == "cleared":
                if existing is None:
                    return None
                self._close(existing, "cancelled", "scorer", channel, reason="need_cleared")
                return existing.id
            if existing is not None:
                self._merge(existing, need, channel)
                return existing.id
            return self._open(need, channel).id

    def _open(self, need: NeedMessage, channel: str) -> Alert:
        now = self.clock.now_ms()
        resident = self.roster.resident(need.site, need.resident)
        alert = Alert(
            id=new_id("a"),
            site=need.site,
            resident=need.resident,
            kind=need.kind,
            tier=need.tier,
            state="open",
            need_id=need.id,
            opened_ms=now,
            summary=need.summary,
            score=need.score,
            facts=_facts(need),
            device=resident.device,
            language=need.language or resident.language,
        )
        rule = self.rule(alert)
        alert.respond_due_ms = now + rule.respond_ms
        self.store.save(alert, new=True)
        self._audit(alert, "scorer", "open", channel, need=need.id, tier=need.tier)
        self.store.set_timer(alert.id, "respond", alert.respond_due_ms)
        self.store.set_timer(alert.id, "expire", now + rule.expire_ms)
        self._advance(alert, rule, "opened")
        self.store.save(alert)
        log.info(
            "alert opened",
            extra=fields(alert=alert.id, site=alert.site, kind=alert.kind, tier=alert.tier),
        )
        return alert

    def _merge(self, alert: Alert, need: NeedMessage, channel: str) -> None:
        """New evidence for an open alert: merged, and it may raise the tier."""
        now = self.clock.now_ms()
        alert.evidence += 1
        alert.score = max(alert.score, need.score)
        alert.summary = need.summary
        alert.facts = _facts(need)
        raised = TIER_RANK[need.tier] < TIER_RANK[alert.tier]
        old_tier = alert.tier
        if not raised:
            self.store.save(alert)
            self._audit(alert, "scorer", "merge", channel, need=need.id, tier=need.tier)
            return
        alert.tier = need.tier
        rule = self.rule(alert)
        self._audit(
            alert, "scorer", "tier_raised", channel, need=need.id, old=old_tier, tier=alert.tier
        )
        timers = self.store.timers(alert.id)
        if alert.state in UNOWNED:
            due = min(alert.respond_due_ms or now + rule.respond_ms, now + rule.respond_ms)
            alert.respond_due_ms = due
            self.store.set_timer(alert.id, "respond", due)
            expire = min(timers.get("expire", now + rule.expire_ms), now + rule.expire_ms)
            self.store.set_timer(alert.id, "expire", expire)
            pending = [
                v for v, (_s, role, answer) in self.store.pages(alert.id).items()
                if answer is None and role != "handover"
            ]  # fmt: skip
            for volunteer in pending:
                self._notify(alert, volunteer, "update", deadline=due)
            missing = rule.parallel - len(pending)
            paged = self._page_more(alert, rule, missing, "tier_raised") if missing > 0 else 0
            step_due = min(timers.get("step", now + rule.step_ms), now + rule.step_ms)
            self.store.set_timer(alert.id, "step", step_due)
            if not pending and not paged:
                self._advance(alert, rule, "tier_raised")
        elif alert.owner is not None and alert.accepted_ms is not None:
            due = min(alert.resolve_due_ms or 0, alert.accepted_ms + rule.resolve_ms)
            alert.resolve_due_ms = due
            self.store.set_timer(alert.id, "resolve", max(due, now))
            self._notify(alert, alert.owner, "update", deadline=due)
        self.store.save(alert)

    # -- paging and escalation ------------------------------------------------------------
    def _advance(self, alert: Alert, rule: TierRule, why: str) -> bool:
        """Page the next step of the chain that reaches somebody; False if none is left."""
        now = self.clock.now_ms()
        exclude = set(self.store.pages(alert.id))
        while alert.step + 1 < len(rule.chain):
            alert.step += 1
            step = rule.chain[alert.step]
            if step == "webhook":
                url = self.policy.webhook(alert.site)
                if url is None:
                    self._audit(alert, "system", "step_skipped", "timer", reason="no_webhook")
                    continue
                nid = new_id("w")
                body = webhook_body(nid, alert, now, why)
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

    # -- timers -------------------------------------------------------------------------------
    def fire_due(self, limit: int = 500) -> int:
        """Fire every timer due by now, each in its own transaction; returns how many fired."""
        now = self.clock.now_ms()
        fired = 0
        for alert_id, kind, due in self.store.due_timers(now, limit):
            with self._change():
                if self.store.timers(alert_id).get(kind) != due:
                    continue  # moved or cleared since it was read
                self.store.clear_timer(alert_id, kind)
                alert = self.store.get(alert_id)
                if alert is not None and not alert.closed:
                    self._on_timer(alert, kind)
                    self.store.save(alert)
                fired += 1
        return fired

    def _on_timer(self, alert: Alert, kind: str) -> None:
        rule = self.rule(alert)
        if kind == "step" and alert.state in UNOWNED:
            self._audit(alert, "system", "step_timeout", "timer", step=alert.step)
            self._advance(alert, rule, "no_answer")
        elif kind == "respond" and alert.state in UNOWNED:
            alert.respond_breached = True
            self._audit(alert, "system", "breach", "timer", reason="respond_deadline")
            # Jump to the end of the chain: coordinators and the emergency webhook now.
            while alert.step + 1 < len(rule.chain):
                if rule.chain[alert.step + 1] == "volunteers":
                    alert.step += 1
                    continue
                self._advance(alert, rule, "respond_deadline")
        elif kind == "resolve" and alert.state == "accepted":
            alert.resolve_breached = True
            self._audit(alert, "system", "breach", "timer", reason="resolve_deadline")
            if alert.owner:
                self._notify(alert, alert.owner, "overdue", deadline=alert.resolve_due_ms)
            paged = self.store.pages(alert.id)
            for v in coordinators(alert, self.roster, set()):
                self.store.add_page(alert, v.id, alert.step, "coordinator", self.clock.now_ms())
                self._notify(alert, v.id, "overdue", deadline=alert.resolve_due_ms)
            self._audit(
                alert, "system", "escalate", "timer", from_state=alert.state,
                reason="resolve_deadline", already_paged=len(paged),
            )  # fmt: skip
        elif kind == "expire" and alert.state in UNOWNED:
            self._close(alert, "expired", "system", "timer", reason="nobody_accepted")
        elif kind == "handover" and alert.state == "accepted" and alert.handover_to:
            lapsed, alert.handover_to = alert.handover_to, None
            self.store.set_answer(alert.id, lapsed, "lapsed")
            self._audit(alert, "system", "handover_lapsed", "timer", volunteer=lapsed)
            if alert.owner:
                self._notify(alert, alert.owner, "accepted", reason="handover_lapsed")

    def _close(self, alert: Alert, state: str, actor: str, channel: str, *, reason: str) -> None:
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
        self._audit(alert, actor, state, channel, from_state=before, reason=reason)

    # -- replies ------------------------------------------------------------------------------
    def handle_reply(
        self, site: str, volunteer: str, reply: AlertReply, channel: str = "mqtt"
    ) -> Alert:
        """Apply a volunteer's reply; raises :class:`ReplyRejected` (audited) if refused."""
        try:
            with self._change():
                if self.store.reply_seen(reply.nonce):
                    raise ReplyRejected("replay", reply.nonce)
                alert = self._apply_reply(site, volunteer, reply, channel)
                self.store.record_reply(reply.nonce, volunteer, reply.alert, reply.ts, "ok")
                self.store.save(alert)
                return alert
        except ReplyRejected as rejected:
            with self._change():
                if rejected.reason != "replay":
                    self.store.record_reply(
                        reply.nonce, volunteer, reply.alert, reply.ts, rejected.reason
                    )
                self._audit(
                    reply.alert, volunteer, f"reply_{reply.action}", channel,
                    reason=f"rejected:{rejected.reason}", nonce=reply.nonce,
                )  # fmt: skip
                if volunteer in self.roster.volunteers:
                    self._reject_notice(site, volunteer, reply, rejected.reason)
            log.info(
                "reply rejected",
                extra=fields(volunteer=volunteer, action=reply.action, reason=rejected.reason),
            )
            raise

    def _apply_reply(self, site: str, volunteer: str, reply: AlertReply, channel: str) -> Alert:
        alert = self.store.get(reply.alert)
        if alert is None or alert.site != site:
            raise ReplyRejected("unknown_alert", reply.alert)
        vol = self.roster.volunteers.get(volunteer)
        if vol is None or not vol.serves(site):
            raise ReplyRejected("wrong_volunteer", "not a volunteer of this site")
        pages = self.store.pages(alert.id)
        action = reply.action
        if action == "accept":
            self._accept(alert, volunteer, pages, channel)
        elif action == "decline":
            self._decline(alert, volunteer, pages, channel)
        elif action == "resolve":
            if alert.state != "accepted":
                raise ReplyRejected("not_allowed", f"cannot resolve when {alert.state}")
            if alert.owner != volunteer:
                raise ReplyRejected("wrong_volunteer", "only the owner resolves")
            self._close(alert, "resolved", volunteer, channel, reason="resolved")
        elif action == "handover":
            self._handover(alert, volunteer, reply, channel)
        return alert

    def _accept(
        self,
        alert: Alert,
        volunteer: str,
        pages: dict[str, tuple[int, str, str | None]],
        channel: str,
    ) -> None:
        now = self.clock.now_ms()
        if alert.state == "accepted" and alert.handover_to == volunteer:
            old, alert.owner, alert.handover_to = alert.owner, volunteer, None
            self.store.clear_timer(alert.id, "handover")
            self.store.set_answer(alert.id, volunteer, "accepted")
            self._audit(
                alert, volunteer, "handover_accepted", channel, from_state="accepted",
                previous_owner=old,
            )  # fmt: skip
            if old:
                self._notify(alert, old, "taken", reason="handover")
            self._notify(alert, volunteer, "accepted", deadline=alert.resolve_due_ms)
            return
        if alert.state == "accepted":
            if alert.owner == volunteer:
                raise ReplyRejected("not_allowed", "you already own it")
            raise ReplyRejected("already_owned", "another volunteer owns it")
        if alert.state not in UNOWNED:
            raise ReplyRejected("not_allowed", f"alert is {alert.state}")
        if volunteer not in pages:
            raise ReplyRejected("wrong_volunteer", "you were not paged for this alert")
        before = alert.state
        rule = self.rule(alert)
        alert.state = "accepted"
        alert.owner = volunteer
        alert.accepted_ms = now
        alert.resolve_due_ms = now + rule.resolve_ms
        for kind in ("step", "respond", "expire"):
            self.store.clear_timer(alert.id, kind)
        self.store.set_timer(alert.id, "resolve", alert.resolve_due_ms)
        self.store.set_answer(alert.id, volunteer, "accepted")
        self._audit(alert, volunteer, "accept", channel, from_state=before)
        self._notify(alert, volunteer, "accepted", deadline=alert.resolve_due_ms)
        for other, (_s, _r, answer) in pages.items():
            if other != volunteer and answer is None:
                self._notify(alert, other, "taken", reason="accepted_by_another")
        self._tell_resident(alert)

    def _tell_resident(self, alert: Alert) -> None:
        if alert.device is None:
            self._audit(alert, "system", "resident_not_told", "mqtt", reason="no_device")
            return
        now = self.clock.now_ms()
        nid = new_id("c")
        topic = str(Topic(alert.site, alert.device, "cmd"))
        self.store.enqueue(alert.id, "mqtt", topic, help_command(nid, alert, now), nid, now)
        self.outbox_dirty = True
        self._audit(alert, "system", "resident_told", "mqtt", device=alert.device)

    def _decline(
        self,
        alert: Alert,
        volunteer: str,
        pages: dict[str, tuple[int, str, str | None]],
        channel: str,
    ) -> None:
        if alert.state == "accepted" and alert.handover_to == volunteer:
            alert.handover_to = None
            self.store.clear_timer(alert.id, "handover")
            self.store.set_answer(alert.id, volunteer, "declined")
            self._audit(alert, volunteer, "handover_declined", channel)
            if alert.owner:
                self._notify(alert, alert.owner, "accepted", reason="handover_declined")
            return
        if alert.state not in UNOWNED:
            raise ReplyRejected("not_allowed", f"alert is {alert.state}")
        if volunteer not in pages:
            raise ReplyRejected("wrong_volunteer", "you were not paged for this alert")
        if pages[volunteer][2] is not None:
            raise ReplyRejected("not_allowed", f"already {pages[volunteer][2]}")
        self.store.set_answer(alert.id, volunteer, "declined")
        self._audit(alert, volunteer, "decline", channel, from_state=alert.state)
        rule = self.rule(alert)
        # Move on: page a replacement at this step, or the next step when nobody is left.
        if self._page_more(alert, rule, 1, "declined"):
            return
        still_waiting = any(a is None and v != volunteer for v, (_s, _r, a) in pages.items())
        if not still_waiting:
            self._advance(alert, rule, "all_declined")

    def _handover(self, alert: Alert, volunteer: str, reply: AlertReply, channel: str) -> None:
        if alert.state != "accepted":
            raise ReplyRejected("not_allowed", f"cannot hand over when {alert.state}")
        if alert.owner != volunteer:
            raise ReplyRejected("wrong_volunteer", "only the owner hands over")
        to = reply.to
        target = self.roster.volunteers.get(to) if to else None
        if to is None or target is None or not target.serves(alert.site) or to == volunteer:
            raise ReplyRejected("bad_reply", "handover needs another volunteer of the site")
        alert.handover_to = to
        now = self.clock.now_ms()
        self.store.add_page(alert, to, alert.step, "handover", now)
        due = now + self.policy.routing.handover_ms
        self.store.set_timer(alert.id, "handover", due)
        self._audit(alert, volunteer, "handover_requested", channel, to=to)
        self._notify(alert, to, "handover", deadline=due)

    # -- roster -------------------------------------------------------------------------------
    def replace_roster(self, roster: Roster) -> None:
        """Use a new roster from now on (stored first, so a restart keeps it)."""
        self.store.save_roster(roster)
        self.roster = roster


def _facts(need: NeedMessage) -> str:
    """The need's evidence as compact JSON, for the resident page's "why" table."""
    return json.dumps(
        [e.model_dump(mode="json", exclude_none=True) for e in need.evidence],
        ensure_ascii=False,
        separators=(",", ":"),
    )
