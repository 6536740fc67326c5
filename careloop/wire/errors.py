"""The one error a broken payload or topic raises."""

from __future__ import annotations

from careloop.errors import CareloopError


class WireError(CareloopError, ValueError):
    """A topic or payload breaks the wire contract.

    ``field`` names what is wrong as a dotted path (``readings.0.heart_rate``, ``topic``,
    ``payload``) and ``rule`` says which rule it broke, so a dead letter can be counted by
    reason and a device author can fix their firmware from the message alone.
    """

    def __init__(
        self, field: str, rule: str, value: object = None, *, code: str = "invalid"
    ) -> None:
        self.field = field
        self.rule = rule
        self.value = value
        self.code = code
        shown = "" if value is None else f" (got {_short(value)})"
        super().__init__(f"{field}: {rule}{shown}")

    @property
    def description(self) -> str:
        """What is wrong without the value that was sent (it may be a resident's words or a
        vital sign): what dead letters keep and staff read."""
        return f"{self.field}: {self.rule}"

    @property
    def reason(self) -> str:
        """A short, bounded label for metrics and dead letters, e.g. ``less_than_equal:heart_rate``.

        Only field names the contract knows are kept, so a device sending random keys cannot
        blow up the number of metric series.
        """
        from careloop.wire.measures import KNOWN_FIELDS  # local: measures imports nothing of ours

        last = [p for p in self.field.split(".") if not p.isdigit()][-1:] or ["payload"]
        name = last[0] if last[0] in KNOWN_FIELDS else "other"
        return f"{self.code}:{name}"


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
