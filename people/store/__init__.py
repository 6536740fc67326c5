"""The people database: :class:`Directory` joins the record families, one file, one lock.

::

    DirectoryBase   base.py        the file, schema, migrations, paging, site scoping
    ├── Sites       sites.py       sites
    ├── Residents   residents.py   residents, care profiles, consents, speaking devices
    ├── Volunteers  volunteers.py  volunteers, rotations, overrides
    ├── Tokens      tokens.py      API tokens, audit of reads
    ├── Reach       reach.py       "I'm available / not now", Web Push subscriptions
    └── SignIns     signin.py      the app's one-time sign-in codes and links

Thread-safe; use as a context manager or call ``close()``. The device registry
(:class:`people.devices.DeviceRegistry`) is a second view of the same file, kept apart
because ingest reads it on its hot path from memory.
"""

from __future__ import annotations

from people.store.base import MAX_LIMIT, DirectoryBase
from people.store.reach import PushSubscription, Reach
from people.store.residents import Residents
from people.store.signin import SignIn, SignIns, TooManySignIns
from people.store.sites import Sites
from people.store.tokens import Tokens, hash_token
from people.store.volunteers import Volunteers


class Directory(Sites, Residents, Volunteers, Tokens, Reach, SignIns, DirectoryBase):
    """Everything careloop knows about people, in one SQLite file."""


__all__ = [
    "MAX_LIMIT",
    "Directory",
    "PushSubscription",
    "SignIn",
    "TooManySignIns",
    "hash_token",
]
