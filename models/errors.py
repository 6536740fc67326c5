"""The models package's exceptions (re-exported by :mod:`models.base`)::

    CareloopError
    └── ModelError          bad parameters, unfitted use, unusable model or state files
        ├── NotFittedError  a batch model used before ``fit``
        └── StateError      a snapshot that cannot be read: malformed, or another version's

They live in a module of their own so that :mod:`models.state` (which raises StateError)
and :mod:`models.base` (which reads detector snapshots through it) need not import each other.
"""

from __future__ import annotations

from careloop.errors import CareloopError


class ModelError(CareloopError):
    """Base of model errors: bad parameters, unfitted use, an unreadable snapshot."""


class NotFittedError(ModelError):
    """A batch model was used before ``fit``."""


class StateError(ModelError):
    """A state file (snapshot) that cannot be restored, and why.

    ``stale`` is True when the file is intact but was written by another careloop version
    (an older pickle-based snapshot, another format version): expected after an upgrade,
    where a corrupt or doctored file is not.
    """

    def __init__(self, where: str, reason: str, *, stale: bool = False) -> None:
        self.where = where
        self.reason = reason
        self.stale = stale
        super().__init__(f"{where}: {reason}")
