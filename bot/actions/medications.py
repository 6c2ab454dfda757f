"""Refills, renewals, refill status and the medication list: adapters on prescriptions."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions import portal
from bot.actions.appointments import YES_NO, canonical
from bot.actions.base import ConversationAction, TaskAction, TaskTurn, Turn
from bot.actions.conversation import entity_values, latest_text, speaker_or_error, usable
from bot.actions.follow_up import offer
from bot.actions.records import who_for, whose
from bot.actions.task_form import (
    TaskFormValidator,
    choosable,
    look_up,
    needs_subject,
    subject_id,
    yes_no,
)
from portal_core import people, prescriptions
from portal_core.errors import PortalError, RefillNotAllowed
from portal_core.proxy import Capability
from wording.catalogue import refill_status, render, say_error


def _actor(tracker: Tracker) -> Any:
    speaker, _ = speaker_or_error(tracker)
    return speaker.actor if speaker else None


def _medications(tracker: Tracker, patient_id: int) -> list[prescriptions.MedicationView]:
    actor = _actor(tracker)
    if actor is None:
        return []
    return prescriptions.list_medications(portal.database(), actor, patient_id, now=portal.now())


def _medication(tracker: Tracker) -> prescriptions.MedicationView | None:
    wanted = canonical(tracker.get_slot("medication"))
    for med in _medications(tracker, subject_id(tracker)):
        if med.prescription_id == wanted:
            return med
    return None


def _prescription_id(tracker: Tracker) -> int:
    """The chosen medication's prescription, as the refill and renewal requests name it (0,
    which is no prescription, when none is chosen: the domain then refuses it)."""
    return int(canonical(tracker.get_slot("medication")) or 0)


def _renewal_button(name: str) -> dict[str, str]:
    return {
        "title": render("renewal.ask_button", medication=name),
        "payload": f'/request_renewal{{"medication": "{name}"}}',
    }


USUAL = re.compile(
    r"\b(?:usual|normal|regular|same (?:one|as (?:always|before|last time))|default|as always)\b",
    re.I,
)


def _renewal_offer(tracker: Tracker, name: str) -> dict[str, Any]:
    """A yes to "I can send a renewal request" renews this medication for the same person."""
    payload = f'/request_renewal{{"medication": "{name}"}}'
    return offer(tracker, payload, family_member=who_for(tracker))["value"]


class MedicationChoice:
    """Which medication: by name, misspelled name, description, or a button."""

    def _mentioned(self, tracker: Tracker) -> str | None:
        """ "refill lisinopril" names nobody, but only one person it may be for takes it."""
        found = super()._mentioned(tracker)  # type: ignore[misc]
        if found is not None:
            return found
        speaker, _ = speaker_or_error(tracker)
        named = entity_values(tracker, "medication")
        request = str(tracker.get_slot("task_request") or latest_text(tracker))
        if speaker is None or not (named or request):
            return None
        family = choosable(
            people.family_members(portal.database(), speaker.actor, now=portal.now()),
            Capability.PRESCRIPTIONS,
        )
        takers = []
        for member in family:
            try:
                prescriptions.find_medication(
                    portal.database(),
                    speaker.actor,
                    member.patient_id,
                    (named[0] if named else request)[:100],
                    now=portal.now(),
                )
            except PortalError:
                continue
            takers.append(member)
        if len(takers) != 1:
            return None
        return "me" if takers[0].is_self else takers[0].first_name

    def extract_medication(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "medication":
            return {}
        found = [v for v in entity_values(tracker, "medication") if usable(v)]
        return {"medication": (found[0] if found else latest_text(tracker))[:100]}

    def validate_medication(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if canonical(value) is not None:
            return {"medication": value}
        if (wait := needs_subject(tracker, "medication", value)) is not None:
            return wait
        actor = _actor(tracker)
        if actor is None:
            return {"medication": None}
        med = look_up(
            dispatcher,
            lambda: prescriptions.find_medication(
                portal.database(), actor, subject_id(tracker), str(value), now=portal.now()
            ),
        )
        if med is None:
            return {"medication": None}
        return {
            "medication": f"#{med.prescription_id}",
            **self.after_medication(dispatcher, tracker, med),
        }

    def after_medication(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        med: prescriptions.MedicationView,
    ) -> dict[str, Any]:
        return {}


class ValidateRefillForm(MedicationChoice, TaskFormValidator):
    form = "refill_form"

    def on_subject(self, tracker: Tracker, member: people.FamilyMemberView) -> dict[str, Any]:
        meds = [m for m in _medications(tracker, member.patient_id) if m.active]
        if not meds:
            who = "You have" if member.is_self else f"{member.first_name} has"
            return {"task_abandoned": True, "_say": f"{who} no active prescriptions on file."}
        found = {"offered": [str(m.prescription_id) for m in meds][:8]}
        if len(meds) == 1 and not tracker.get_slot("medication"):
            found["medication"] = meds[0].name  # one prescription: no "Which medication?"
        return found

    def after_medication(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        med: prescriptions.MedicationView,
    ) -> dict[str, Any]:
        """Refused refills are explained at once, with a renewal offered where it fits."""
        check = prescriptions.check_refill(
            portal.database(),
            _actor(tracker),
            subject_id(tracker),
            med.prescription_id,
            now=portal.now(),
            settings=portal.settings(),
        )
        if check.allowed:
            return {}
        reason = render(check.key, **check.data)
        if not check.renewal_possible:
            dispatcher.utter_message(text=reason)
            return {"task_abandoned": True}
        dispatcher.utter_message(
            text=render("renewal.offer", reason=reason), buttons=[_renewal_button(med.name)]
        )
        return {"task_abandoned": True, "offer": _renewal_offer(tracker, med.name)}

    def extract_pharmacy(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "pharmacy":
            return {}
        found = entity_values(tracker, "choice")
        if found:
            return {"pharmacy": found[0][:100]}
        if yes_no(tracker) is True or USUAL.search(latest_text(tracker)):
            # "yes", "my usual pharmacy", "same as always": the one offered as usual.
            med = _medication(tracker)
            if med and med.pickup_pharmacy:
                return {"pharmacy": f"#{med.pickup_pharmacy.id}"}
        named = entity_values(tracker, "pharmacy")
        return {"pharmacy": (named[0] if named else latest_text(tracker))[:100]}

    def validate_pharmacy(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if canonical(value) is not None:
            return {"pharmacy": value}
        found = look_up(
            dispatcher, lambda: prescriptions.find_pharmacy(portal.database(), str(value))
        )
        if found is None:
            return {"pharmacy": None}
        return {"pharmacy": f"#{found.id}"}


class ValidateRenewalForm(MedicationChoice, TaskFormValidator):
    form = "renewal_form"

    def after_medication(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        med: prescriptions.MedicationView,
    ) -> dict[str, Any]:
        """A renewal portal_core would refuse is refused now, before "Shall I?"; one that needs
        a visit (a controlled medication) offers to book it."""
        refusal = prescriptions.renewal_refusal(med)
        if refusal is None:
            return {}
        if not refusal.needs_visit:
            dispatcher.utter_message(text=say_error(refusal))
            return {"task_abandoned": True}
        dispatcher.utter_message(
            text=say_error(refusal),
            buttons=[{"title": render("appointments.book_button"), "payload": "/book_appointment"}],
        )
        book = offer(tracker, "/book_appointment", family_member=who_for(tracker))
        return {"task_abandoned": True, "offer": book["value"]}


class ValidateRefillStatusForm(TaskFormValidator):
    form = "refill_status_form"


class ValidateMedicationsForm(TaskFormValidator):
    form = "medications_form"


# ---- asking -----------------------------------------------------------------------------------


class ActionAskMedication(ConversationAction):
    action_name = "action_ask_medication"

    def respond(self, turn: Turn) -> list[EventType]:
        meds = [m for m in _medications(turn.tracker, subject_id(turn.tracker)) if m.active]
        turn.say(
            render("ask.medication"),
            buttons=[{"title": f"{m.name} {m.strength}", "payload": m.name} for m in meds[:6]],
        )
        return []


class ActionAskPharmacy(ConversationAction):
    action_name = "action_ask_pharmacy"

    def respond(self, turn: Turn) -> list[EventType]:
        med = _medication(turn.tracker)
        usual = med.pickup_pharmacy if med else None
        others = [
            p
            for p in prescriptions.list_pharmacies(portal.database())
            if not usual or p.id != usual.id
        ]
        buttons = []
        if usual:
            buttons.append({"title": usual.name, "payload": f'/inform{{"choice": "#{usual.id}"}}'})
        buttons += [
            {"title": p.name, "payload": f'/inform{{"choice": "#{p.id}"}}'} for p in others[:3]
        ]
        question = (
            render("refill.pickup_usual", pharmacy=usual.name)
            if usual
            else render("refill.which_pharmacy")
        )
        turn.say(question, buttons=buttons)
        return []


class ActionAskRefillConfirmed(ConversationAction):
    action_name = "action_ask_refill_confirmed"

    def respond(self, turn: Turn) -> list[EventType]:
        med = _medication(turn.tracker)
        pharmacy = _pharmacy_name(turn.tracker)
        what = f"{med.name} {med.strength}" if med else "this medication"
        turn.say(render("refill.confirm", medication=what, pharmacy=pharmacy), buttons=YES_NO)
        return []


def _pharmacy_name(tracker: Tracker) -> str:
    wanted = canonical(tracker.get_slot("pharmacy"))
    for pharmacy in prescriptions.list_pharmacies(portal.database()):
        if pharmacy.id == wanted:
            return pharmacy.name
    return "the pharmacy"


class ActionAskRenewalConfirmed(ConversationAction):
    action_name = "action_ask_renewal_confirmed"

    def respond(self, turn: Turn) -> list[EventType]:
        med = _medication(turn.tracker)
        what = f"{med.name} {med.strength}" if med else "this medication"
        who = med.prescriber if med else "your prescriber"
        turn.say(render("renewal.confirm", prescriber=who, medication=what), buttons=YES_NO)
        return []


# ---- doing ------------------------------------------------------------------------------------


class ActionRequestRefill(TaskAction[prescriptions.RefillView]):
    action_name = "action_request_refill"
    confirm_slot = "refill_confirmed"
    declined = "refill.declined"

    def call(self, turn: TaskTurn) -> prescriptions.RefillView:
        return prescriptions.request_refill(
            portal.database(),
            turn.actor,
            turn.subject_id,
            _prescription_id(turn.tracker),
            pharmacy_id=canonical(turn.slot("pharmacy")),
            now=portal.now(),
            settings=portal.settings(),
        )

    def render(self, turn: TaskTurn, view: prescriptions.RefillView) -> list[EventType]:
        turn.say(
            render(
                "refill.done",
                number=view.refill_id,
                medication=view.medication,
                status=view.status,
                pharmacy=view.pharmacy.name,
                phone=view.pharmacy.phone,
                left=view.refills_remaining,
            )
        )
        return []

    def refused(self, turn: TaskTurn, error: Exception) -> list[EventType]:
        """A refill the rules refuse offers the renewal that would help, where one would."""
        if not isinstance(error, RefillNotAllowed):
            return super().refused(turn, error)
        med = _medication(turn.tracker)
        if not (error.renewal_possible and med):
            turn.say(say_error(error))
            return []
        turn.say(
            render("renewal.offer", reason=say_error(error)), buttons=[_renewal_button(med.name)]
        )
        return [SlotSet("offer", _renewal_offer(turn.tracker, med.name))]


class ActionRequestRenewal(TaskAction[prescriptions.RenewalView]):
    action_name = "action_request_renewal"
    confirm_slot = "renewal_confirmed"
    declined = "renewal.declined"

    def call(self, turn: TaskTurn) -> prescriptions.RenewalView:
        return prescriptions.request_renewal(
            portal.database(),
            turn.actor,
            turn.subject_id,
            _prescription_id(turn.tracker),
            now=portal.now(),
        )

    def render(self, turn: TaskTurn, view: prescriptions.RenewalView) -> list[EventType]:
        turn.say(render("renewal.sent", prescriber=view.prescriber, medication=view.medication))
        return []


class ActionRefillStatus(TaskAction[list[prescriptions.RefillView]]):
    action_name = "action_refill_status"

    def call(self, turn: TaskTurn) -> list[prescriptions.RefillView]:
        return prescriptions.refill_status(
            portal.database(), turn.actor, turn.subject_id, limit=5, now=portal.now()
        )

    def render(self, turn: TaskTurn, view: list[prescriptions.RefillView]) -> list[EventType]:
        if not view:
            turn.say(render("refill.none_recent"))
            return []
        lines = []
        for refill in view:
            last = refill.history[-1] if refill.history else None
            when = render("refill.since", at=last.local_at) if last else ""
            lines.append(
                f"- {refill.medication}: {refill_status(refill.status)}{when} "
                f"({refill.pharmacy.name})"
            )
        heading = render("refill.recent_heading", whose=whose(turn.tracker))
        turn.say(f"{heading}\n" + "\n".join(lines))
        return []


PAST = re.compile(
    r"\b(?:past|old|older|used to|previous(?:ly)?|former|stopped|history|all|inactive|ever)\b", re.I
)


def _asks_for_past(tracker: Tracker) -> bool:
    """ "all my medications, including ones I used to take": the list then includes past ones."""
    return bool(PAST.search(str(tracker.get_slot("task_request") or latest_text(tracker))))


class ActionListMedications(TaskAction[list[prescriptions.MedicationView]]):
    action_name = "action_list_medications"

    def call(self, turn: TaskTurn) -> list[prescriptions.MedicationView]:
        return prescriptions.list_medications(
            portal.database(),
            turn.actor,
            turn.subject_id,
            include_inactive=_asks_for_past(turn.tracker),
            now=portal.now(),
        )

    def render(self, turn: TaskTurn, view: list[prescriptions.MedicationView]) -> list[EventType]:
        meds = [m for m in view if m.active]
        past = [m for m in view if not m.active]
        if not meds and not past:
            turn.say(render("medications.none_active"))
            return []
        lines = [
            render(
                "medications.line",
                name=m.name,
                strength=m.strength,
                instructions=m.instructions,
                refills=m.refills_remaining,
            )
            for m in meds
        ]
        heading = render("medications.heading", whose=whose(turn.tracker))
        text = heading + "\n" + "\n".join(lines) if lines else ""
        if past:
            earlier = "\n".join(
                render("medications.past_line", name=m.name, strength=m.strength) for m in past
            )
            text = f"{text}\n\n{render('medications.past_heading')}\n{earlier}".strip()
        turn.say(text)
        return [SlotSet("offered", None)]
