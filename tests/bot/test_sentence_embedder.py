"""The sentence encoder: the pinned model, its features, and what it is for (paraphrases)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.sentence_embedder import (
    MINILM_SHA256,
    EmbeddingModelError,
    SentenceEmbeddingFeaturizer,
    default_model_dir,
    verify_weights,
)


@pytest.fixture(scope="module")
def featurizer() -> SentenceEmbeddingFeaturizer:
    return SentenceEmbeddingFeaturizer({"scale": 10.0}, "embedder")


def sentence_vector(featurizer: SentenceEmbeddingFeaturizer, text: str) -> np.ndarray:
    message = Message(data={TEXT: text})
    featurizer.process([message])
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence is None  # only sentence features: the CRF keeps its own token features
    return sentence.features[0]


def test_the_installed_weights_are_the_pinned_model() -> None:
    verify_weights(default_model_dir(), MINILM_SHA256)


def test_other_weights_refuse_to_load(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(default_model_dir(), model)
    with (model / "model.safetensors").open("r+b") as weights:
        weights.seek(-1, 2)
        last = weights.read(1)
        weights.seek(-1, 2)
        weights.write(bytes([last[0] ^ 1]))
    with pytest.raises(EmbeddingModelError, match="refusing"):
        SentenceEmbeddingFeaturizer({"model_dir": str(model)}, "embedder")


def test_missing_weights_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelError, match="No sentence-encoder weights"):
        verify_weights(tmp_path, MINILM_SHA256)


def test_a_sentence_becomes_one_scaled_unit_vector(
    featurizer: SentenceEmbeddingFeaturizer,
) -> None:
    vector = sentence_vector(featurizer, "can i get my inhaler refilled")
    assert vector.shape == (384,)
    assert np.linalg.norm(vector) == pytest.approx(10.0, rel=1e-4)


def test_paraphrases_are_closer_than_other_requests(
    featurizer: SentenceEmbeddingFeaturizer,
) -> None:
    """What the encoder is for: words we never trained on still land near their meaning."""

    def cosine(a: str, b: str) -> float:
        x, y = sentence_vector(featurizer, a), sentence_vector(featurizer, b)
        return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))

    refill = "refill my blood pressure pills"
    assert cosine(refill, "im almost out of my bp meds") > cosine(refill, "cancel my appointment")
    doctor = "who is my primary care manager"
    assert cosine(doctor, "which doctor am i assigned to") > cosine(doctor, "show my lab results")


def test_training_data_and_odd_input_are_featurized(
    featurizer: SentenceEmbeddingFeaturizer,
) -> None:
    texts = ["hi", "🙂🙂🙂", "a" * 10_000, "'; DROP TABLE patients; --", "x " * 3000]
    data = TrainingData([Message(data={TEXT: t, "intent": "greet"}) for t in texts])
    featurizer.process_training_data(data)
    for message in data.training_examples:
        _, sentence = message.get_dense_features(TEXT)
        assert sentence.features.shape == (1, 384)
        assert np.isfinite(sentence.features).all()


def test_a_non_positive_scale_is_refused() -> None:
    with pytest.raises(EmbeddingModelError, match="scale"):
        SentenceEmbeddingFeaturizer.validate_config({"scale": 0})


def test_a_text_seen_again_is_not_encoded_again_and_gets_the_same_features() -> None:
    featurizer = SentenceEmbeddingFeaturizer({"scale": 10.0, "recent_texts": 2}, "embedder")
    encoded: list[str] = []
    encode = featurizer._encoder.encode

    def counting(texts: list[str]) -> np.ndarray:
        encoded.extend(texts)
        return encode(texts)

    featurizer._encoder.encode = counting  # type: ignore[method-assign]
    first = sentence_vector(featurizer, "yes")
    again = sentence_vector(featurizer, "yes")
    assert encoded == ["yes"]
    assert np.array_equal(first, again)
    # A batch of a known and a new text encodes only the new one, each with its own vector.
    known, new = Message(data={TEXT: "yes"}), Message(data={TEXT: "my meds ran out"})
    featurizer.process([known, new])
    assert encoded == ["yes", "my meds ran out"]
    assert np.array_equal(known.get_dense_features(TEXT)[1].features[0], first)
    fresh = SentenceEmbeddingFeaturizer({"scale": 10.0, "recent_texts": 0}, "embedder")
    assert np.allclose(
        new.get_dense_features(TEXT)[1].features[0], sentence_vector(fresh, "my meds ran out")
    )
    # Bounded: the least recently used text goes first.
    sentence_vector(featurizer, "no")
    assert len(featurizer._recent) == 2
    sentence_vector(featurizer, "yes")
    assert encoded[-1] == "yes"  # evicted by "no" after "my meds ran out", so encoded again


@pytest.mark.parametrize(
    "text", ["05/21/1999", "4418", "+12545550101", "my dob is may 21st 1999", "x" * 41]
)
def test_identity_answers_and_long_messages_are_not_kept(text: str) -> None:
    featurizer = SentenceEmbeddingFeaturizer({"scale": 10.0}, "embedder")
    sentence_vector(featurizer, text)
    assert len(featurizer._recent) == 0
