"""Reminders spoken by the resident's own device: care-plan reminders and appointments.

Why here and not in the scorer: the alert service already owns the one path to a
resident's device (the ``cmd`` outbox, written in the same transaction as the audit and
sent at QoS 1 after the commit, so a crash neither loses nor doubles a reminder), the
device registry and language from the roster, and the clock the tests move. The scorer
decides *that* something is due (``care_plan_reminder``, ``reminder=true``); this mixin
says it, in the resident's language and script (catalog ``device.reminder.<event>``), and
audits it as ``reminded`` (``reminder_not_said`` when the resident has no device).

The answer: words read by :func:`careloop.i18n.confirm.is_confirmation` ("吃過藥了",
"I took it", "done") or the event the plan names (``medication_taken``, ``checkup_done``)
from the resident's own device close the waiting reminder as ``confirmed`` and the device
says thanks. The scorer reads the same words and counts the occurrence as done; when no
answer comes, it raises ``missed_care_plan``, an alert escalated per the plan
(:mod:`alerts.family`: the expectation's own chain, else by default the family, then the
coordinator).

Appointments (people data, :class:`people.Appointment`) are said the day before and an
hour before (``APPOINTMENT_LEADS``): once each, and only the latest one due when the
service was down across both.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

from alerts import reminderdb as rdb
from alerts.core import EngineCore
from alerts.reminderdb import Reminder
from alerts.store import new_id
from careloop.i18n import MissingMessage, Translator, resolve_locale
from careloop.i18n.confirm import confirmed_event, is_confirmation
from careloop.logs import fields
from careloop.wire import CommandMessage, Topic, encode
from careloop.wire.needs import NeedMessage
from people import Appointment

log = logging.getLogger(__name__)

#: A care-plan reminder waits this long for the resident's answer (the scorer judges the
#: miss by the plan's own window; this only bounds what an answer may still close).
ANSWER_WINDOW_MS = 12 * 3_600_000
#: Appointment reminders: (stage, how long before).
APPOINTMENT_LEADS: tuple[tuple[str, int], ...] = (("day", 24 * 3_600_000), ("hour", 3_600_000))


class Reminders(EngineCore):
    """The reminder half of :class:`~alerts.engine.AlertEngine`."""

    def _remind(self, need: NeedMessage, channel: str) -> str | None:
        """A ``care_plan_reminder`` need (inside the caller's transaction): say it, or close
        the waiting reminder when the scorer cleared it. Returns the reminder's id."""
        db = self.store.db
        if need.state == "cleared":
            done = rdb.by_key(db, need.site, need.id)
            if done is not None and done.state == "waiting":
                rdb.close(db, done.id, "cleared", self.clock.now_ms())
                self._audit(done.id, "scorer", "reminder_cleared", channel)
            return None if done is None else done.id
        if rdb.seen(db, need.site, need.id):
            return None
        event = need.evidence[0].measure if need.evidence else None
        key = f"device.reminder.{event}" if event else "device.reminder.other"
        return self._say_reminder(
            need.site, need.resident, need.id, "care_plan", event, key, ANSWER_WINDOW_MS,
            need=need.id,
        )  # fmt: skip

    def _say_reminder(
        self, site: str, resident: str, key: str, source: str, event: str | None,
        message: str, wait_ms: int, **params: str,
    ) -> str:  # fmt: skip
        now = self.clock.now_ms()
        rid = new_id("rm")
        device = self.roster.device(site, resident)
        state = "not_said" if device is None else ("waiting" if source == "care_plan" else "said")
        rdb.add(self.store.db, Reminder(rid, key, site, resident, source, event, device, now,
                                        now + wait_ms, state, None))  # fmt: skip
        if device is None:
            self._audit(rid, "system", "reminder_not_said", "mqtt", reason="no_device",
                        source=source)  # fmt: skip
            return rid
        person = self.roster.resident(site, resident)
        language = resolve_locale(person.language if person is not None else None)
        t = Translator(language)
        try:
            text = t(message, **params)
        except MissingMessage:  # an event the catalogs have no sentence for
            text = t("device.reminder.other")
        self._say_to(site, device, rid, text, language)
        self._audit(rid, "system", "reminded", "mqtt", device=device, source=source,
                    **({"event": event} if event else {}))  # fmt: skip
        log.info("reminder said", extra=fields(reminder=rid, site=site, source=source))
        return rid

    def _say_to(self, site: str, device: str, rid: str, text: str, language: str) -> None:
        now = self.clock.now_ms()
        nid = new_id("c")
        cmd = CommandMessage(id=nid, ts=now, action="say", text=text, language=language,
                             alert=rid)  # fmt: skip
        self.store.enqueue(rid, "mqtt", str(Topic(site, device, "cmd")), encode(cmd), nid, now)
        self.outbox_dirty = True

    def confirm_reminder(
        self, site: str, device: str, resident: str, *, text: str | None = None,
        event: str | None = None, key: str | None = None, ts_ms: int = 0,
    ) -> str:  # fmt: skip
        """The resident's words or a device event that may answer a waiting reminder.

        Returns ``not_their_device`` (refused: a device speaks only for its own resident),
        ``not_an_answer``, ``no_reminder`` or ``confirmed``; ``duplicate`` when the message
        ``key`` (recorded with ``ts_ms``) was already taken here or by another replica.
        """
        if text is not None and not is_confirmation(text):
            return "not_an_answer"
        named = event if event is not None else confirmed_event(text or "")
        now = self.clock.now_ms()
        with self._change():
            if not self.roster.speaks_for(site, device, resident):
                log.warning("reminder answer refused: not the resident's device",
                            extra=fields(device=device))  # fmt: skip
                return "not_their_device"
            waiting = rdb.waiting(self.store.db, site, resident, now)
            if event is not None or named is not None:
                waiting = [r for r in waiting if r.event == named]
            if not waiting:
                return "no_reminder"
            if key is not None and not self.store.first_sight_of_need(site, key, "reminder", ts_ms):
                return "duplicate"
            for r in waiting:
                rdb.close(self.store.db, r.id, "confirmed", now)
                self._audit(r.id, resident, "confirmed", "mqtt",
                            via="event" if event is not None else "voice")  # fmt: skip
            person = self.roster.resident(site, resident)
            language = resolve_locale(person.language if person is not None else None)
            speaker = self.roster.device(site, resident) or device  # thanked aloud
            self._say_to(site, speaker, waiting[0].id,
                         Translator(language)("device.reminder_thanks"), language)  # fmt: skip
        return "confirmed"

    def remind_appointments(self, appointments: list[Appointment]) -> int:
        """Say every appointment reminder due now (the day before, an hour before), each in
        its own transaction; how many were said or recorded as not said."""
        now = self.clock.now_ms()
        said = 0
        for a in appointments:
            stage = _stage(a.at_ms, now)
            if stage is None:
                continue
            with self._change():
                key = f"{a.id}:{stage}"
                if rdb.seen(self.store.db, a.site, key) or not self.store.first_sight_of_need(
                    a.site, f"{a.resident}:appointment:{key}", "said", a.at_ms
                ):
                    continue  # said already, here or by another replica
                person = self.roster.resident(a.site, a.resident)
                language = resolve_locale(person.language if person is not None else None)
                off = person.profile.utc_offset_min if person is not None else 0
                when = datetime.fromtimestamp(a.at_ms / 1000, UTC).astimezone(
                    timezone(timedelta(minutes=off))
                )
                time = Translator(language).format_skeleton("Hm", when)
                message = f"device.appointment_{stage}" + ("_with" if a.companion else "")
                self._say_reminder(
                    a.site, a.resident, key, "appointment", a.event, message, 0, time=time,
                    place=a.place, companion=a.companion,
                )  # fmt: skip
                said += 1
        return said


def _stage(at_ms: int, now_ms: int) -> str | None:
    """Which reminder of an appointment at ``at_ms`` is due at ``now_ms``: the latest stage
    whose time has come, while the appointment is still ahead."""
    if now_ms >= at_ms:
        return None
    due = [stage for stage, lead in APPOINTMENT_LEADS if now_ms >= at_ms - lead]
    return due[-1] if due else None
