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

from alerts.errors import ReplyRejected
from alerts.model import UNOWNED, Alert
from alerts.notify import SAY_ON_OPEN
from alerts.reminders import Reminders
from alerts.routing import coordinators
from alerts.store import new_id
from alerts.tickets import Tickets
from careloop.logs import fields
from careloop.wire.needs import TIER_RANK, NeedMessage

log = logging.getLogger(__name__)


class AlertEngine(Reminders, Tickets):
    """Runs every alert through its lifecycle; see ``alerts/model.py`` for the diagram.

    Needs and deadlines are handled here; replies in :mod:`alerts.replies`; tickets, praise
    and satisfaction in :mod:`alerts.tickets`; spoken reminders in :mod:`alerts.reminders`;
    transactions, audit, notifications and paging in :mod:`alerts.core`.
    """

    # -- needs --------------------------------------------------------------------------------
    def handle_need(self, need: NeedMessage, channel: str = "mqtt") -> str | None:
        """Open, merge into, or cancel an alert; returns its id (None if nothing to do)."""
        try:
            return self._handle_need(need, channel)
        except _Seen:
            return None  # rolled back: nothing was written, so nothing to commit

    def _handle_need(self, need: NeedMessage, channel: str) -> str | None:
        with self._change():
            if not self.store.first_sight_of_need(need.site, need.id, need.state, need.ts):
                # A redelivery, or another replica's copy already handled. Rolled back, not
                # committed: on PostgreSQL a commit bumps the change counter and waits on
                # fsync, a cost every losing replica would pay for every need.
                raise _Seen
            if need.reminder:  # said on the resident's device and audited, never paged
                return self._remind(need, channel)
            if need.kind == "praise":
                if need.state != "cleared":
                    self._praise_need(need)  # credited to a volunteer, never paged
                return None
            existing = self.store.open_alert(need.site, need.resident, need.kind)
            if existing is not None:  # held, then read again: another replica may change it
                self.store.lock_alert(existing.id)
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
            summary_key=need.summary_key,
            summary_args=_said(need),
            device=self.roster.device(need.site, need.resident),
            language=need.language or (resident.language if resident else None),
        )
        rule = self.rule(alert)
        alert.respond_due_ms = now + rule.respond_ms
        self.store.save(alert, new=True)
        self._audit(alert, "scorer", "open", channel, need=need.id, tier=need.tier)
        self.store.set_timer(alert.id, "respond", alert.respond_due_ms)
        self.store.set_timer(alert.id, "expire", now + rule.expire_ms)
        self._advance(alert, rule, "opened")
        if alert.kind in SAY_ON_OPEN:
            self._tell_resident(alert, SAY_ON_OPEN[alert.kind])
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
        alert.summary_key, alert.summary_args = need.summary_key, _said(need)
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

    # -- the family ---------------------------------------------------------------------------
    def family_handles(self, site: str, resident: str, alert_id: str, who: str) -> Alert:
        """A family member answered a missed care-plan item with "I'll handle it" (the family
        page): the care team is stood down, the alert closed as ``cancelled`` with the
        reason ``family_handles`` (whoever was paged is told), ``who`` in the audit.

        Raises :class:`~alerts.errors.ReplyRejected`: ``unknown_alert`` (not a miss of this
        resident the family was told of), ``already_owned`` (someone of the team took it),
        ``not_allowed`` (closed already)."""
        with self._change():
            self.store.lock_alert(alert_id)
            alert = self.store.get(alert_id)
            told = alert is not None and any(
                e.action == "family_told" for e in self.store.audit_log(alert_id)
            )
            if alert is None or (alert.site, alert.resident) != (site, resident) or not told:
                raise ReplyRejected("unknown_alert")
            if alert.closed:
                raise ReplyRejected("not_allowed", "closed")
            if alert.state not in UNOWNED:
                raise ReplyRejected("already_owned")
            self._close(alert, "cancelled", who, "http", reason="family_handles")
        return alert

    # -- timers -------------------------------------------------------------------------------
    def fire_due(self, limit: int = 500) -> int:
        """Fire every timer due by now, each in its own transaction; returns how many fired
        here. A timer is taken by deleting it inside the transaction that acts on it: moved,
        cleared or taken by another replica since it was read, it is left alone."""
        now = self.clock.now_ms()
        fired = 0
        for alert_id, kind, due in self.store.due_timers(now, limit):
            with self._change():
                self.store.lock_alert(alert_id)  # the alert first, as every change does
                if not self.store.claim_timer(alert_id, kind, due):
                    continue
                alert = self.store.get(alert_id)
                if alert is not None and not alert.closed:
                    self._on_timer(alert, kind)
                    self.store.save(alert)
                fired += 1
        return fired + self.expire_asks()  # satisfaction questions nobody answered

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


class _Seen(Exception):
    """A need already recorded: leave its transaction without writing."""


def _said(need: NeedMessage) -> str | None:
    """The need's summary arguments as compact JSON (None without a summary key)."""
    if need.summary_key is None:
        return None
    return json.dumps(need.summary_args or {}, ensure_ascii=False, separators=(",", ":"))


def _facts(need: NeedMessage) -> str:
    """The need's evidence as compact JSON, for the resident page's "why" table."""
    return json.dumps(
        [e.model_dump(mode="json", exclude_none=True) for e in need.evidence],
        ensure_ascii=False,
        separators=(",", ":"),
    )
