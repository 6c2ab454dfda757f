"""Tracker stores that never keep what a caller typed to prove who they are.

A phone or SMS caller answers "What's your date of birth?" and "the last four digits of your DoD
ID" in plain text; Rasa keeps every user message in the tracker for as long as the conversation
lives (in PostgreSQL in production). Once the form's validator has read the answer in the turn
it arrived, nothing needs it again: the verification itself lives in portal_core, and the
pending date of birth is sealed in the slot (`bot/actions/sealed.py`). So before a turn is
stored, every user message that answered an identity question loses its text and entities.

Configured in the endpoints file (`tracker_store: type: bot.tracker_store.Redacting...`); the
embedded default is the in-memory store, production the SQL one (`deploy/`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

IDENTITY_SLOTS = frozenset({"dob", "dod_last4"})
REDACTED = "[identity answer removed]"


def redact_identity_answers(tracker: DialogueStateTracker) -> int:
    """Blank every user message sent while the form was asking for an identity detail."""
    requested: Any = None
    redacted = 0
    for event in tracker.events:
        if isinstance(event, SlotSet) and event.key == "requested_slot":
            requested = event.value
        elif (
            isinstance(event, UserUttered)
            and requested in IDENTITY_SLOTS
            and event.text != REDACTED
        ):
            event.text = REDACTED
            event.entities = []
            event.parse_data["text"] = REDACTED
            event.parse_data["entities"] = []
            redacted += 1
    return redacted


@dataclass(frozen=True)
class TurnState:
    """Where a conversation stood when this process last saved it: what the voice channel
    needs after a turn (is a form asking for digits? did the caller say goodbye?)."""

    requested_slot: str | None = None
    intent: str | None = None
    active_loop: str | None = None

    @classmethod
    def of(cls, tracker: DialogueStateTracker) -> TurnState:
        slot = tracker.get_slot("requested_slot")
        latest = tracker.latest_message
        intent = (latest.intent or {}).get("name") if latest else None
        return cls(
            requested_slot=slot if isinstance(slot, str) else None,
            intent=intent if isinstance(intent, str) else None,
            active_loop=tracker.active_loop_name,
        )


MAX_REMEMBERED = 4096
_saved: OrderedDict[str, TurnState] = OrderedDict()


def _remember(tracker: DialogueStateTracker) -> None:
    _saved[tracker.sender_id] = TurnState.of(tracker)
    _saved.move_to_end(tracker.sender_id)
    while len(_saved) > MAX_REMEMBERED:
        _saved.popitem(last=False)


def take_saved_state(conversation_id: str) -> TurnState | None:
    """The state this process saved last for `conversation_id`, once (then forgotten).

    Read right after a turn this process ran, it is that turn's end: the voice channel asks it
    instead of loading the whole tracker back from the store. None when this process didn't
    save the conversation (the caller then loads the tracker)."""
    return _saved.pop(conversation_id, None)


class RedactingInMemoryTrackerStore(InMemoryTrackerStore):
    """Rasa's embedded default, minus identity answers."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        redact_identity_answers(tracker)
        await super().save(tracker)
        _remember(tracker)


class RedactingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store (PostgreSQL in production), minus identity answers.

    It inserts only the events it has not stored yet, and redaction happens before that insert,
    so an identity answer never reaches the database at all.
    """

    async def save(self, tracker: DialogueStateTracker) -> None:
        redact_identity_answers(tracker)
        await super().save(tracker)
        _remember(tracker)
