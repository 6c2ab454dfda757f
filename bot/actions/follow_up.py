"""Conversations, not sentences: follow-ups that lean on the last answer, and yes to an offer.

Patients chain requests. After a refill, "and the cholesterol one?"; after their own
appointments, "what about my daughter's?"; after a lab result, "and the x-ray?". The last task
is read back from the conversation itself (the latest task form and the slots it settled), and an
elliptical follow-up runs that task again with the part it changes: the person, the medication,
the kind of result. Whom it is for is never silently switched back to the speaker: a follow-up
that names nobody is for the person the last task was for.

When the assistant offers something ("I can send a renewal request to Dr Kim"), a yes does
exactly what was offered, for the same person, and counts as the confirmation it asked for.

A clinic's name given on its own ("pediatrics", after "tell me which clinic") is answered with
that clinic's number: the assistant never offers what it can't then do.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import forms
from bot.actions import portal
from bot.actions.base import ConversationAction, Turn
from bot.actions.conversation import channel_of, entity_values, latest_text, speaker_or_error
from bot.actions.history import FORM_CAPABILITY, LastTask, last_task, subject_of
from bot.actions.task_form import TASK_SLOTS, reset_task_slots
from portal_core import clinics, people, records
from portal_core.errors import PortalError
from understanding import relations
from wording.catalogue import render, say_error

FILLER = frozenset({
    "and", "what", "whats", "about", "how", "the", "a", "an", "one", "ones", "my", "her", "his",
    "their", "them", "for", "of", "too", "also", "please", "then", "same", "with", "now", "ok",
    "okay", "so", "is", "it", "its", "that", "this", "s", "do", "does", "did", "can", "could",
    "you", "show", "me", "tell", "give", "see", "check", "pull", "up", "get", "any", "last",
    "week", "from",
})  # fmt: skip
# The form that carries out each task intent a button or an offer can name.
INTENT_FORMS = forms.form_of_intent()
# Saying yes to an offer confirms it: these forms don't ask again.
CONFIRMED_BY_YES = {"renewal_form": "renewal_confirmed"}
OFFER_PAYLOAD = re.compile(r"^/(\w+)(\{.*\})?$", re.S)


def follow_up_events(tracker: Tracker) -> list[EventType] | None:
    """The events that run the last task again with the part this message changes, or None
    when the message changes nothing the last task knows about (it isn't a follow-up)."""
    if tracker.active_loop_name:
        return None
    task = last_task(tracker)
    speaker, _ = speaker_or_error(tracker)
    if task is None or speaker is None or not speaker.premium:
        return None
    text = latest_text(tracker)[:300]
    capability = FORM_CAPABILITY[task.form]
    person: str | None = None
    ambiguous = False
    try:
        member = people.resolve_family_member(
            portal.database(), speaker.actor, text, now=portal.now(), capability=capability
        )
        person = "me" if member.is_self else member.first_name
    except people.AmbiguousFamilyMember:
        ambiguous = True
    except PortalError:
        person = None
    before = subject_of(tracker, task)
    same_person = person is None and not ambiguous
    details = _changed_details(tracker, task, text, same_person)
    if same_person and not details:
        return None
    events: list[EventType] = [*reset_task_slots(), SlotSet("task_request", text)]
    who = before if same_person else person
    if who:
        events.append(SlotSet("family_member", who))
    carried = dict(task.details)
    if not same_person:
        carried.pop("medication", None)
    carried.update(details)
    events += [SlotSet(name, value) for name, value in carried.items()]
    events.append(FollowupAction(task.form))
    return events


def _changed_details(
    tracker: Tracker, task: LastTask, text: str, same_person: bool
) -> dict[str, Any]:
    """What the follow-up changes besides the person: a medication, a kind of result."""
    if task.form in ("refill_form", "renewal_form"):
        named = entity_values(tracker, "medication")
        if named:
            return {"medication": named[0][:100]}
        return {"medication": text} if _has_content(tracker, text) else {}
    if task.form == "results_form":
        return {"result_type": text} if records.find_result_type(text) else {}
    if task.form == "book_appointment_form":
        kinds = entity_values(tracker, "appointment_type")
        return {"appointment_type": kinds[0][:100]} if kinds else {}
    return {}


def _has_content(tracker: Tracker, text: str) -> bool:
    """Words besides fillers and people ("the cholesterol one" has; "and Sofia's?" hasn't)."""
    words = re.findall(r"[a-z]+", text.lower().replace("'s", ""))
    speaker, _ = speaker_or_error(tracker)
    names: set[str] = set()
    if speaker is not None:
        family = people.family_members(portal.database(), speaker.actor, now=portal.now())
        names = {m.first_name.lower() for m in family}
        names |= {f"{n}s" for n in names}
    kin = relations.relation_words()
    return any(w not in FILLER and w not in names and w not in kin for w in words)


# A person and a kind of record, in words the model may not know ("sofias shots"): the task that
# shows it. Refills before medications, so "sofias refill" is a refill.
RECORD_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\b(?:shots?|vaccines?|vaccinations?|immuni[sz]ations?)\b", re.I),
        "immunizations_form",
    ),
    (re.compile(r"\brefills?\b", re.I), "refill_form"),
    (
        re.compile(
            r"\b(?:meds?|medications?|(?<!family )(?<!internal )medicines?|prescriptions?)\b", re.I
        ),
        "medications_form",
    ),
    (re.compile(r"\b(?:appts?|appointments?|visits?)\b", re.I), "appointments_form"),
)


