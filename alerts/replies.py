"""Volunteers' replies: accept (first wins and owns), decline, resolve, hand over.

Every reply is applied in one transaction and audited, refused ones too (with a bounded
reason, :class:`~alerts.errors.ReplyRejected`); a replayed nonce is refused, and a reply is
only taken from a volunteer who serves the alert's site.
"""

from __future__ import annotations

import logging

from alerts.core import EngineCore
from alerts.errors import ReplyRejected
from alerts.model import UNOWNED, Alert
from alerts.notify import (
    help_command,
)
from alerts.store import new_id
from careloop.logs import fields
from careloop.wire import Topic
from careloop.wire.alerts import (
    AlertReply,
)

log = logging.getLogger(__name__)


class Replies(EngineCore):
    """The reply half of the lifecycle."""

    # -- replies ------------------------------------------------------------------------------
    def handle_reply(
        self, site: str, volunteer: str, reply: AlertReply, channel: str = "mqtt"
    ) -> Alert:
        """Apply a volunteer's reply; raises :class:`ReplyRejected` (audited) if refused.

        The nonce is claimed first, in the reply's transaction: a nonce already recorded is
        a copy of a reply acted on (a redelivery, the same reply heard by another replica,
        or sent again) and is refused as ``replay`` with no audit and no notice, so N
        replicas hearing one reply answer it once."""
        try:
            with self._change():
                if not self.store.claim_reply(reply.nonce, volunteer, reply.alert, reply.ts, "ok"):
                    raise ReplyRejected("replay", reply.nonce)
                alert = self._apply_reply(site, volunteer, reply, channel)
                self.store.save(alert)
                return alert
        except ReplyRejected as rejected:
            if rejected.reason == "replay":
                raise
            with self._change():
                if not self.store.claim_reply(
                    reply.nonce, volunteer, reply.alert, reply.ts, rejected.reason
                ):
                    raise ReplyRejected("replay", reply.nonce) from None  # refused elsewhere
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
        self.store.lock_alert(reply.alert)
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
            self._close(alert, "resolved", volunteer, channel, reason="resolved", note=reply.note)
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

    def _tell_resident(self, alert: Alert, key: str = "device.help_on_the_way") -> None:
        """Queue the catalog message ``key`` for the resident's device, in their language."""
        if alert.device is None:
            self._audit(alert, "system", "resident_not_told", "mqtt", reason="no_device")
            return
        now = self.clock.now_ms()
        nid = new_id("c")
        topic = str(Topic(alert.site, alert.device, "cmd"))
        body = help_command(nid, alert, now, key)
        self.store.enqueue(alert.id, "mqtt", topic, body, nid, now)
        self.outbox_dirty = True
        self._audit(alert, "system", "resident_told", "mqtt", device=alert.device, message=key)

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
