"""The pipeline's emergency layer decides in both directions, whatever the classifier said."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.emergency_detector import EmergencyDetector


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
