"""Evaluation of careloop's models on real labelled data and simulated scenarios.

Each task is a module here with ``evaluate(data: Path, *, seed: int, progress: bool) ->
dict``: it fits whatever it fits on ``data`` only (cross-validation), never on a fixed file,
so the same command works on another split of the same layout. The one exception is
``intents``: it scores the *shipped* care-intent classifier (fitted on our own corpus) on the
given lines, and cross-validates on the corpus with ``--cv``. ``careloop eval <task>`` prints
the returned dict as one JSON object.
"""

#: task name -> module implementing ``evaluate``.
TASKS: dict[str, str] = {
    "nab": "models.evaluation.nab",
    "icu": "models.evaluation.icu",
    "icu-runtime": "models.evaluation.icu_runtime",
    "adl": "models.evaluation.adl",
    "utterances": "models.evaluation.utterances",
    "scenarios": "models.evaluation.scenarios",
    "intents": "models.evaluation.intents",
}
