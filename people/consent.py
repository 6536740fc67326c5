"""Consent at the channel: what each outbound channel may carry about a resident
(:func:`disclosure`), and whose words may be stored (:class:`ConsentCache`).

Every outbound channel (page, e-mail, webhook, spoken message, status page, log, public
board) asks :func:`disclosure` what it may carry for this resident and this reader; nothing
health-related leaves without that answer.

Words. Edge agents drop utterance ``text`` unless the device was configured with the resident's
consent, but a misconfigured or tampered device could still send it. Ingest therefore
stores ``text`` only where the people database's ``consents`` row for (site, resident) says
``store_utterance_text = 1``; everywhere else the text is dropped before the point is built
and only counted (``careloop_ingest_utterance_text_dropped_total``), never logged.

Cost on the hot path: only utterance messages ask, and each asks one ``PRAGMA
data_version`` (microseconds, no disk read unless another process committed) plus a dict
lookup; an answer is cached per resident until any process commits to the file. So a
consent withdrawn a moment ago applies to the very next utterance.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from careloop.store import Store
from people.errors import PeopleError
from people.model import Consent
from people.store.base import MIGRATIONS, SCHEMA


class ConsentCache(Store):
    """``allows_text(site, resident)``, cached per resident; thread-safe."""

    error = PeopleError
    label = "consents"
    pg_schema = "people"
    migrations = MIGRATIONS

    def __init__(self, path: Path, *, url: str = "") -> None:
        super().__init__(path, SCHEMA, url=url, synchronous=None)
        self._allowed: dict[tuple[str, str], bool] = {}
        self._version: int | None = None

    def allows_text(self, site: str, resident: str) -> bool:
        """Whether utterance text of ``resident`` at ``site`` may be stored.

        No consent row or an unreadable file both mean no: the safe direction is to keep
        features only.
        """
        key = (site, resident)
        try:
            with self.reading() as db:
                version = self.data_version(db)
                if version != self._version:
                    self._allowed.clear()
                    self._version = version
                known = self._allowed.get(key)
                if known is not None:
                    return known
                row = db.execute(
                    "SELECT store_utterance_text FROM consents WHERE site = ? AND resident = ?",
                    key,
                ).fetchone()
                allowed = bool(row and row[0])
                if len(self._allowed) >= 100_000:
                    self._allowed.clear()
                self._allowed[key] = allowed
                return allowed
        except PeopleError:  # a locked or unreadable file
            return False


# -- what each channel may carry ------------------------------------------------------------
#: Who reads a channel: care staff of the site, a volunteer, an external system (the emergency
#: webhook), a family member, the public, or the logs.
Reader = Literal["staff", "volunteer", "external", "family", "public", "log"]


@dataclass(frozen=True, slots=True)
class Disclosure:
    """What one message on one channel may carry about one resident.

    * ``resident``: the resident's id (who: enough to find them on the roster);
    * ``identity``: their name, room or address, language, care-profile notes;
    * ``health``: what the need is (kind), its summary and evidence, vitals;
    * ``words``: what they said (utterance text).

    Urgency (the tier and its deadline) and the alert's own opaque id are always carried:
    a volunteer must know how fast to answer even when they may know nothing else.
    """

    resident: bool
    identity: bool
    health: bool
    words: bool


NOTHING = Disclosure(resident=False, identity=False, health=False, words=False)


def disclosure(consent: Consent | None, reader: Reader) -> Disclosure:
    """The one answer every outbound channel asks before carrying anything about a resident
    (pages, e-mails, webhooks, spoken messages, status pages, logs, the public board).

    Staff of the resident's site see everything but words the resident did not let be
    stored. Volunteers see the resident (id, name, language) only with
    ``share_with_volunteers`` and what the need is only with ``share_vitals_with_volunteers``.
    An external system (the emergency webhook) gets what the volunteers would. A family
    contact (the weekly report, docs/reports.md) sees the resident only with
    ``share_reports_with_family`` and their health (vitals, activity, needs) only with
    ``share_vitals_with_family`` too; never words. Logs and the public get no resident and
    no health facts, ever. ``consent=None`` (none recorded) means everything is withheld
    that a consent would allow.
    """
    c = consent
    words = bool(c and c.store_utterance_text)
    if reader == "staff":
        return Disclosure(resident=True, identity=True, health=True, words=words)
    if reader in ("volunteer", "external"):
        shared = bool(c and c.share_with_volunteers)
        vitals = bool(c and c.share_vitals_with_volunteers)
        return Disclosure(
            resident=shared, identity=shared, health=shared and vitals, words=shared and words
        )
    if reader == "family":
        family = bool(c and c.share_reports_with_family)
        vitals = bool(c and c.share_vitals_with_family)
        return Disclosure(resident=family, identity=family, health=family and vitals, words=False)
    return NOTHING
