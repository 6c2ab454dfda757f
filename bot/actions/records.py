"""Results, reports, immunizations and the care team: read-only adapters on records/people."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import portal
from bot.actions.conversation import channel_of, speaker_or_error
from bot.actions.follow_up import offer
from bot.actions.task_form import TaskFormValidator, reset_task_slots, subject_id, task_speaker
from portal_core import disclosure, people, records
from portal_core.database import Database
from portal_core.errors import PortalError
from portal_core.proxy import Capability

MAX_LISTED = 6


class ValidateResultsForm(TaskFormValidator):
    form = "results_form"
    capability = Capability.RESULTS


class ValidateImmunizationsForm(TaskFormValidator):
    form = "immunizations_form"
    capability = Capability.IMMUNIZATIONS


class ValidatePcmForm(TaskFormValidator):
    form = "pcm_form"
    capability = Capability.CARE_TEAM


def lab_line(result: records.LabResultView) -> str:
    unit = f" {result.unit}" if result.unit else ""
    reference = f" (reference range {result.reference_range})" if result.reference_range else ""
    parts = [f"{result.test_name}: {result.value}{unit}{reference}, {result.flag_text}"]
    parts.append(f"collected {result.collected_on:%b %-d, %Y}")
    if result.source_text:
        parts.append(result.source_text)
    line = "; ".join(parts) + "."
    return f"{line[:-1]}; {result.review_note}." if result.review_note else line


def report_line(report: records.ReportView) -> str:
    line = (
        f"{report.kind_text}, {report.title} ({report.performed_on:%b %-d, %Y}): {report.summary}"
    )
    if report.source_text:
        line += f" ({report.source_text})"
    return f"{line.rstrip('.')}; {report.review_note}." if report.review_note else line


def who_for(tracker: Tracker) -> str:
    """The task's person as a form reads them: "me", or their first name."""
    return "me" if _whose(tracker) == "Your" else str(tracker.get_slot("subject_name"))


def _whose(tracker: Tracker) -> str:
    """'Your' for the speaker's own record, "Sofia's" for someone they act for."""
    speaker, _ = speaker_or_error(tracker)
    if speaker is None or str(speaker.actor.patient_id) == str(tracker.get_slot("subject_id")):
        return "Your"
    return f"{tracker.get_slot('subject_name')}'s"


def asked_result_type(tracker: Tracker) -> records.ResultType | None:
    """What kind of result was asked for: the most specific reading of the slot and of the
    request that started the task ("and the chest x-ray from the ER?" is an X-ray, however the
    model labelled it)."""
    said = [str(tracker.get_slot("result_type") or ""), str(tracker.get_slot("task_request") or "")]
    found = [t for t in (records.find_result_type(x) for x in said if x) if t is not None]
    specific = [t for t in found if t.terms]
    return (specific or found or [None])[0]


class ActionCheckResults(Action):
    def name(self) -> str:
        return "action_check_results"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        speaker = task_speaker(dispatcher, tracker)
        if speaker is None:
            return reset_task_slots()
        wanted = asked_result_type(tracker)
        db, actor, patient, now = (
            portal.database(),
            speaker.actor,
            subject_id(tracker),
            portal.now(),
        )
        try:
            if wanted is None or wanted.kind == "lab":
                term = wanted.terms[0] if wanted and wanted.terms else None
                labs = records.lab_results(
                    db, actor, patient, test_name=term, limit=MAX_LISTED, now=now
                )
                lines = [lab_line(r) for r in labs]
                heading = f"{_whose(tracker)} most recent lab results, newest first:"
            else:
                term = wanted.terms[0] if wanted.terms else None
                found = records.reports(
                    db, actor, patient, wanted.kind, about=term, limit=3, now=now
                )
                lines = [report_line(r) for r in found]
                heading = f"{_whose(tracker)} {wanted.label}, newest first:"
        except PortalError as exc:
            dispatcher.utter_message(text=exc.user_message)
            return reset_task_slots()
        if not lines:
            what = wanted.label if wanted else "lab results"
            dispatcher.utter_message(
                text=f"I don't see any final {what} yet. Results appear as soon as they're final."
            )
        elif not may_text_results(tracker, db, actor.patient_id, patient):
            dispatcher.utter_message(text=RESULTS_WITHHELD_BY_TEXT)
        else:
            dispatcher.utter_message(text=heading + "\n" + "\n".join(f"- {x}" for x in lines))
            dispatcher.utter_message(
                text="Questions about a result? I can send a secure message to your care team.",
                buttons=[{"title": "Message my care team", "payload": "/send_message"}],
            )
            return [
                *reset_task_slots(),
                offer(tracker, "/send_message", family_member=who_for(tracker)),
            ]
        return reset_task_slots()


# --- Results by SMS (issue 5): no values or diagnoses by text without the patient's consent ---

RESULTS_WITHHELD_BY_TEXT = (
    "You have results ready to view. For your privacy, I don't send results by text. "
    "You can see them in the MHS GENESIS Patient Portal, or call this number and I'll read "
    "them to you once you've confirmed who you are."
)


def may_text_results(tracker: Tracker, db: Database, reader_id: int, patient_id: int) -> bool:
    """Only SMS is restricted; portal_core decides (`disclosure.may_send_health_details`)."""
    if channel_of(tracker) != "sms":
        return True
    return disclosure.may_send_health_details(db, patient_id, "sms", recipient_id=reader_id)


class ActionImmunizationRecords(Action):
    def name(self) -> str:
        return "action_immunization_records"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        speaker = task_speaker(dispatcher, tracker)
        if speaker is None:
            return reset_task_slots()
        try:
            record = records.immunizations(
                portal.database(), speaker.actor, subject_id(tracker), now=portal.now()
            )
        except PortalError as exc:
            dispatcher.utter_message(text=exc.user_message)
            return reset_task_slots()
        lines = [
            f"- {i.vaccine}{f' ({i.dose})' if i.dose else ''}: {i.administered_on:%b %-d, %Y}, "
            f"{i.location}{f' ({i.source_text})' if i.source_text else ''}"
            for i in record.immunizations[:10]
        ]
        body = "\n".join(lines) if lines else "No immunizations are on file."
        dispatcher.utter_message(text=f"Immunizations for {record.patient_first_name}:\n{body}")
        dispatcher.utter_message(text=" ".join(record.official_record_steps))
        return reset_task_slots()


class ActionFindPcm(Action):
    def name(self) -> str:
        return "action_find_pcm"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        speaker = task_speaker(dispatcher, tracker)
        if speaker is None:
            return reset_task_slots()
        try:
            team = people.find_pcm(
                portal.database(), speaker.actor, subject_id(tracker), now=portal.now()
            )
        except PortalError as exc:
            dispatcher.utter_message(text=exc.user_message)
            return reset_task_slots()
        others = ", ".join(f"{m.name} ({m.role})" for m in team.members if m.name != team.pcm_name)
        text = (
            f"The primary care manager (PCM) is {team.pcm_name} at {team.clinic_name}, "
            f"{team.clinic_phone}."
        )
        if others:
            text += f" The care team also includes {others}."
        dispatcher.utter_message(text=text)
        return reset_task_slots()
