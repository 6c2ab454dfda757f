"""Messages made only of words the assistant has never seen go to the fallback.

Why: the sentence encoder maps everything, keyboard mashing included, to some point in its
space, and the classifier then names an intent with confidence ("kjhsdf" as an answer to "which
day?", "xyz" as a yes). A message none of whose words (nor a near spelling of one) occurs in the
training data cannot be understood, so its intent confidence is set to zero and the
FallbackClassifier asks the person to rephrase. Typos stay understood: a word sharing most of its
letter trigrams with a known word ("perscription") counts as known. Messages without letters
(digits of a date of birth, emoji) are left to the classifier, and an emergency found by the
detector is never touched.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.graph import Graph, PipelineComponent

WORD = re.compile(r"[a-z]+")
KEEP = frozenset({"emergency"})
VOCABULARY_FILE = "vocabulary.json"


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def trigrams(word: str) -> set[str]:
    padded = f"#{word}#"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class Vocabulary:
    """The words of the training data, with a trigram index for near spellings."""

    def __init__(self, known: set[str], min_overlap: float) -> None:
        self.known = frozenset(known)
        self._min_overlap = min_overlap
        self._grams = {word: trigrams(word) for word in self.known}
        self._index: dict[str, set[str]] = defaultdict(set)
        for word, grams in self._grams.items():
            for gram in grams:
                self._index[gram].add(word)

    def knows(self, word: str) -> bool:
        if word in self.known:
            return True
        if len(word) < 4:
            return False  # too short for a spelling to be recognised by its letters
        grams = trigrams(word)
        candidates: set[str] = set()
        for gram in grams:
            candidates |= self._index.get(gram, set())
        return any(
            len(grams & self._grams[c]) / len(grams | self._grams[c]) >= self._min_overlap
            for c in candidates
        )


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class UnknownWordsGuard(PipelineComponent, IntentClassifier):
    """Zeroes the intent confidence of messages with no known word (see the module docstring)."""

    @classmethod
    def required_components(cls) -> list[type]:
        # Placed after the classifiers in config.yml; not declared, because while training
        # this component learns from the data alone and Rasa's check would look for a trained
        # classifier among its inputs.
        return []

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # Jaccard overlap of letter trigrams for a misspelling to count as a known word.
        return {"min_overlap": 0.4}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        known: set[str] | None = None,
    ) -> None:
        self.component_config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._vocabulary = Vocabulary(known or set(), float(self.component_config["min_overlap"]))

    @classmethod
    def from_graph(cls, config: dict[str, Any], graph: Graph, trained: bool) -> UnknownWordsGuard:
        if not trained:
            return cls(config, graph.model_storage, graph.resource)
        with graph.model_storage.read_from(graph.resource) as directory:
            known = set(json.loads((directory / VOCABULARY_FILE).read_text()))
        return cls(config, graph.model_storage, graph.resource, known)

    def train(self, training_data: TrainingData) -> Resource:
        known = set(KEEP)
        for example in training_data.training_examples:
            known.update(words(str(example.get(TEXT) or "")))
        for table in training_data.lookup_tables:
            for element in table.get("elements", []):
                known.update(words(str(element)))
        for synonym in training_data.entity_synonyms:
            known.update(words(str(synonym)))
        with self._model_storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(json.dumps(sorted(known)))
        self._vocabulary = Vocabulary(known, float(self.component_config["min_overlap"]))
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if self.understands_nothing(str(message.get(TEXT) or "")):
                _zero_confidence(message)
        return messages

    def understands_nothing(self, text: str) -> bool:
        found = words(text)
        return bool(found) and not any(self._vocabulary.knows(w) for w in found)


def _zero_confidence(message: Message) -> None:
    intent = message.get(INTENT) or {}
    if intent.get(INTENT_NAME_KEY) == "emergency":
        return
    zero = {INTENT_NAME_KEY: intent.get(INTENT_NAME_KEY), PREDICTED_CONFIDENCE_KEY: 0.0}
    message.set(INTENT, zero, add_to_output=True)
    ranking = [{**r, PREDICTED_CONFIDENCE_KEY: 0.0} for r in message.get(INTENT_RANKING_KEY) or []]
    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
