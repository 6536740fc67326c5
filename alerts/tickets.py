"""Tickets, praise and satisfaction on the alert engine (docs/tickets.md).

A request or complaint is an alert of kind ``request`` / ``complaint``: it gets its tier's
deadlines (general: respond 24 h, resolve 48 h; important: 12 h and 7 days), its escalation
chain, ownership and audit from the engine like any need. What this mixin adds:

* :meth:`Tickets.open_ticket` - a ticket raised through the API (family, volunteer,
  coordinator) instead of the scorer, with its source and note; the one who raised it may
  take it at once (first contact).
* :meth:`Tickets.take` - first-contact ownership: any volunteer of the site may take a
  ticket, paged or not; the first accept wins as for every alert.
* A resolve reply's note is kept as the ticket's resolution (the report back).
* Praise is never paged: :meth:`Tickets.praise` credits the volunteer or team it names,
  else the volunteer who last owned an alert of that resident.
* Satisfaction: when any alert or ticket is resolved, the resident's device is asked one
  question in their language (``device.rating_question``); :meth:`Tickets.answer` reads
  the spoken or button answer (:func:`alerts.answers.parse_rating`); something that is not
  an answer is asked again once, then recorded as no answer, as is silence within
  ``RATING_WINDOW_MS``. Families rate through the API (:meth:`Tickets.family_rating`).
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from alerts import ticketdb as tdb
from alerts.answers import parse_rating
from alerts.errors import AlertsError, ReplyRejected
from alerts.model import UNOWNED, Alert
from alerts.replies import Replies
from alerts.store import new_id
from careloop.i18n import resolve_locale, translate
from careloop.logs import fields
from careloop.wire import CommandMessage, Topic, encode
from careloop.wire.alerts import AlertReply
from careloop.wire.needs import NeedMessage

log = logging.getLogger(__name__)

#: How long the resident's device waits for an answer to the satisfaction question.
RATING_WINDOW_MS = 10 * 60_000
#: Asked at most this often (the first time, and once again after a non-answer).
RATING_ATTEMPTS = 2


class RatingRefused(AlertsError):
    """A rating was refused; ``reason``: ``unknown_alert``, ``not_resolved``, ``already_rated``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"rating refused: {reason}")


