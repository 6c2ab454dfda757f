"""The pipeline's emergency layer decides in both directions, whatever the classifier said."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from bot.components.emergency_detector import EmergencyDetector
from portal_core import safety

NLU_DATA = Path(__file__).resolve().parents[2] / "bot" / "data" / "nlu"


def classified(text: str, intent: str, confidence: float = 0.9) -> Message:
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set(
        "intent_ranking",
        [
            {"name": intent, "confidence": confidence},
            {"name": "check_results", "confidence": 0.05},
        ],
    )
    message.set("entities", [])
    return message


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("i cant breathe", "medical"),
        ("my husband collapsed and wont wake up", "medical"),
        ("i want to end my life", "crisis"),
    ],
)
def test_a_finding_forces_emergency(text: str, kind: str) -> None:
    message = classified(text, "book_appointment")
    EmergencyDetector({}).process([message])
    assert message.get("intent") == {"name": "emergency", "confidence": 1.0}
    assert message.get("intent_ranking")[0]["name"] == "emergency"
    [entity] = [e for e in message.get("entities") if e["entity"] == "emergency_kind"]
    assert entity["value"] == kind
    assert text[entity["start"] : entity["end"]]


def test_the_fallback_classifier_after_it_never_undoes_an_emergency() -> None:
    """A confident classifier (a long booking message) once left the runner-up within the
    FallbackClassifier's ambiguity threshold of the forced emergency: "say that another way"."""
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier

    message = classified("book an appointment, my husband is not breathing", "book_appointment")
    message.set("intent_ranking", [{"name": "book_appointment", "confidence": 0.999}])
    EmergencyDetector({}).process([message])
    fallback = FallbackClassifier.create(
        {**FallbackClassifier.get_default_config(), "threshold": 0.4, "ambiguity_threshold": 0.1},
        None,  # type: ignore[arg-type]
        Resource("fallback"),
        None,  # type: ignore[arg-type]
    )
    fallback.process([message])
    assert message.get("intent")["name"] == "emergency"


@pytest.mark.parametrize(
    "text", ["refill my nitroglycerin", "i'm dying to know if my results are in"]
)
def test_no_finding_forbids_emergency(text: str) -> None:
    message = classified(text, "emergency", 0.8)
    EmergencyDetector({}).process([message])
    assert message.get("intent")["name"] == "check_results"
    assert all(r["name"] != "emergency" for r in message.get("intent_ranking"))


def test_ordinary_messages_are_left_alone() -> None:
    message = classified("book a physical", "book_appointment")
    EmergencyDetector({}).process([message])
    assert message.get("intent")["name"] == "book_appointment"


def _training_examples() -> list[tuple[str, str]]:
    """Every NLU training example as (intent, plain text), read by Rasa's own loader."""
    data = load_data(str(NLU_DATA))
    return [(str(m.get("intent")), str(m.get("text"))) for m in data.intent_examples]


def test_the_detector_agrees_with_every_training_example() -> None:
    """The detector overrules the classifier both ways, so an `emergency` example it misses
    would be answered as something else in production, and a benign example it catches would be
    answered with 911: the lexicon and the training data must agree on every line."""
    examples = _training_examples()
    assert len(examples) > 1000
    missed = [t for i, t in examples if i == "emergency" and safety.detect(t) is None]
    caught = [t for i, t in examples if i != "emergency" and safety.detect(t) is not None]
    assert missed == []
    assert caught == []
