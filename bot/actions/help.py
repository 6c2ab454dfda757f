"""Fallback, hand-off to a person, leaving a task, and record corrections."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet

from bot.actions import portal
from bot.actions.base import ConversationAction, Turn
from bot.actions.conversation import channel_of, speaker_or_error
from bot.actions.follow_up import follow_up_events, record_request_events
from bot.actions.task_form import reset_task_slots
from portal_core import people
from portal_core.errors import PortalError
from wording.catalogue import render


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many user turns in a row (this one included) the assistant did not understand."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != "nlu_fallback":
            break
        count += 1
    return count


def clinic_contact(tracker: Tracker) -> tuple[str, str] | None:
    """(clinic name, phone) of the verified speaker's primary care clinic, if known."""
    speaker, _ = speaker_or_error(tracker)
    if speaker is None:
        return None
    try:
        team = people.find_pcm(portal.database(), speaker.actor, speaker.actor.patient_id)
    except PortalError:
        return None
    return team.clinic_name, team.clinic_phone


# Form questions whose answers the form validators read from the words, whatever the intent.
READ_AS_TEXT = frozenset(
    {
        "for_whom",
        "medication",
        "pharmacy",
        "clinic",
        "appointment_type",
        "time",
        "recipient",
        "message_body",
        "dob",
        "dod_last4",
    }
)


class ActionDefaultFallback(ConversationAction):
    """First ask to rephrase, then offer the menu, then a person."""

    action_name = "action_default_fallback"

    def respond(self, turn: Turn) -> list[EventType]:
        tracker = turn.tracker
        if tracker.active_loop_name and tracker.get_slot("requested_slot") in READ_AS_TEXT:
            # A name, a medication or a day the model never saw is still an answer: the form
            # reads the words themselves and says what it found, or what it couldn't.
            return []
        if not tracker.active_loop_name:
            # "what about my daughter's?": not a sentence the model knows, but a follow-up.
            following = follow_up_events(tracker)
            if following is None:  # "sofias shots": a person and a record, in unknown words
                following = record_request_events(tracker)
            if following is not None:
                return following
        strikes = consecutive_fallbacks(tracker)
        if strikes <= 1:
            turn.say(render("fallback.rephrase"))
        elif strikes == 2:
            turn.say(render("fallback.still_unsure"))
            turn.say(response="utter_help")
        else:
            turn.say(_handoff_text(tracker))
        # Inside a form, the rules run the form again next and it repeats its question.
        return []


def _handoff_text(tracker: Tracker) -> str:
    contact = clinic_contact(tracker)
    if contact:
        name, phone = contact
        return render("handoff.clinic", clinic=name, phone=phone)
    return render("handoff.general")


class ActionHumanHandoff(ConversationAction):
    action_name = "action_human_handoff"

    def respond(self, turn: Turn) -> list[EventType]:
        contact = clinic_contact(turn.tracker)
        data: dict[str, Any] = {"handoff": True}
        if contact:
            data["dial"] = contact[1]
        turn.say(_handoff_text(turn.tracker), json_message=data)
        return [ActiveLoop(None), SlotSet("requested_slot", None), *reset_task_slots()]


class ActionStopTask(ConversationAction):
    action_name = "action_stop_task"

    def respond(self, turn: Turn) -> list[EventType]:
        turn.say(render("task.stopped"))
        return [ActiveLoop(None), SlotSet("requested_slot", None), *reset_task_slots()]


class ActionRecordCorrection(ConversationAction):
    """Corrections go to the care team by secure message, never to technical support."""

    action_name = "action_record_correction"

    def respond(self, turn: Turn) -> list[EventType]:
        turn.say(render("record_correction.intro", channel_of(turn.tracker)))
        return [SlotSet("message_category", "record_correction"), SlotSet("recipient", "care team")]
