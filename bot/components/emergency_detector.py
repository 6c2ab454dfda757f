"""The emergency layer of the NLU pipeline: the lexicon and the learned check, both ways.

It sits after the intent classifier and before the FallbackClassifier and asks two questions of
every message from every channel: `portal_core.safety.detect` (the deterministic lexicon) and,
when that finds nothing, `portal_core.safety_semantic` (a classifier over the sentence embedding
the SentenceEmbeddingFeaturizer already computed for this message, so it costs a dot product).
Their union decides in both directions: a finding forces the intent `emergency` (confidence 1.0,
first in the ranking, with an `emergency_kind` entity); no finding means the intent classifier
may not say `emergency` either, so the trained intent model can neither miss nor invent one.

The component must run after the sentence embedder (the graph validator enforces it). A message
without the embedding (a pipeline built without it) is judged by the lexicon alone.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.components.graph import Graph, PipelineComponent
from bot.components.sentence_embedder import (
    FEATURE_ORIGIN,
    MINILM_SHA256,
    SentenceEmbeddingFeaturizer,
)
from portal_core import safety, safety_semantic

EMERGENCY_INTENT = "emergency"
KIND_ENTITY = "emergency_kind"
FALLBACK_INTENT = "nlu_fallback"

log = logging.getLogger(__name__)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class EmergencyDetector(PipelineComponent, IntentClassifier):
    """Overrides the intent with `emergency` exactly when the safety layers find one."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier, SentenceEmbeddingFeaturizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # The learned layer beside the lexicon; false leaves the lexicon alone to decide.
            "semantic": True,
            # Its weights; None means portal_core/data/safety_semantic.json.
            "semantic_model": None,
        }

    def __init__(self, config: dict[str, Any]) -> None:
        self.component_config = {**self.get_default_config(), **config}
        self._model: safety_semantic.SemanticModel | None = None
        if self.component_config["semantic"]:
            path = self.component_config["semantic_model"]
            self._model = safety_semantic.load(
                Path(path) if path else safety_semantic.MODEL_PATH, MINILM_SHA256
            )
        self._warned = False

    @classmethod
    def from_graph(cls, config: dict[str, Any], graph: Graph, trained: bool) -> EmergencyDetector:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            finding = safety_semantic.detect(text, self._embedding(message), self._model)
            if finding is not None:
                _force_emergency(message, finding)
            else:
                _forbid_emergency(message)
        return messages

    def _embedding(self, message: Message) -> np.ndarray | None:
        """The sentence embedding the SentenceEmbeddingFeaturizer added to this message."""
        if self._model is None or not message.get(TEXT):
            return None
        _, sentence = message.get_dense_features(TEXT, [FEATURE_ORIGIN])
        if sentence is None:
            if not self._warned:
                log.warning("EmergencyDetector: no sentence embedding; the lexicon decides alone")
                self._warned = True
            return None
        return np.asarray(sentence.features).reshape(-1)


# Every other intent is demoted below this, so the FallbackClassifier's ambiguity check (top
# two within `ambiguity_threshold`) can never turn an emergency into "say that another way":
# a long message the classifier reads confidently as a booking, with "my husband is not
# breathing" at its end, once did exactly that.
DEMOTED_MAX = 0.5


def _force_emergency(message: Message, finding: safety.Finding) -> None:
    ranking = [
        {
            **r,
            PREDICTED_CONFIDENCE_KEY: min(float(r.get(PREDICTED_CONFIDENCE_KEY) or 0), DEMOTED_MAX),
        }
        for r in (message.get(INTENT_RANKING_KEY) or [])
        if r.get(INTENT_NAME_KEY) != EMERGENCY_INTENT
    ]
    top = {INTENT_NAME_KEY: EMERGENCY_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
    message.set(INTENT, top, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)
    entities = [e for e in (message.get(ENTITIES) or []) if e.get("entity") != KIND_ENTITY]
    entities.append(
        {
            "entity": KIND_ENTITY,
            "value": finding.kind,
            "start": finding.start,
            "end": finding.end,
            "confidence_entity": 1.0,
            "extractor": "EmergencyDetector",
        }
    )
    message.set(ENTITIES, entities, add_to_output=True)


def _forbid_emergency(message: Message) -> None:
    intent = message.get(INTENT) or {}
    if intent.get(INTENT_NAME_KEY) != EMERGENCY_INTENT:
        return
    ranking = [
        r
        for r in (message.get(INTENT_RANKING_KEY) or [])
        if r.get(INTENT_NAME_KEY) != EMERGENCY_INTENT
    ]
    # The next-best intent keeps its own confidence, so the FallbackClassifier after us still
    # turns a weak guess into a request to rephrase.
    replacement = (
        ranking[0] if ranking else {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: 0.0}
    )
    message.set(INTENT, dict(replacement), add_to_output=True)
    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
    entities = [e for e in (message.get(ENTITIES) or []) if e.get("entity") != KIND_ENTITY]
    message.set(ENTITIES, entities, add_to_output=True)
