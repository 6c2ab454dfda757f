"""A database outage during an action: one polite answer, nothing said half-way, nothing kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet

from bot.actions import portal
from bot.actions.medications import ActionRequestRefill, ValidateRefillForm
from bot.actions.outage import guard_all, reopen_form
from portal_core import web_tokens
from portal_core.errors import Unavailable
from tests.bot.harness import Conversation
from wording.catalogue import say_error

OUTAGE = say_error(Unavailable())  # what every channel says while the database is down


@pytest.fixture
def unreachable_portal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A portal database that can't be opened (its directory doesn't exist)."""
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'portal.db'}")
    portal.reset_for_tests()
    yield
    portal.reset_for_tests()


def test_every_action_of_ours_is_guarded() -> None:
    assert guard_all() == []  # importing bot.actions already guarded them all
    assert getattr(ValidateRefillForm.run, "__genesis_guarded__", False)
    assert getattr(ActionRequestRefill.run, "__genesis_guarded__", False)


def test_a_validator_says_try_again_shortly_and_forgets_the_answer(
    unreachable_portal: None,
) -> None:
    talk = Conversation("web-outage", {"portal_token": web_tokens.issue_token(1, "premium")})
    talk.user(
        "refill my lisinopril", intent="request_refill", entities={"medication": "lisinopril"}
    )
    said = talk.run(ValidateRefillForm())
    assert [m["text"] for m in said] == [OUTAGE]
    assert "try again shortly" in OUTAGE
    assert talk.slots["medication"] is None  # asked again, never kept unchecked


def test_a_submit_action_says_try_again_shortly_and_returns_no_events(
    unreachable_portal: None,
) -> None:
    talk = Conversation("web-outage-2", {"portal_token": web_tokens.issue_token(1, "premium")})
    talk.slots.update(medication="#1", refill_confirmed=True, subject_id="1")
    talk.user("yes", intent="affirm")
    said = talk.run(ActionRequestRefill())
    assert [m["text"] for m in said] == [OUTAGE]


def tracker_with(events: list[dict]) -> Tracker:
    return Tracker("web-x", {}, {}, events, False, None, {}, "action_listen")


FINISHED_THIS_TURN = [
    {"event": "user", "text": "refill my lisinopril"},
    {"event": "active_loop", "name": "refill_form"},
    {"event": "slot", "name": "requested_slot", "value": "pharmacy"},
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "the usual"},
    {"event": "slot", "name": "requested_slot", "value": "refill_confirmed"},
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "yes"},
    {"event": "slot", "name": "refill_confirmed", "value": True},
    {"event": "active_loop", "name": None},
    {"event": "slot", "name": "requested_slot", "value": None},
]


def test_a_task_that_could_not_reach_the_database_reopens_its_form_at_the_last_question() -> None:
    events = reopen_form(tracker_with(FINISHED_THIS_TURN))
    assert events == [
        ActiveLoop("refill_form"),
        SlotSet("refill_confirmed", None),
        SlotSet("requested_slot", "refill_confirmed"),
        FollowupAction("action_listen"),
    ]


def test_a_form_that_finished_in_an_earlier_turn_is_left_alone() -> None:
    later = [*FINISHED_THIS_TURN, {"event": "action", "name": "action_listen"}]
    later.append({"event": "user", "text": "where is my refill"})
    assert reopen_form(tracker_with(later)) == []
