"""Booking, cancelling, rescheduling and listing appointments: thin adapters on scheduling.

Slot values the form has validated carry a `#` and an id ("#12"); anything else in those slots
is what the person said and still needs resolving through portal_core.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions import portal
from bot.actions.base import ConversationAction, TaskAction, TaskTurn, Turn
from bot.actions.conversation import (
    entity_values,
    latest_text,
    speaker_or_error,
    usable,
    value_before_turn,
)
from bot.actions.follow_up import offer
from bot.actions.records import who_for
from bot.actions.task_form import TaskFormValidator, look_up, subject_id, yes_no
from portal_core import clinics, people, scheduling
from portal_core.actors import Actor
from portal_core.clinics import AppointmentTypeView, ClinicView, to_local
from portal_core.errors import PortalError, SlotUnavailable
from understanding import choices
from understanding.when import When, parse_when, with_time_of_day
from wording.catalogue import (
    appointment_summary,
    asked_days,
    offered_time,
    render,
    say_error,
    with_article,
)

REQUEST = "request"


def canonical(value: object) -> int | None:
    text = str(value or "")
    return int(text[1:]) if text.startswith("#") and text[1:].isdigit() else None


def appointment_type_of(value: object) -> AppointmentTypeView:
    db = portal.database()
    wanted = canonical(value)
    if wanted is not None:
        return next(t for t in clinics.appointment_types(db) if t.id == wanted)
    return clinics.find_appointment_type(db, str(value))


def clinic_of(value: object) -> ClinicView:
    db = portal.database()
    if value is None or not str(value).strip():
        raise clinics.ClinicNotFound(key="ask.clinic")
    wanted = canonical(value)
    if wanted is not None:
        return next(c for c in clinics.list_clinics(db) if c.id == wanted)
    return clinics.find_clinic(db, str(value))


def when_of(tracker: Tracker) -> When:
    clinic = clinic_of(tracker.get_slot("clinic"))
    return parse_when(str(tracker.get_slot("time")), clinic.time_zone, now=portal.now())


def offered_ids(tracker: Tracker) -> list[str]:
    return [str(o) for o in (tracker.get_slot("offered") or [])]


def current_offer(tracker: Tracker) -> list[scheduling.SlotView]:
    """The times offered last, looked up (not searched for again)."""
    ids = [int(o) for o in offered_ids(tracker) if o.isdigit()]
    return scheduling.offered_slots(portal.database(), ids)


def slot_title(slot: scheduling.SlotView) -> str:
    """How an offered time reads: two offered times never read the same."""
    return offered_time(slot)


def slot_options(slots: list[scheduling.SlotView]) -> list[choices.Option]:
    return [
        choices.Option(s.id, to_local(s.time_zone, s.starts_at), s.provider_name) for s in slots
    ]


def read_slot_pick(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> tuple[choices.Pick, dict[str, Any]]:
    """What the latest message did with the offered times, and the slots that follow from it.

    A button's payload picks its time; words are read by `understanding.choices`. Out of range,
    several fits or no fit is said here and the offer is shown again (narrowed to the times that
    fit); a new day ("no, Thursday") searches again.
    """
    offered = offered_ids(tracker)
    for value in entity_values(tracker, "choice"):
        if value == REQUEST:
            return choices.Pick(choices.NONE_OF_THESE), {"slot_choice": REQUEST}
        if value in offered:
            return choices.Pick(choices.CHOSEN, (int(value),)), {"slot_choice": value}
    text = latest_text(tracker)
    offer = current_offer(tracker)
    pick = choices.pick_option(text, slot_options(offer))
    count = len(offer)
    if pick.kind == choices.CHOSEN:
        return pick, {"slot_choice": str(pick.chosen)}
    if pick.kind == choices.NONE_OF_THESE:
        return pick, {"slot_choice": REQUEST}
    if pick.kind == choices.OUT_OF_RANGE:
        dispatcher.utter_message(text=render("choice.pick_from", count=count))
        return pick, {"slot_choice": None}
    if pick.kind == choices.AMBIGUOUS:
        dispatcher.utter_message(text=render("choice.several_fit"))
        return pick, {"slot_choice": None, "offered": [str(i) for i in pick.option_ids]}
    if pick.kind == choices.NOT_A_CHOICE or choices.names_a_day(text):
        new_time = _new_day(tracker, text)
        if new_time:
            return pick, {"time": new_time, "slot_choice": None, "offered": None}
    if pick.kind == choices.NO_MATCH:
        dispatcher.utter_message(text=render("choice.not_offered", count=count))
        return pick, {"slot_choice": None}
    return pick, {}


def _new_day(tracker: Tracker, text: str) -> str | None:
    """`text` as a new time to search ("no, Thursday"), or None when it names no day."""
    try:
        clinic = clinic_of(tracker.get_slot("clinic"))
        parse_when(text, clinic.time_zone, now=portal.now())
    except (PortalError, StopIteration):
        return None
    return text[:200]


def chosen_from_list(tracker: Tracker, options: list[choices.Option]) -> str | None:
    """An appointment picked from a list: its button, its number, its day, time or clinician."""
    offered = offered_ids(tracker)
    for value in entity_values(tracker, "choice"):
        if value in offered:
            return value
    pick = choices.pick_option(latest_text(tracker), options)
    return str(pick.chosen) if pick.kind == choices.CHOSEN else None


class SlotPicking:
    """Shared by booking and rescheduling: a time window, then one of the offered times."""

    def extract_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") == "time":
            return {"time": latest_text(tracker)[:200]}
        return {}

    def validate_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        choosing = requested in ("slot_choice", "booking_confirmed")
        if choosing and value != latest_text(tracker)[:200]:
            # "8:30 am please", "Friday works best" pick from the offer: a time in a choice is
            # not a new window to search (a new day is, and comes whole from the choice).
            return {"time": value_before_turn(tracker, "time")}
        if requested != "time":
            # Said with the request ("next week, afternoon if possible"): the model may have
            # caught only "next week"; the part of the day the message asked for is kept too.
            value = with_time_of_day(str(value), latest_text(tracker))
        if canonical(tracker.get_slot("clinic")) is None:
            return {"time": str(value)}  # checked once the clinic (and its time zone) is known
        try:
            clinic = clinic_of(tracker.get_slot("clinic"))
            parse_when(str(value), clinic.time_zone, now=portal.now())
        except (PortalError, StopIteration) as exc:
            message = (
                say_error(exc) if isinstance(exc, PortalError) else render("booking.day_unread")
            )
            dispatcher.utter_message(text=message)
            return {"time": None}
        if _keeps_request(tracker):
            return {"time": str(value)}
        return {"time": str(value), "slot_choice": None, "offered": None}

    def extract_slot_choice(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "slot_choice":
            return {}
        _, slots = read_slot_pick(dispatcher, tracker)
        return slots

    def validate_slot_choice(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"slot_choice": None}
        offered = offered_ids(tracker)
        if value == REQUEST or str(value) in offered:
            return {"slot_choice": str(value)}
        return {"slot_choice": None}

    def extract_booking_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes books; a plain no doesn't. "No, I said 10" picks again: a correction never
        cancels the request, it re-selects (and asks again), or searches the day it names."""
        if tracker.get_slot("requested_slot") != "booking_confirmed":
            return {}
        answer = yes_no(tracker)
        if answer is True:
            return {"booking_confirmed": True}
        pick, slots = read_slot_pick(dispatcher, tracker)
        if pick.kind == choices.CHOSEN and slots.get("slot_choice") != tracker.get_slot(
            "slot_choice"
        ):
            return {**slots, "booking_confirmed": None}
        if slots and pick.kind != choices.CHOSEN:
            return {**slots, "booking_confirmed": None}
        return {} if answer is None else {"booking_confirmed": answer}


