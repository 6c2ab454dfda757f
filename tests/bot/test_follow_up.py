"""The conversation's memory: the last task read back from the events, and offers' lifetimes.

Pure functions over rasa-sdk's own Tracker; the follow-ups themselves are judged end to end by
the task suite (tests/bot/test_tasks.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker

from bot.actions import records  # noqa: F401 - registers the task forms' capabilities
from bot.actions.follow_up import offered_task
from bot.actions.history import is_elliptical, last_task


def user(text: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": "inform"}}}


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def loop(name: str | None) -> dict[str, Any]:
    return {"event": "active_loop", "name": name}


def tracker(events: list[dict[str, Any]], **slots: Any) -> Tracker:
    latest = next((e for e in reversed(events) if e["event"] == "user"), {})
    return Tracker(
        sender_id="web:p1:test",
        slots=slots,
        latest_message={**latest.get("parse_data", {}), "text": latest.get("text", "")},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


RESULTS_FOR_SOFIA = [
    user("show me sofia's labs"),
    loop("results_form"),
    slot("subject_id", "3"),
    slot("subject_name", "Sofia"),
    slot("result_type", "labs"),
    loop(None),
    slot("subject_id", None),
    slot("subject_name", None),
    slot("result_type", None),
]


def test_the_last_task_is_the_latest_form_with_what_it_settled() -> None:
    events = [
        user("refill my lisinopril"),
        loop("refill_form"),
        slot("subject_id", "1"),
        slot("medication", "#4"),
        loop(None),
        *RESULTS_FOR_SOFIA,
        user("and the x-ray?"),
    ]
    task = last_task(tracker(events))
    assert task is not None
    assert (task.form, task.subject_id, task.subject_name) == ("results_form", "3", "Sofia")
    assert task.details == {"result_type": "labs"}


def test_a_form_started_by_this_very_message_is_not_the_last_task() -> None:
    events = [*RESULTS_FOR_SOFIA, user("refill my inhaler"), loop("refill_form")]
    task = last_task(tracker(events))
    assert task is not None and task.form == "results_form"


def test_no_task_yet() -> None:
    assert last_task(tracker([user("hi"), user("and Sofia's?")])) is None


@pytest.mark.parametrize(
    ("text", "leans"),
    [
        ("and Sofia's?", True),
        ("what about the biopsy", True),
        ("how about my daughter's", True),
        ("is it ready?", True),
        ("show me my lab results", False),
        ("refill my lisinopril", False),
    ],
)
def test_elliptical_follow_ups(text: str, leans: bool) -> None:
    assert is_elliptical(text) is leans


def test_a_yes_takes_the_offer_made_in_the_answer_just_before_it() -> None:
    offer = {
        "payload": '/request_renewal{"medication": "sertraline"}',
        "at": 1,
        "presets": {"family_member": "me"},
    }
    right_after = tracker([user("refill my sertraline"), user("yes please")], offer=offer)
    assert offered_task(right_after) == (
        "renewal_form",
        {"medication": "sertraline", "family_member": "me", "renewal_confirmed": True},
    )
    later = tracker([user("refill my sertraline"), user("hours?"), user("yes")], offer=offer)
    assert offered_task(later) is None
    forged = {**offer, "payload": "/emergency"}
    assert offered_task(tracker([user("x"), user("yes")], offer=forged)) is None
