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


class RedactingInMemoryTrackerStore(InMemoryTrackerStore):
    """Rasa's embedded default, minus identity answers."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        redact_identity_answers(tracker)
        await super().save(tracker)


class RedactingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store (PostgreSQL in production), minus identity answers.

    It inserts only the events it has not stored yet, and redaction happens before that insert,
    so an identity answer never reaches the database at all.
    """

    async def save(self, tracker: DialogueStateTracker) -> None:
        redact_identity_answers(tracker)
        await super().save(tracker)