def _keeps_request(tracker: Tracker) -> bool:
    """A request-only type keeps its 'request' choice when the person names another day."""
    return tracker.get_slot("slot_choice") == REQUEST and not tracker.get_slot("offered")


class ValidateBookAppointmentForm(SlotPicking, TaskFormValidator):
    form = "book_appointment_form"

    def on_subject(self, tracker: Tracker, member: people.FamilyMemberView) -> dict[str, Any]:
        if tracker.get_slot("clinic"):
            return {}
        speaker, _ = speaker_or_error(tracker)
        if speaker is None:
            return {}
        home = people.primary_clinic(
            portal.database(), speaker.actor, member.patient_id, now=portal.now()
        )
        return {"clinic": f"#{home.id}"} if home else {}

    def extract_appointment_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") == "appointment_type":
            found = [v for v in entity_values(tracker, "appointment_type") if usable(v)]
            return {"appointment_type": (found[0] if found else latest_text(tracker))[:100]}
        return {}

    def validate_appointment_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if canonical(value) is not None:
            return {"appointment_type": value}
        if usable(value) is None:  # a filler word the entity extractor mistook for a type
            value = latest_text(tracker)
        found = look_up(dispatcher, lambda: appointment_type_of(value))
        if found is None:
            return {"appointment_type": None}
        return {"appointment_type": f"#{found.id}", **self._mode(tracker, type_id=found.id)}

    def extract_clinic(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") == "clinic":
            return {"clinic": latest_text(tracker)[:100]}
        return {}

    def validate_clinic(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if canonical(value) is not None:
            return {"clinic": value, **self._mode(tracker, clinic_id=canonical(value))}
        if usable(value) is None:
            return {"clinic": None}
        found = look_up(dispatcher, lambda: clinic_of(value))
        if found is None:
            return {"clinic": None}
        return {"clinic": f"#{found.id}", **self._mode(tracker, clinic_id=found.id)}

    def _mode(
        self, tracker: Tracker, *, clinic_id: int | None = None, type_id: int | None = None
    ) -> dict[str, Any]:
        """A request-only type at this clinic skips offering times: the clinic will call."""
        clinic_id = clinic_id or canonical(tracker.get_slot("clinic"))
        type_id = type_id or canonical(tracker.get_slot("appointment_type"))
        if not clinic_id or not type_id:
            return {}
        try:
            mode = clinics.booking_mode(portal.database(), clinic_id, type_id)
        except PortalError:
            return {}
        if mode == "request_only":
            return {"slot_choice": REQUEST, "offered": []}
        return {"slot_choice": None} if tracker.get_slot("slot_choice") == REQUEST else {}


class AppointmentPicking:
    """Shared by rescheduling and cancelling: which one of the patient's upcoming appointments
    (none ends the task, a single one is chosen without asking)."""

    def on_subject(self, tracker: Tracker, member: people.FamilyMemberView) -> dict[str, Any]:
        return _one_appointment_or_none(tracker, member)

    def extract_appointment_choice(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _extract_appointment_choice(tracker)


class ValidateRescheduleAppointmentForm(SlotPicking, AppointmentPicking, TaskFormValidator):
    form = "reschedule_appointment_form"

    def validate_appointment_choice(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        chosen = _validate_appointment_choice(value, tracker)
        if chosen is None:
            return {"appointment_choice": None}
        return {
            "appointment_choice": str(chosen.id),
            "clinic": f"#{chosen.clinic_id}",
            "appointment_type": f"#{chosen.appointment_type_id}",
            "offered": None,  # the list of appointments; times are offered next
        }


class ValidateCancelAppointmentForm(AppointmentPicking, TaskFormValidator):
    form = "cancel_appointment_form"

    def validate_appointment_choice(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        chosen = _validate_appointment_choice(value, tracker)
        return {"appointment_choice": str(chosen.id) if chosen else None}


class ValidateAppointmentsForm(TaskFormValidator):
    form = "appointments_form"


def _upcoming(tracker: Tracker, patient_id: int) -> list[scheduling.AppointmentView]:
    speaker, _ = speaker_or_error(tracker)
    if speaker is None:
        return []
    return scheduling.upcoming(portal.database(), speaker.actor, patient_id, now=portal.now())


def _one_appointment_or_none(tracker: Tracker, member: people.FamilyMemberView) -> dict[str, Any]:
    """Nothing to change ends the task; a single appointment is chosen without asking."""
    upcoming = _upcoming(tracker, member.patient_id)
    if not upcoming:
        who = "You have" if member.is_self else f"{member.first_name} has"
        return {"task_abandoned": True, "offered": [], "_say": f"{who} no upcoming appointments."}
    offered = [str(a.id) for a in upcoming[:5]]
    if len(upcoming) == 1:
        return {"offered": offered, "appointment_choice": offered[0]}
    return {"offered": offered}


def _extract_appointment_choice(tracker: Tracker) -> dict[str, Any]:
    if tracker.get_slot("requested_slot") != "appointment_choice":
        return {}
    listed = [
        a for a in _upcoming(tracker, subject_id(tracker)) if str(a.id) in offered_ids(tracker)
    ]
    options = [
        choices.Option(a.id, to_local(a.time_zone, a.starts_at), a.provider_name) for a in listed
    ]
    choice = chosen_from_list(tracker, options)
    if choice:
        return {"appointment_choice": choice}
    # "the dentist one", "the wellness exam": match words against the listed appointments.
    text = latest_text(tracker).lower()
    matches = [
        a
        for a in listed
        if any(w in appointment_summary(a).lower() for w in re.findall(r"[a-z]{4,}", text))
    ]
    return {"appointment_choice": str(matches[0].id)} if len(matches) == 1 else {}


def _validate_appointment_choice(value: Any, tracker: Tracker) -> scheduling.AppointmentView | None:
    for appointment in _upcoming(tracker, subject_id(tracker)):
        if str(appointment.id) == str(value):
            return appointment
    return None


# ---- asking -----------------------------------------------------------------------------------

YES_NO = [
    {"title": render("button.yes"), "payload": "/affirm"},
    {"title": render("button.no"), "payload": "/deny"},
]


class ActionAskAppointmentType(ConversationAction):
    action_name = "action_ask_appointment_type"

    def respond(self, turn: Turn) -> list[EventType]:
        common = ("wellness", "follow", "acute", "physical", "well-child", "behavioral")
        types = [
            t
            for t in clinics.appointment_types(portal.database())
            if any(word in t.name.lower() for word in common)
        ]
        turn.say(
            render("ask.appointment_type"),
            buttons=[{"title": t.name, "payload": t.name} for t in types[:6]],
        )
        return []


class ActionAskSlotChoice(ConversationAction):
    """Offers up to three open times, widening the search once before offering a request.

    When the times on offer still stand (the answer was out of range, or fitted several), they
    are shown again rather than searched for again.
    """

    action_name = "action_ask_slot_choice"

    def respond(self, turn: Turn) -> list[EventType]:
        tracker = turn.tracker
        speaker, _ = speaker_or_error(tracker)
        if speaker is None:
            return []
        standing = current_offer(tracker) if offered_ids(tracker) else []
        if standing:
            turn.say(render("choice.which_of_these"), buttons=_buttons(standing))
            return [SlotSet("offered", [str(slot.id) for slot in standing])]
        try:
            clinic = clinic_of(tracker.get_slot("clinic"))
            kind = appointment_type_of(tracker.get_slot("appointment_type"))
            when = when_of(tracker)
            found = self._search(speaker.actor, tracker, clinic, kind, when, widen=False)
            visit = kind.name.lower()
            lead = render("booking.times_lead", visit=visit, clinic=clinic.name)
            if not found:
                found = self._search(speaker.actor, tracker, clinic, kind, when, widen=True)
                lead = render(
                    "booking.nearest_times_lead",
                    when=asked_days(when),
                    visit=visit,
                    clinic=clinic.name,
                )
        except scheduling.RequestOnly as exc:
            turn.say(say_error(exc))
            return [SlotSet("slot_choice", REQUEST), SlotSet("offered", [])]
        except (PortalError, StopIteration) as exc:
            turn.say(
                say_error(exc) if isinstance(exc, PortalError) else render("booking.search_again")
            )
            return [SlotSet("time", None), SlotSet("requested_slot", "time")]
        if not found:
            turn.say(
                render("booking.none_in_window", kind=kind.name.lower(), clinic=clinic.name),
                buttons=[
                    {
                        "title": render("booking.request_button"),
                        "payload": '/inform{"choice": "request"}',
                    },
                    {"title": render("booking.never_mind_button"), "payload": "/deny"},
                ],
            )
            return [SlotSet("offered", [])]
        turn.say(lead, buttons=_buttons(found))
        return [SlotSet("offered", [str(slot.id) for slot in found])]

    @staticmethod
    def _search(
        actor: Actor,
        tracker: Tracker,
        clinic: ClinicView,
        kind: AppointmentTypeView,
        when: When,
        *,
        widen: bool,
    ) -> list[scheduling.SlotView]:
        """The window asked for; widened, the four weeks from its start, still at the part of
        the day asked for (every constraint the patient gave is kept)."""
        return scheduling.find_open_slots(
            portal.database(),
            actor,
            subject_id(tracker),
            clinic_id=clinic.id,
            type_id=kind.id,
            window_start=when.start,
            window_end=None if widen else when.end,
            time_of_day=when.time_of_day,
            limit=3,
            spread_days=True,
            now=portal.now(),
        )


def _buttons(slots: list[scheduling.SlotView]) -> list[dict[str, str]]:
    buttons = [
        {"title": slot_title(slot), "payload": f'/inform{{"choice": "{slot.id}"}}'}
        for slot in slots
    ]
    buttons.append(
        {"title": render("booking.none_of_these_button"), "payload": '/inform{"choice": "request"}'}
    )
    return buttons


class ActionAskBookingConfirmed(ConversationAction):
    action_name = "action_ask_booking_confirmed"

    def respond(self, turn: Turn) -> list[EventType]:
        tracker = turn.tracker
        who = _who(tracker)
        try:
            clinic = clinic_of(tracker.get_slot("clinic"))
            kind = appointment_type_of(tracker.get_slot("appointment_type"))
        except (PortalError, StopIteration):
            return [SlotSet("requested_slot", None), SlotSet("task_abandoned", True)]
        if tracker.get_slot("slot_choice") == REQUEST:
            when = when_of(tracker)
            question = render(
                "booking.confirm_request",
                clinic=clinic.name,
                who=who,
                visit=kind.name.lower(),
                when=asked_days(when),
            )
        else:
            chosen = _offered_slot(tracker)
            if tracker.get_slot("appointment_choice"):
                question = render(
                    "booking.confirm_move", visit=kind.name.lower(), time=chosen, clinic=clinic.name
                )
            else:
                question = render(
                    "booking.confirm_book",
                    who=who,
                    visit=kind.name.lower(),
                    clinic=clinic.name,
                    time=chosen,
                )
        turn.say(question, buttons=YES_NO)
        return []


def _who(tracker: Tracker) -> str:
    name = tracker.get_slot("subject_name")
    speaker, _ = speaker_or_error(tracker)
    if not name or (speaker and str(speaker.actor.patient_id) == tracker.get_slot("subject_id")):
        return "you"
    return str(name)


def _offered_slot(tracker: Tracker) -> str:
    """The chosen time as it was offered: looked up by id among the offered slots (clinic
    schedule data, read without a search and so without an audit row), never searched again."""
    wanted = str(tracker.get_slot("slot_choice"))
    for slot in current_offer(tracker):
        if str(slot.id) == wanted:
            return slot_title(slot)
    return "the time you chose"


class ActionAskAppointmentChoice(ConversationAction):
    action_name = "action_ask_appointment_choice"

    def respond(self, turn: Turn) -> list[EventType]:
        offered = turn.slot("offered") or []
        listed = [
            a for a in _upcoming(turn.tracker, subject_id(turn.tracker)) if str(a.id) in offered
        ]
        turn.say(
            render("ask.appointment_choice"),
            buttons=[
                {"title": appointment_summary(a), "payload": f'/inform{{"choice": "{a.id}"}}'}
                for a in listed
            ],
        )
        return []


class ActionAskCancelConfirmed(ConversationAction):
    action_name = "action_ask_cancel_confirmed"

    def respond(self, turn: Turn) -> list[EventType]:
        chosen = _validate_appointment_choice(turn.slot("appointment_choice"), turn.tracker)
        what = appointment_summary(chosen) if chosen else "that appointment"
        turn.say(render("cancel.confirm", appointment=what), buttons=YES_NO)
        return []


# ---- doing ------------------------------------------------------------------------------------

Booking = scheduling.AppointmentView | scheduling.AppointmentRequestView


class ActionBookAppointment(TaskAction[Booking]):
    action_name = "action_book_appointment"
    confirm_slot = "booking_confirmed"
    declined = "booking.declined"

    def call(self, turn: TaskTurn) -> Booking:
        clinic = clinic_of(turn.slot("clinic"))
        kind = appointment_type_of(turn.slot("appointment_type"))
        if turn.slot("slot_choice") == REQUEST:
            when = when_of(turn.tracker)
            return scheduling.request_appointment(
                portal.database(),
                turn.actor,
                turn.subject_id,
                clinic_id=clinic.id,
                type_id=kind.id,
                preferred_windows=[
                    {"start": when.start, "end": when.end, "time_of_day": when.time_of_day}
                ],
                now=portal.now(),
                settings=portal.settings(),
            )
        slot_id = int(turn.slot("slot_choice"))
        return scheduling.book(
            portal.database(), turn.actor, turn.subject_id, slot_id, now=portal.now()
        )

    def render(self, turn: TaskTurn, view: Booking) -> list[EventType]:
        if isinstance(view, scheduling.AppointmentRequestView):
            turn.say(_request_sent_text(view))
        else:
            turn.say(_booked_text(view))
        return []

    def refused(self, turn: TaskTurn, error: Exception) -> list[EventType]:
        """Someone else took the time while the patient was deciding: say so and offer to look
        again for the same visit, clinic and person (a bare "no longer available" left the
        patient with nothing to answer; `make bench` counted those conversations as derailed)."""
        if type(error) is not SlotUnavailable:
            return super().refused(turn, error)
        look_again = {"title": render("booking.look_again_button"), "payload": "/book_appointment"}
        turn.say(
            render("booking.slot_taken", turn.channel, message=say_error(error)),
            buttons=[look_again],
        )
        presets = {
            "appointment_type": turn.slot("appointment_type"),
            "clinic": turn.slot("clinic"),
            "family_member": who_for(turn.tracker),
        }
        return [offer(turn.tracker, "/book_appointment", **presets)]


def _request_sent_text(view: scheduling.AppointmentRequestView) -> str:
    return render(
        "booking.request_sent",
        visit=with_article(view.type_name.lower()),
        clinic=view.clinic_name,
        contact_by=view.contact_by,
        phone=view.clinic_phone,
    )


def _booked_text(booked: scheduling.AppointmentView) -> str:
    text = render("booking.booked", summary=appointment_summary(booked))
    if booked.questionnaire:
        text += render("booking.questionnaire", questionnaire=booked.questionnaire)
    return text + render("booking.how_to_change", phone=booked.clinic_phone)


class ActionRescheduleAppointment(TaskAction[ClinicView | scheduling.AppointmentView]):
    """A new time moves the appointment; "none of these" keeps it and names the clinic's line."""

    action_name = "action_reschedule_appointment"
    confirm_slot = "booking_confirmed"
    declined = "reschedule.declined"
    fails_with = (PortalError, StopIteration, ValueError)
    failure = "reschedule.failed"

    def call(self, turn: TaskTurn) -> ClinicView | scheduling.AppointmentView:
        if turn.slot("slot_choice") == REQUEST:
            return clinic_of(turn.slot("clinic"))
        return scheduling.reschedule(
            portal.database(),
            turn.actor,
            int(turn.slot("appointment_choice")),
            int(turn.slot("slot_choice")),
            now=portal.now(),
        )

    def render(
        self, turn: TaskTurn, view: ClinicView | scheduling.AppointmentView
    ) -> list[EventType]:
        if isinstance(view, ClinicView):
            turn.say(render("reschedule.call_clinic", clinic=view.name, phone=view.phone))
        else:
            turn.say(render("reschedule.done", appointment=appointment_summary(view)))
        return []


class ActionCancelAppointment(TaskAction[scheduling.AppointmentView]):
    action_name = "action_cancel_appointment"
    confirm_slot = "cancel_confirmed"
    declined = "cancel.declined"
    fails_with = (PortalError, ValueError)
    failure = "cancel.failed"

    def call(self, turn: TaskTurn) -> scheduling.AppointmentView:
        return scheduling.cancel(
            portal.database(),
            turn.actor,
            int(turn.slot("appointment_choice")),
            now=portal.now(),
        )

    def render(self, turn: TaskTurn, view: scheduling.AppointmentView) -> list[EventType]:
        turn.say(render("cancel.done", appointment=appointment_summary(view)))
        return []


class ActionListAppointments(TaskAction[list[scheduling.AppointmentView]]):
    action_name = "action_list_appointments"

    def call(self, turn: TaskTurn) -> list[scheduling.AppointmentView]:
        return _upcoming(turn.tracker, turn.subject_id)

    def render(self, turn: TaskTurn, view: list[scheduling.AppointmentView]) -> list[EventType]:
        who = _who(turn.tracker)
        if not view:
            none = (
                render("appointments.none_yours")
                if who == "you"
                else render("appointments.none_theirs", who=who)
            )
            button = {"title": render("appointments.book_button"), "payload": "/book_appointment"}
            turn.say(none, buttons=[button])
            person = "me" if who == "you" else who
            return [offer(turn.tracker, "/book_appointment", family_member=person)]
        lines = "\n".join(f"- {appointment_summary(a)}" for a in view)
        heading = (
            render("appointments.heading_yours")
            if who == "you"
            else render("appointments.heading_theirs", who=who)
        )
        turn.say(f"{heading}\n{lines}")
        return []