class Tickets(Replies):
    """The ticket, praise and satisfaction half of :class:`~alerts.engine.AlertEngine`."""

    if TYPE_CHECKING:  # the need half, defined by AlertEngine (alerts/engine.py)

        def _open(self, need: NeedMessage, channel: str) -> Alert: ...
        def _merge(self, alert: Alert, need: NeedMessage, channel: str) -> None: ...

    # -- tickets ----------------------------------------------------------------------------
    def open_ticket(
        self, site: str, resident: str, kind: str, tier: str, summary: str, *, source: str,
        reporter: str, note: str | None = None, take_by: str | None = None,
    ) -> Alert:  # fmt: skip
        """A request or complaint raised through the API; merged into the resident's open
        ticket of that kind if there is one (one open ticket per resident and kind)."""
        now = self.clock.now_ms()
        need = NeedMessage(
            id=f"{resident}:ticket:{uuid.uuid4().hex[:12]}", site=site, resident=resident,
            kind=kind, tier=tier, ts=now, onset=now, score=1.0, summary=summary,
        )  # fmt: skip
        with self._change():
            self.store.first_sight_of_need(site, need.id, need.state, need.ts)
            existing = self.store.open_alert(site, resident, kind)
            if existing is not None:
                self._merge(existing, need, "http")
                alert = existing
            else:
                alert = self._open(need, "http")
            tdb.add_ticket(self.store.db, alert.id, source, reporter, now, note)
            self._audit(alert, reporter, "ticket", "http", source=source, merged=bool(existing))
        if take_by is not None and alert.state in UNOWNED:
            reply = AlertReply(nonce=new_id("take"), alert=alert.id, action="accept", ts=now)
            alert = self.take(site, take_by, reply, "http")
        return alert

    def take(self, site: str, volunteer: str, reply: AlertReply, channel: str) -> Alert:
        """First contact: a volunteer of the site takes a waiting ticket, paged or not.
        Refusals are :class:`ReplyRejected` as for any accept (``already_owned``, ...)."""
        with self._change():
            self.store.lock_alert(reply.alert)
            alert = self.store.get(reply.alert)
            vol = self.roster.volunteers.get(volunteer)
            if (
                alert is not None and alert.site == site and alert.kind in tdb.TICKET_KINDS
                and alert.state in UNOWNED and vol is not None and vol.serves(site)
                and volunteer not in self.store.pages(alert.id)
            ):  # fmt: skip
                now = self.clock.now_ms()
                self.store.add_page(alert, volunteer, alert.step, "first_contact", now)
                self._audit(alert, volunteer, "first_contact", channel)
        return self.handle_reply(site, volunteer, reply, channel)

    def _apply_reply(self, site: str, volunteer: str, reply: AlertReply, channel: str) -> Alert:
        alert = super()._apply_reply(site, volunteer, reply, channel)
        if reply.action == "resolve" and reply.note and alert.kind in tdb.TICKET_KINDS:
            tdb.set_resolution(self.store.db, alert.id, reply.note)
        return alert

    # -- praise -----------------------------------------------------------------------------
    def praise(
        self, site: str, resident: str, *, source: str, reporter: str | None = None,
        volunteer: str | None = None, team: str | None = None,
    ) -> dict[str, object]:  # fmt: skip
        """Credit a thanks to the volunteer or team it names, else to the volunteer who last
        owned an alert of ``resident``; returns what was recorded."""
        with self._change():
            credited_by = "named" if volunteer or team else "last_helper"
            if credited_by == "last_helper":
                volunteer = tdb.last_helper(self.store.db, site, resident)
                if volunteer is None:
                    credited_by = "nobody"
            pid = tdb.add_praise(
                self.store.db, site=site, resident=resident, volunteer=volunteer, team=team,
                source=source, reporter=reporter, now_ms=self.clock.now_ms(),
                credited_by=credited_by,
            )  # fmt: skip
        log.info("praise recorded", extra=fields(praise=pid, site=site, credited=credited_by))
        return {"id": pid, "volunteer": volunteer, "team": team, "credited_by": credited_by}

    def _praise_need(self, need: NeedMessage) -> None:
        """A thanks heard by the voice device (the scorer's ``praise`` need): no page."""
        self.praise(need.site, need.resident, source="voice")

    # -- satisfaction -------------------------------------------------------------------------
    def on_resolved(self, alert: Alert) -> None:
        """Ask the resident's device how satisfied they were (inside the resolve's
        transaction). Without a device nobody is asked; families may still rate."""
        if alert.device is None:
            self._audit(alert, "system", "rating_not_asked", "mqtt", reason="no_device")
            return
        now = self.clock.now_ms()
        tdb.open_ask(
            self.store.db, alert.id, alert.site, alert.resident, alert.device, now,
            now + RATING_WINDOW_MS,
        )  # fmt: skip
        self._say(alert, "device.rating_question")
        self._audit(alert, "system", "rating_asked", "mqtt", device=alert.device, attempt=1)

    def _say(self, alert: Alert, key: str) -> None:
        assert alert.device is not None
        now = self.clock.now_ms()
        # The people database's record of the resident first: a need's language is the
        # scorer's care-profile copy, which may be left at its default.
        person = self.roster.resident(alert.site, alert.resident)
        language = resolve_locale(person.language if person is not None else alert.language)
        nid = new_id("c")
        cmd = CommandMessage(
            id=nid, ts=now, action="say", text=translate(language, key), language=language,
            alert=alert.id,
        )  # fmt: skip
        topic = str(Topic(alert.site, alert.device, "cmd"))
        self.store.enqueue(alert.id, "mqtt", topic, encode(cmd), nid, now)
        self.outbox_dirty = True

    def answer(
        self, site: str, device: str, resident: str, *, text: str | None = None,
        button: str | None = None, key: str | None = None, ts_ms: int = 0,
    ) -> str:  # fmt: skip
        """A device's utterance or rating-button press that may answer a waiting question.

        Returns what happened: ``not_their_device`` (refused: a device speaks only for its
        own resident), ``no_question``, ``no_words`` (an utterance without text: no consent
        to words, so only a button can answer), ``asked_again``, ``no_answer`` or ``rated``;
        ``duplicate`` when the message ``key`` (recorded with ``ts_ms``) was already taken
        as an answer here or by another replica.
        """
        now = self.clock.now_ms()
        with self._change():
            if not self.roster.speaks_for(site, device, resident):
                log.warning(
                    "answer refused: not the resident's device", extra=fields(device=device)
                )
                return "not_their_device"
            ask = tdb.waiting_ask(self.store.db, site, resident, now)
            if ask is None:
                return "no_question"
            said = button if button is not None else text
            if said is None:
                return "no_words"
            alert = self.store.get(ask.alert)
            if alert is None:
                return "no_question"
            if key is not None and not self.store.first_sight_of_need(site, key, "rating", ts_ms):
                return "duplicate"
            score = parse_rating(said)
            via = "button" if button is not None else "voice"
            if score is None and ask.attempts < RATING_ATTEMPTS:
                tdb.update_ask(
                    self.store.db, ask.alert, state="asking", attempts=ask.attempts + 1,
                    due_ms=now + RATING_WINDOW_MS,
                )  # fmt: skip
                self._say(alert, "device.rating_again")
                self._audit(alert, "system", "rating_asked", "mqtt", attempt=ask.attempts + 1,
                            reason="not_an_answer")  # fmt: skip
                return "asked_again"
            consent = self.roster.consent(site, resident)
            words = text if text is not None and consent and consent.store_utterance_text else None
            self._record(alert, score, words, via)
            if score is not None:
                self._say(alert, "device.rating_thanks")
            return "rated" if score is not None else "no_answer"

    def _record(self, alert: Alert, score: int | None, words: str | None, via: str) -> None:
        tdb.add_rating(
            self.store.db, alert=alert.id, site=alert.site, resident=alert.resident,
            kind=alert.kind, tier=alert.tier, volunteer=alert.owner, rater_role="resident",
            rater=alert.resident, score=score, words=words, via=via,
            now_ms=self.clock.now_ms(),
        )  # fmt: skip
        tdb.update_ask(self.store.db, alert.id, state="answered" if score else "no_answer")
        action = "rated" if score is not None else "rating_no_answer"
        self._audit(alert, alert.resident, action, "mqtt", score=score, via=via)

    def expire_asks(self) -> int:
        """Satisfaction questions nobody answered in time: recorded as no answer (called by
        :meth:`~alerts.engine.AlertEngine.fire_due` after the deadlines); how many."""
        fired = 0
        now = self.clock.now_ms()
        for ask in tdb.due_asks(self.store.db, now):
            with self._change():
                if not tdb.claim_due_ask(self.store.db, ask.alert, now):
                    continue  # answered, or expired by another replica, since it was read
                alert = self.store.get(ask.alert)
                if alert is None:
                    tdb.update_ask(self.store.db, ask.alert, state="no_answer")
                    continue
                self._record(alert, None, None, "timeout")
            fired += 1
        return fired

    def family_rating(
        self, alert_id: str, rater: str, score: int, *, via: str, words: str | None = None
    ) -> Alert:
        """A family member's rating of a resolved alert or ticket (one per rater)."""
        with self._change():
            self.store.lock_alert(alert_id)
            alert = self.store.get(alert_id)
            if alert is None:
                raise RatingRefused("unknown_alert")
            if alert.state != "resolved":
                raise RatingRefused("not_resolved")
            consent = self.roster.consent(alert.site, alert.resident)
            kept = words if consent and consent.store_utterance_text else None
            if not tdb.add_rating(
                self.store.db, alert=alert.id, site=alert.site, resident=alert.resident,
                kind=alert.kind, tier=alert.tier, volunteer=alert.owner, rater_role="family",
                rater=rater, score=score, words=kept, via=via, now_ms=self.clock.now_ms(),
            ):  # fmt: skip
                raise RatingRefused("already_rated")
            self._audit(alert, rater, "rated", via, score=score, rater_role="family")
        return alert


__all__ = ["RATING_WINDOW_MS", "RatingRefused", "ReplyRejected", "Tickets"]
