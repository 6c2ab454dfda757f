"""What the tracker stores remember of the turn they just saved, for the voice channel."""

from __future__ import annotations

import asyncio

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import tracker_store
from bot.tracker_store import RedactingInMemoryTrackerStore, TurnState, take_saved_state
from portal_core.config import PROJECT_ROOT

DOMAIN = Domain.load(str(PROJECT_ROOT / "bot" / "domain.yml"))


def _tracker(sender: str, *events: object) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, list(events), DOMAIN.slots)


def test_a_saved_turn_is_told_once_then_forgotten() -> None:
    store = RedactingInMemoryTrackerStore(DOMAIN)
    asking = _tracker(
        "voice:CA1",
        UserUttered("refill my lisinopril", {"name": "request_refill"}),
        ActionExecuted("refill_form"),
        ActiveLoop("refill_form"),
        SlotSet("requested_slot", "dob"),
    )
    asyncio.run(store.save(asking))
    assert take_saved_state("voice:CA1") == TurnState(
        requested_slot="dob", intent="request_refill", active_loop="refill_form"
    )
    assert take_saved_state("voice:CA1") is None  # a later read loads the tracker instead


def test_the_latest_save_of_a_conversation_is_the_one_told() -> None:
    store = RedactingInMemoryTrackerStore(DOMAIN)
    tracker = _tracker("voice:CA2", UserUttered("hello", {"name": "greet"}))
    asyncio.run(store.save(tracker))
    tracker.update(UserUttered("goodbye", {"name": "goodbye"}))
    asyncio.run(store.save(tracker))
    assert take_saved_state("voice:CA2") == TurnState(intent="goodbye")


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracker_store, "MAX_REMEMBERED", 5)
    store = RedactingInMemoryTrackerStore(DOMAIN)

    async def save_all() -> None:
        for n in range(8):
            await store.save(_tracker(f"web-{n}", UserUttered("hi", {"name": "greet"})))

    asyncio.run(save_all())
    assert take_saved_state("web-0") is None  # the oldest went first
    assert [take_saved_state(f"web-{n}") is not None for n in range(3, 8)] == [True] * 5
