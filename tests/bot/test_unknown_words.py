"""The unknown-words guard: keyboard mashing goes to the fallback, typos and digits do not."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.unknown_words import UnknownWordsGuard

EXAMPLES = {
    "request_refill": ["i need a prescription refill", "refill my lisinopril"],
    "affirm": ["yes", "sure"],
    "book_appointment": ["book an appointment for tomorrow"],
}


def classified(text: str, intent: str = "affirm") -> Message:
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": 0.87})
    message.set("intent_ranking", [{"name": intent, "confidence": 0.87}])
    return message


@pytest.fixture
def trained(tmp_path: Path) -> tuple[UnknownWordsGuard, LocalModelStorage, Resource]:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("guard")
    guard = UnknownWordsGuard.create({}, storage, resource, None)  # type: ignore[arg-type]
    data = TrainingData(
        [Message(data={"text": t, "intent": i}) for i, ts in EXAMPLES.items() for t in ts],
        lookup_tables=[{"name": "medication", "elements": ["metformin", "sertraline"]}],
    )
    guard.train(data)
    return guard, storage, resource


@pytest.mark.parametrize("text", ["glorp", "kjhsdf kjhsdf", "xyz", "qqqq wwww"])
def test_nothing_known_means_no_confidence(trained: tuple, text: str) -> None:
    guard, _, _ = trained
    [message] = guard.process([classified(text)])
    assert message.get("intent")["confidence"] == 0.0
    assert message.get("intent")["name"] == "affirm"  # the fallback reports what it overrode
    assert all(r["confidence"] == 0.0 for r in message.get("intent_ranking"))


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "perscription refil",  # misspellings of known words
        "apointment tomorow",
        "sertralin",  # a near spelling of a lookup-table medication
        "metformin",
        "yes xyzzy",  # one known word is enough
        "1984-09-11",  # no letters: digits are left to the classifier
        "👍",
    ],
)
def test_known_words_typos_and_digits_are_left_alone(trained: tuple, text: str) -> None:
    guard, _, _ = trained
    [message] = guard.process([classified(text)])
    assert message.get("intent")["confidence"] == 0.87


def test_an_emergency_is_never_touched(trained: tuple) -> None:
    guard, _, _ = trained
    [message] = guard.process([classified("zzzz qqqq", intent="emergency")])
    assert message.get("intent") == {"name": "emergency", "confidence": 0.87}


def test_the_vocabulary_survives_saving_and_loading(trained: tuple) -> None:
    _, storage, resource = trained
    loaded = UnknownWordsGuard.load({}, storage, resource, None)  # type: ignore[arg-type]
    assert loaded.understands_nothing("glorp")
    assert not loaded.understands_nothing("refill please")
