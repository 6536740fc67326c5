"""Distress text classifier and the ``careloop eval utterances`` pipeline, on synthetic lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.base import ModelError
from models.evaluation import utterances
from models.speech import DistressTextClassifier, LexiconFeatures, best_f1_threshold
from tests.models.cases_speech import corpus_sample


def _distress_lines(seed: int, lang: str) -> tuple[list[str], np.ndarray]:
    texts, labels = corpus_sample(seed, per_intent=40, langs=(lang,))
    keep = [i for i, v in enumerate(labels) if v in ("low_mood", "neutral", "confusion")]
    return [texts[i] for i in keep], np.array([labels[i] == "low_mood" for i in keep])


def test_best_f1_threshold() -> None:
    y = np.array([False, False, True, True, False, True])
    s = np.array([0.1, 0.2, 0.7, 0.9, 0.6, 0.65])
    assert best_f1_threshold(y, s) == pytest.approx(0.65)


def test_lexicon_features_count_whole_english_words_and_chinese_substrings() -> None:
    en = LexiconFeatures(lang="en").fit([])
    rows = en.transform(["I am so scared and afraid", "a scarecrow"]).toarray()
    fear = en.categories_.index("fear")
    assert rows[0, 2 * fear] == pytest.approx(2 / 3) and rows[1, 2 * fear + 1] == 0.0
    zh = LexiconFeatures(lang="zh").fit([])
    assert zh.transform(["我好害怕"]).toarray()[0, 2 * zh.categories_.index("fear") + 1] == 1.0
    with pytest.raises(ValueError, match="lexicon"):
        LexiconFeatures(lang="fr").fit([])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_distress_classifier_separates_held_out_low_mood(lang: str) -> None:
    texts, y = _distress_lines(0, lang)
    rng = np.random.default_rng(0)
    test = rng.random(len(texts)) < 0.3
    model = DistressTextClassifier(lang=lang).fit(
        [t for t, k in zip(texts, test, strict=True) if not k], y[~test]
    )
    assert model.C_ in model.Cs and 0.0 < model.threshold_ < 1.0
    scores = model.score_samples([t for t, k in zip(texts, test, strict=True) if k])
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y[test], scores) >= 0.75
    assert set(model.predict(texts[:5])) <= {True, False}


def test_distress_classifier_rejects_bad_input() -> None:
    with pytest.raises(ModelError, match="lang"):
        DistressTextClassifier(lang="fr").fit(["a"] * 6, [True, False] * 3)
    with pytest.raises(ModelError, match="each class"):
        DistressTextClassifier().fit(["a", "b", "c", "d"], [True, False, False, False])


def test_near_duplicate_groups_join_script_variants_only() -> None:
    texts = ["他不在这里", "他不在這里", "今天天气真好", "你会在莫斯科逗留多久", "完全不同的一句话"]
    groups = utterances.near_duplicate_groups(texts, "zh")
    assert groups[0] == groups[1]
    assert len(set(groups)) == 4


def test_evaluate_runs_on_a_small_file_of_the_same_layout(tmp_path: Path) -> None:
    rows = ["id\tlang\ttext\tlabels\tsource"]
    for lang in ("en", "zh"):
        texts, labels = corpus_sample(1, per_intent=20, langs=(lang,))
        for i, (text, intent) in enumerate(zip(texts, labels, strict=True)):
            label = {"low_mood": "sadness", "help": "fear"}.get(intent, "joy")
            rows.append(f"{lang}{i}\t{lang}\t{text}\t{label},trust\tsynthetic")
    (tmp_path / "utterances.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = utterances.evaluate(tmp_path, seed=0, progress=False)
    for key in ("distress_auroc_en", "distress_auroc_zh", "distress_f1_en", "distress_f1_zh"):
        assert 0.0 <= out[key] <= 1.0
    assert out["n_en"] == out["n_zh"] == 100
    # 80 training lines a fold, two intents as one positive class: well above chance only
    assert out["distress_auroc_en"] > 0.6 and out["distress_auroc_zh"] > 0.6
    assert out["dedup_groups_zh"] <= out["n_zh"]
