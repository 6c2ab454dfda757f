"""Results, reports, immunizations and the care team: read-only adapters on records/people."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType

from bot.actions import portal
from bot.actions.base import TaskAction, TaskTurn
from bot.actions.conversation import speaker_or_error
from bot.actions.follow_up import offer
from bot.actions.task_form import TaskFormValidator
from portal_core import people, records
from wording import speech
from wording.catalogue import record_kind, record_source, render, result_flag, review_note

MAX_LISTED = 6


class ValidateResultsForm(TaskFormValidator):
    form = "results_form"


class ValidateImmunizationsForm(TaskFormValidator):
    form = "immunizations_form"


class ValidatePcmForm(TaskFormValidator):
    form = "pcm_form"


def lab_line(result: records.LabResultView) -> str:
    unit = f" {result.unit}" if result.unit else ""
    reference = (
        render("results.reference_range", range=result.reference_range)
        if result.reference_range
        else ""
    )
    parts = [f"{result.test_name}: {result.value}{unit}{reference}, {result_flag(result.flag)}"]
    parts.append(render("results.collected", on=result.collected_on))
    source = record_source(result.source_org)
    if source:
        parts.append(source)
    line = "; ".join(parts) + "."
    note = review_note(result)
    return f"{line[:-1]}; {note}." if note else line


def report_line(report: records.ReportView) -> str:
    kind = record_kind(report.kind)
    line = f"{kind}, {report.title} ({report.performed_on:%b %-d, %Y}): {report.summary}"
    source = record_source(report.source_org)
    if source:
        line += f" ({source})"
    note = review_note(report)
    return f"{line.rstrip('.')}; {note}." if note else line


def immunization_line(shot: records.ImmunizationView) -> str:
    source = record_source(shot.source_org)
    return (
        f"- {shot.vaccine}{f' ({shot.dose})' if shot.dose else ''}: "
        f"{shot.administered_on:%b %-d, %Y}, {shot.location}{f' ({source})' if source else ''}"
    )


def who_for(tracker: Tracker) -> str:
    """The task's person as a form reads them: "me", or their first name."""
    return "me" if _for_oneself(tracker) else str(tracker.get_slot("subject_name"))


def whose(tracker: Tracker) -> str:
    """'Your' for the speaker's own record, "Sofia's" for someone they act for."""
    if _for_oneself(tracker):
        return render("records.whose_own")
    return render("records.whose_other", name=tracker.get_slot("subject_name"))


def _for_oneself(tracker: Tracker) -> bool:
    speaker, _ = speaker_or_error(tracker)
    return speaker is None or str(speaker.actor.patient_id) == str(tracker.get_slot("subject_id"))


def asked_result_type(tracker: Tracker) -> records.ResultType | None:
    """What kind of result was asked for: the most specific reading of the slot and of the
    request that started the task ("and the chest x-ray from the ER?" is an X-ray, however the
    model labelled it)."""
    said = [str(tracker.get_slot("result_type") or ""), str(tracker.get_slot("task_request") or "")]
    found = [t for t in (records.find_result_type(x) for x in said if x) if t is not None]
    specific = [t for t in found if t.terms]
    return (specific or found or [None])[0]


class ActionCheckResults(TaskAction[records.ResultsAnswer]):
    action_name = "action_check_results"

    def call(self, turn: TaskTurn) -> records.ResultsAnswer:
        wanted = asked_result_type(turn.tracker)
        lab = wanted is None or wanted.kind == "lab"
        # portal_core applies the SMS consent rule before reading any value, and audits a
        # withheld answer as withheld.
        return records.results_for_channel(
            portal.database(),
            turn.actor,
            turn.subject_id,
            channel=turn.actor.channel,
            wanted=wanted,
            limit=MAX_LISTED if lab else 3,
            now=portal.now(),
        )

    def render(self, turn: TaskTurn, view: records.ResultsAnswer) -> list[EventType]:
        tracker = turn.tracker
        wanted = asked_result_type(tracker)
        lab = wanted is None or wanted.kind == "lab"
        if not view.found:
            what = wanted.label if wanted else record_kind("lab")
            turn.say(render("results.none_final", what=what))
            return []
        if view.withheld:
            turn.say(render("results.withheld_by_text"))
            return []
        if lab:
            lines = [lab_line(r) for r in view.labs]
            heading = render("results.labs_heading", whose=whose(tracker))
        else:
            lines = [report_line(r) for r in view.reports]
            heading = render("results.heading", whose=whose(tracker), what=wanted.label)
        text = heading + "\n" + "\n".join(f"- {x}" for x in lines)
        if lab and view.labs and turn.channel == "web":
            turn.say(text, json_message=results_table(heading, list(view.labs)))
        else:
            turn.say(text)
        turn.say(
            render("results.questions"),
            buttons=[{"title": render("results.message_button"), "payload": "/send_message"}],
        )
        return [offer(tracker, "/send_message", family_member=who_for(tracker))]


def results_table(heading: str, labs: list[records.LabResultView]) -> dict[str, Any]:
    """The web widget's table of lab results (the text reply stays as it is for every channel).

    Each row's `speech`, and the table's, is what the phone says for the same words
    (`wording.speech.speak`, which the voice channel applies to the text reply), so the
    widget's Listen button reads exactly what a caller hears.
    """
    rows = [
        {
            "test": r.test_name,
            "value": r.value,
            "unit": r.unit or "",
            "range": r.reference_range or "",
            "flag": r.flag,
            "flag_text": result_flag(r.flag),
            "collected": f"{r.collected_on:%b %-d, %Y}",
            "source": record_source(r.source_org) or "",
            "reviewed": r.reviewed,
            "review": review_note(r) or "",
            "speech": speech.speak(lab_line(r)),
        }
        for r in labs
    ]
    text = heading + "\n" + "\n".join(f"- {lab_line(r)}" for r in labs)
    return {"results": {"heading": heading, "rows": rows, "speech": speech.speak(text)}}


class ActionImmunizationRecords(TaskAction[records.ImmunizationRecordView]):
    action_name = "action_immunization_records"

    def call(self, turn: TaskTurn) -> records.ImmunizationRecordView:
        return records.immunizations(
            portal.database(), turn.actor, turn.subject_id, now=portal.now()
        )

    def render(self, turn: TaskTurn, view: records.ImmunizationRecordView) -> list[EventType]:
        lines = [immunization_line(i) for i in view.immunizations[:10]]
        body = "\n".join(lines) if lines else render("immunizations.none")
        turn.say(render("immunizations.heading", first_name=view.patient_first_name) + f"\n{body}")
        turn.say(render("immunizations.official_record"))
        return []


class ActionFindPcm(TaskAction[people.CareTeamView]):
    action_name = "action_find_pcm"

    def call(self, turn: TaskTurn) -> people.CareTeamView:
        return people.find_pcm(portal.database(), turn.actor, turn.subject_id, now=portal.now())

    def render(self, turn: TaskTurn, view: people.CareTeamView) -> list[EventType]:
        others = ", ".join(f"{m.name} ({m.role})" for m in view.members if m.name != view.pcm_name)
        text = render(
            "care_team.pcm", pcm=view.pcm_name, clinic=view.clinic_name, phone=view.clinic_phone
        )
        if others:
            text += render("care_team.others", others=others)
        turn.say(text)
        return []
