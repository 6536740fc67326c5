"""Where each store lives: the one place a file name is joined to ``data_dir``.

:attr:`careloop.settings.Settings.paths` builds a :class:`Paths` from the settings: a setting
that names a file wins, else the file lives under ``data_dir``. No other module joins
``data_dir`` with a file name, so two processes given the same settings never disagree
about where the people database or the alert store is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Paths:
    """Where each store lives: the one place a file name is joined to ``data_dir``."""

    data_dir: Path
    #: The people database (also the device registry, tokens, audit of reads, receipts).
    people: Path
    #: The alert service's store (alerts, audit, timers, outboxes).
    alerts: Path
    #: Ingest's dead letters and its disk spool (one folder per client id).
    deadletters: Path
    #: With dead letters on PostgreSQL: those held while the server is away (ingest.held).
    deadletters_held: Path
    spool: Path
    #: The scorer's snapshots and need outboxes (one pair per partition).
    score: Path
    #: Edge agents' durable outboxes (one file per device).
    edge: Path
    #: Mosquitto's password and ACL files that provisioning writes.
    password_file: Path
    acl_file: Path
    #: Simulators' scenario labels.
    sim: Path
    #: Secrets made at first start, owner-only, never committed: the Web Push (VAPID)
    #: signing key, and the key that signs e-mail accept/decline links.
    vapid_key: Path
    link_key: Path