def record_request_events(tracker: Tracker) -> list[EventType] | None:
    """ "sofias shots", "isabellas labs": a family member's record the model didn't recognise
    as a request runs the task that shows it, for that person; None when it isn't one."""
    if tracker.active_loop_name:
        return None
    text = latest_text(tracker)[:300]
    form = next((f for pattern, f in RECORD_WORDS if pattern.search(text)), None)
    if form is None and records.find_result_type(text) is not None:
        form = "results_form"
    if form is None or len(text.split()) > 8:
        return None
    speaker, _ = speaker_or_error(tracker)
    if speaker is None and channel_of(tracker) in ("sms", "voice"):
        # Not verified yet: the task asks who is calling first, then reads whom it names.
        return [*reset_task_slots(), SlotSet("task_request", text), FollowupAction(form)]
    if speaker is None or not speaker.premium:
        return None
    try:
        member = people.resolve_family_member(
            portal.database(),
            speaker.actor,
            text,
            now=portal.now(),
            capability=FORM_CAPABILITY[form],
        )
    except PortalError:
        return None
    who = "me" if member.is_self else member.first_name
    return [
        *reset_task_slots(),
        SlotSet("task_request", text),
        SlotSet("family_member", who),
        FollowupAction(form),
    ]


class ActionFollowUp(ConversationAction):
    """Details with no task pending: a follow-up to the last task, a clinic's name, or the menu."""

    action_name = "action_follow_up"

    def respond(self, turn: Turn) -> list[EventType]:
        events = follow_up_events(turn.tracker)
        if events is not None:
            return events
        if answer_clinic_number(turn.dispatcher, turn.tracker):
            return []
        events = record_request_events(turn.tracker)
        if events is not None:
            return events
        turn.say(response="utter_help")
        return []


def answer_clinic_number(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """A clinic named on its own gets its number (clinic numbers are public: no sign-in)."""
    named = entity_values(tracker, "clinic")
    text = " ".join(named) if named else latest_text(tracker)
    if not text or len(text) > 100:
        return False
    try:
        clinic = clinics.find_clinic(portal.database(), text)
    except clinics.AmbiguousClinic as exc:
        if not named:
            return False
        dispatcher.utter_message(text=say_error(exc))
        return True
    except PortalError:
        return False
    dispatcher.utter_message(
        text=render(
            "clinic.hours", clinic=clinic.name, facility=clinic.facility, phone=clinic.phone
        )
    )
    return True


# ---- yes to the assistant's own offer ------------------------------------------------------


def user_turns(tracker: Tracker) -> int:
    return sum(1 for e in tracker.events if e.get("event") == "user")


def offer(tracker: Tracker, payload: str, **presets: Any) -> SlotSet:
    """Remember what the assistant just offered, so that a yes to it does exactly that."""
    return SlotSet("offer", {"payload": payload, "at": user_turns(tracker), "presets": presets})


def offered_task(tracker: Tracker) -> tuple[str, dict[str, Any]] | None:
    """(form, slots) of the offer made in the assistant's last answer, or None."""
    made = tracker.get_slot("offer")
    if not isinstance(made, dict) or made.get("at") != user_turns(tracker) - 1:
        return None
    match = OFFER_PAYLOAD.match(str(made.get("payload") or ""))
    if not match or match.group(1) not in INTENT_FORMS:
        return None
    form = INTENT_FORMS[match.group(1)]
    try:
        slots = json.loads(match.group(2)) if match.group(2) else {}
    except ValueError:
        slots = {}
    presets = made.get("presets") or {}
    if not isinstance(slots, dict) or not isinstance(presets, dict):
        return None
    slots.update(presets)
    if form in CONFIRMED_BY_YES:
        slots[CONFIRMED_BY_YES[form]] = True
    return form, slots


class ActionAcceptOffer(ConversationAction):
    """Yes with no question pending: do what the assistant just offered, or show the menu."""

    action_name = "action_accept_offer"

    def respond(self, turn: Turn) -> list[EventType]:
        found = offered_task(turn.tracker)
        if found is None:
            turn.say(response="utter_help")
            return [SlotSet("offer", None)]
        form, slots = found
        events: list[EventType] = [*reset_task_slots(), SlotSet("offer", None)]
        events.append(SlotSet("task_request", latest_text(turn.tracker)[:300]))
        events += [SlotSet(name, value) for name, value in slots.items() if name in TASK_SLOTS]
        events.append(FollowupAction(form))
        return events
