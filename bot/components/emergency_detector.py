"""The deterministic emergency layer of the NLU pipeline.

It sits after the intent classifier and before the FallbackClassifier and asks
`portal_core.safety.detect` about every message from every channel. The detector decides in both
directions: a finding forces the intent `emergency` (confidence 1.0, first in the ranking, with an
`emergency_kind` entity); no finding means the classifier may not say `emergency` either, so the
machine-learned parts can neither miss nor invent an emergency.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
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

from portal_core import safety

EMERGENCY_INTENT = "emergency"
KIND_ENTITY = "emergency_kind"
FALLBACK_INTENT = "nlu_fallback"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class EmergencyDetector(GraphComponent, IntentClassifier):
    """Overrides the intent with `emergency` exactly when the safety detector finds one."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    def __init__(self, config: dict[str, Any]) -> None:
        self.component_config = config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmergencyDetector:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            finding = safety.detect(text)
            if finding is not None:
                _force_emergency(message, finding)
            else:
                _forbid_emergency(message)
        return messages


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
