"""Speech models: care intents and distress from text (where consented), agitation from how
a resident speaks against their own baseline (always, and the only path without consent).

* :class:`CareIntentClassifier` - help / pain / low mood / confusion / request / complaint /
  praise / neutral, in English and Chinese (Traditional and Simplified, Mandarin and
  Cantonese), fitted on our own corpus (:func:`default_intent_classifier`).
* :class:`DistressTextClassifier` - sadness or fear vs the rest, fitted on labelled lines
  (``careloop eval utterances``).
* :class:`SpeechAgitationDetector` - streaming, per resident, acoustic features only.
* :class:`UtteranceAssessor` - one resident's utterances -> :class:`UtteranceAssessment`.
"""

from models.speech.agitation import FEATURES, SpeechAgitationDetector, speech_features
from models.speech.artefact import default_intent_classifier
from models.speech.assess import UtteranceAssessment, UtteranceAssessor
from models.speech.cues import CueFeatures
from models.speech.distress import DistressTextClassifier, best_f1_threshold
from models.speech.intent import (
    INTENTS,
    NOT_NEEDS,
    CareIntentClassifier,
    Intent,
    IntentAssessment,
)
from models.speech.text import (
    LANGS,
    IntentLine,
    Lang,
    LexiconFeatures,
    fold_chinese,
    load_distress_lexicon,
    load_intent_corpus,
    mark_negation,
    normalise_lang,
)

__all__ = [
    "FEATURES",
    "INTENTS",
    "LANGS",
    "NOT_NEEDS",
    "CareIntentClassifier",
    "CueFeatures",
    "DistressTextClassifier",
    "Intent",
    "IntentAssessment",
    "IntentLine",
    "Lang",
    "LexiconFeatures",
    "SpeechAgitationDetector",
    "UtteranceAssessment",
    "UtteranceAssessor",
    "best_f1_threshold",
    "default_intent_classifier",
    "fold_chinese",
    "load_distress_lexicon",
    "load_intent_corpus",
    "mark_negation",
    "normalise_lang",
    "speech_features",
]
