"""Satisfaction with the care received, for the report's satisfaction section.

The answers live in the alert store's ``ratings`` table (docs/tickets.md): the resident's
own (voice device or button) and each family member's. The report shows how many were
scored in the week and their mean; never the words (stored only under the resident's text
consent) nor the kinds of the needs rated, so every reader the resident shares the report
with may see it (``people.consent.disclosure``: identity is enough).
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.satisfaction import resident_ratings
from alerts.store import AlertStore


@dataclass(frozen=True, slots=True)
class Satisfaction:
    """Answers in the week and their mean score (1 to 5)."""

    answers: int
    mean: float


def satisfaction(
    store: AlertStore, site: str, resident: str, start_ms: int, end_ms: int
) -> Satisfaction | None:
    """The week's scored answers for this resident, or None when there are none (questions
    left unanswered are not answers)."""
    answers, mean, _ = resident_ratings(store, site, resident, start_ms, end_ms)
    return Satisfaction(answers, mean) if answers and mean is not None else None
