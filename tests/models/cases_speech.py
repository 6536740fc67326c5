"""Generic-suite cases for the speech models, on seeded synthetic data.

* care intents: a balanced set drawn from our corpus with spoken fillers added, labelled with
  intent codes (0 = neutral, so "in need" is the code cast to bool; praise, which needs nothing
  but is not code 0, is left out of this set);
* distress text: Chinese low-mood and pain lines (positive) against neutral ones;
* agitation: one resident's utterance stream whose speech rate and pitch jump in episodes,
  with repeated questions during some of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.speech import (
    INTENTS,
    CareIntentClassifier,
    DistressTextClassifier,
    SpeechAgitationDetector,
    load_intent_corpus,
)
from tests.models.checks import Case

_FILLERS = {
    "en": (("", ""), ("well, ", ""), ("oh ", ""), ("", ", you know"), ("um, ", " please")),
    "zh": (("", ""), ("哎，", ""), ("嗯，", ""), ("", "啊"), ("那个，", "呀")),
}
#: The intents the distress tests were written for (the corpus has three more).
FIVE_INTENTS = ("neutral", "help", "pain", "low_mood", "confusion")


def corpus_sample(
    seed: int,
    per_intent: int = 24,
    langs: tuple[str, ...] = ("en", "zh"),
    intents: tuple[str, ...] = FIVE_INTENTS,
) -> tuple[list[str], list[str]]:
    """``per_intent`` lines per intent per language from the corpus, with random fillers.

    "zh" pools both Chinese scripts (zh-Hant and zh-Hans lines)."""
    rng = np.random.default_rng(seed)
    rows = load_intent_corpus()
    texts: list[str] = []
    labels: list[str] = []
    for intent in intents:
        for lang in langs:
            pool = [r.text for r in rows if r.intent == intent and r.lang.startswith(lang)]
            for i in rng.choice(len(pool), size=per_intent, replace=False):
                before, after = _FILLERS[lang][int(rng.integers(len(_FILLERS[lang])))]
                texts.append(f"{before}{pool[int(i)]}{after}")
                labels.append(intent)
    return texts, labels


def intent_data(seed: int) -> tuple[list[str], list[int]]:
    texts, labels = corpus_sample(seed, intents=tuple(i for i in INTENTS if i != "praise"))
    return texts, [INTENTS.index(label) for label in labels]


def distress_data(seed: int) -> tuple[list[str], list[bool]]:
    texts, labels = corpus_sample(seed, per_intent=30, langs=("zh",))
    keep = [i for i, label in enumerate(labels) if label in ("low_mood", "pain", "neutral")]
    return [texts[i] for i in keep], [labels[i] != "neutral" for i in keep]


def agitation_stream(seed: int) -> list[tuple[dict[str, Any], bool]]:
    """400 utterances of a calm speaker (3.0 syllables/s, 150 Hz, -32 dBFS); after the first
    100, five episodes of 8 utterances at ~5 syllables/s and raised pitch, repeated questions
    in half of each episode."""
    rng = np.random.default_rng(seed)
    n = 400
    agitated = np.zeros(n, dtype=bool)
    for start in rng.choice(np.arange(100, n - 8, 20), size=5, replace=False):
        agitated[start : start + 8] = True
    out = []
    for i in range(n):
        hot = bool(agitated[i])
        x = {
            "speech_rate": round(float(rng.normal(5.0 if hot else 3.0, 0.35)), 2),
            "pitch_hz": round(float(rng.normal(185.0 if hot else 150.0, 10.0)), 1),
            "energy_db": round(float(rng.normal(-27.0 if hot else -32.0, 2.5)), 1),
            "duration_s": round(float(rng.uniform(0.8, 4.0)), 2),
            "repeated_question": bool(hot and rng.random() < 0.5),
        }
        out.append((x, hot))
    return out


CASES = [
    Case(
        name="speech_care_intents",
        kind="batch",
        make=lambda seed: CareIntentClassifier(random_state=seed),
        data=intent_data,
        min_auroc=0.9,
    ),
    Case(
        name="speech_distress_text_zh",
        kind="batch",
        make=lambda seed: DistressTextClassifier(lang="zh", random_state=seed),
        data=distress_data,
        min_auroc=0.9,
    ),
    Case(
        name="speech_agitation",
        kind="stream",
        make=lambda seed: SpeechAgitationDetector(),
        data=agitation_stream,
        min_auroc=0.9,
    ),
]
