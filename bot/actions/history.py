"""What the conversation has already done: the latest task, and whom it was for.

Read from the tracker's events, not kept in slots of its own: the latest task form activated,
and the values its slots took before the task's answers were forgotten. Follow-ups ("and
Sofia's?", "what about the biopsy", "is it ready?") build on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Tracker

from bot import forms
from bot.actions.conversation import speaker_or_error
from portal_core.proxy import Capability

# The capability each task form needs.
FORM_CAPABILITY: dict[str, Capability] = forms.form_capability()
# Slots worth carrying from one task to the next.
DETAIL_SLOTS = ("medication", "result_type", "appointment_type", "time")
FOLLOW_UP_WORDS = re.compile(
    r"^\s*(?:and|what about|how about|also|same for|same with|now|ok(?:ay)?,? and|then|plus)\b"
    r"|\b(?:her|his|hers|she|he|their|them|they|it)\b",
    re.I,
)


@dataclass(frozen=True)
class LastTask:
    """The latest task of this conversation: its form, whom it was for, what it settled."""

    form: str
    subject_id: str | None
    subject_name: str | None
    details: dict[str, Any] = field(default_factory=dict)


def last_task(tracker: Tracker) -> LastTask | None:
    """The latest task form activated before this turn, and the non-empty values its slots took."""
    events = list(tracker.events)
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    events = events[: users[-1]] if users else events
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "active_loop" and event.get("name") in FORM_CAPABILITY:
            values: dict[str, Any] = {}
            for later in events[index:]:
                if later.get("event") == "slot" and later.get("value") is not None:
                    values[later["name"]] = later["value"]
            return LastTask(
                form=str(event["name"]),
                subject_id=values.get("subject_id"),
                subject_name=values.get("subject_name"),
                details={k: values[k] for k in DETAIL_SLOTS if k in values},
            )
    return None


def subject_of(tracker: Tracker, task: LastTask) -> str | None:
    """How to name the last task's person to a form: "me", or their first name."""
    speaker, _ = speaker_or_error(tracker)
    if speaker is None or not task.subject_id:
        return None
    if str(speaker.actor.patient_id) == str(task.subject_id):
        return "me"
    return task.subject_name


def is_elliptical(text: str) -> bool:
    """ "and Sofia's?", "what about the biopsy", "is it ready": leans on what came before."""
    return bool(FOLLOW_UP_WORDS.search(text))
