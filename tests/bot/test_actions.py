"""Custom actions against a real seeded portal, with rasa-sdk's CollectingDispatcher."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from bot.actions.appointments import (
    ActionAskSlotChoice,
    ActionBookAppointment,
    ValidateBookAppointmentForm,
)
from bot.actions.help import ActionDefaultFallback
from bot.actions.medications import ValidateRefillForm, ValidateRenewalForm
from bot.actions.messages import ActionSendMessage
from bot.actions.records import ActionCheckResults, ValidateResultsForm
from bot.actions.safety import ActionEmergency
from portal_core import audit, clinics, identity, safety, web_tokens
from portal_core.database import Database
from portal_core.models import (
    Appointment,
    AppointmentRequest,
    CareTeamAlert,
    Clinic,
    MessageThread,
    Patient,
)
from tests.bot.harness import Conversation
from wording import speech
from wording.catalogue import emergency_contacts, emergency_response


def patient_id(db: Database, first: str, last: str) -> int:
    with db.transaction() as s:
        return int(
            s.scalar(
                select(Patient.id).where(Patient.first_name == first, Patient.last_name == last)
            )
        )


def verified_phone_conversation(db: Database, channel: str) -> Conversation:
    """Marcus Rivera on `channel` ("sms" or "voice"), verified, as our Twilio channels name and
    mark their conversations (bot/actions/conversation.py)."""
    pid = patient_id(db, "Marcus", "Rivera")
    sender = "sms:+12545550101" if channel == "sms" else f"voice:CA{uuid.uuid4().hex}"
    talk = Conversation(sender, {"phone": "+12545550101"}, input_channel=f"twilio_{channel}")
    with db.transaction() as s:
        marcus = s.get(Patient, pid)
        born, last4 = marcus.date_of_birth, marcus.dod_id[-4:]
    identity.verify(db, "+12545550101", talk.sender, channel, born, last4)
    return talk


def web_conversation(db: Database, first: str, last: str) -> Conversation:
    pid = patient_id(db, first, last)
    level = "basic" if first == "Robert" else "premium"
    token = web_tokens.issue_token(pid, level)
    return Conversation(f"web-{first}", {"portal_token": token})


def test_web_chat_without_a_session_is_asked_to_sign_in(action_portal: Database) -> None:
    talk = Conversation("web-anonymous")
    talk.user("show me my lab results", intent="check_results")
    talk.run(ValidateResultsForm())
    assert talk.slots["task_abandoned"] is True
    assert "sign in" in talk.texts().lower()


def test_a_call_from_a_withheld_number_is_sent_to_the_clinic_and_shown_nothing(
    action_portal: Database,
) -> None:
    """No number, nothing to verify against: the task ends before any question about identity."""
    talk = Conversation("voice:CA1", {"channel": "voice", "phone": None}, "twilio_voice")
    talk.user("read me my lab results", intent="check_results")
    talk.run(ValidateResultsForm())
    assert talk.slots["task_abandoned"] is True
    assert "call your clinic" in talk.texts().lower()
    assert "date of birth" not in talk.texts().lower()


def test_basic_account_is_told_how_to_upgrade(action_portal: Database) -> None:
    talk = web_conversation(action_portal, "Robert", "Hayes")
    talk.user("my results", intent="check_results")
    talk.run(ValidateResultsForm())
    assert talk.slots["task_abandoned"] is True
    assert "premium" in talk.texts().lower()


def test_parent_cannot_read_a_teens_results(action_portal: Database) -> None:
    talk = web_conversation(action_portal, "Elena", "Rivera")
    talk.user("show mateo's results", intent="check_results", entities={"family_member": "Mateo"})
    talk.run(ValidateResultsForm())
    assert talk.slots["task_abandoned"] is True
    assert "Mateo" in talk.texts() and "14" in talk.texts()


def test_results_show_values_and_the_not_yet_reviewed_note(action_portal: Database) -> None:
    talk = web_conversation(action_portal, "Marcus", "Rivera")
    talk.user("any new results?", intent="check_results")
    talk.run(ValidateResultsForm())
    assert talk.slots["subject_id"] == str(patient_id(action_portal, "Marcus", "Rivera"))
    talk.run(ActionCheckResults())
    text = talk.texts()
    assert "not yet reviewed by your care team" in text.lower()
    assert "reference range" in text
    with action_portal.transaction() as s:
        entries = audit.entries_for(s, patient_id(action_portal, "Marcus", "Rivera"))
    assert any(e.resource.startswith("lab") and e.channel == "web" for e in entries)


def test_too_soon_refill_is_explained_and_ends_the_task(action_portal: Database) -> None:
    talk = web_conversation(action_portal, "Marcus", "Rivera")
    talk.user(
        "refill my atorvastatin", intent="request_refill", entities={"medication": "atorvastatin"}
    )
    talk.run(ValidateRefillForm())
    # "my atorvastatin" is his own: nobody asks "Who is this for?" though he acts for others.
    assert talk.slots["subject_name"] == "Marcus"
    assert talk.slots["task_abandoned"] is True
    assert "atorvastatin" in talk.texts().lower()


def test_parent_books_a_well_child_visit_for_the_eight_year_old(action_portal: Database) -> None:
    talk = web_conversation(action_portal, "Marcus", "Rivera")
    talk.user(
        "book sofia a well child visit",
        intent="book_appointment",
        entities={"family_member": "Sofia", "appointment_type": "well child"},
    )
    talk.run(ValidateBookAppointmentForm())
    assert talk.slots["subject_name"] == "Sofia"
    assert talk.slots["requested_slot"] == "time"
    talk.user("next week in the morning")
    talk.run(ValidateBookAppointmentForm())
    assert talk.slots["requested_slot"] == "slot_choice"
    offered = talk.run(ActionAskSlotChoice())
    assert offered and offered[0]["buttons"], talk.texts()
    talk.user("the first one")
    talk.run(ValidateBookAppointmentForm())
    assert talk.slots["requested_slot"] == "booking_confirmed"
    talk.user("yes", intent="affirm")
    talk.run(ValidateBookAppointmentForm())
    assert talk.slots["requested_slot"] is None
    talk.run(ActionBookAppointment())
    assert "You're booked" in talk.texts()
    sofia = patient_id(action_portal, "Sofia", "Rivera")
    with action_portal.transaction() as s:
        booked = s.scalars(
            select(Appointment).where(
                Appointment.patient_id == sofia, Appointment.status == "booked"
            )
        ).all()
    assert any(a.booked_by_id == patient_id(action_portal, "Marcus", "Rivera") for a in booked)
    assert talk.slots["slot_choice"] is None  # the task's answers are forgotten


def test_emergency_answer_alerts_the_care_team(action_portal: Database) -> None:
    jasmine = patient_id(action_portal, "Jasmine", "Torres")

    def alerts() -> list[CareTeamAlert]:
        with action_portal.transaction() as s:
            rows = s.scalars(select(CareTeamAlert).where(CareTeamAlert.patient_id == jasmine))
            return list(rows)

    before = len(alerts())  # the session's portal is shared with the server tests
    talk = web_conversation(action_portal, "Jasmine", "Torres")
    talk.user("i cant breathe and my chest hurts", intent="emergency")
    talk.active_loop = "refill_form"
    said = talk.run(ActionEmergency())
    assert "911" in said[0]["text"]
    assert talk.active_loop is None
    after = alerts()
    assert len(after) == before + 1 and after[-1].priority == "high"


def test_a_finding_of_the_learned_layer_alerts_the_care_team_too(
    action_portal: Database,
) -> None:
    """The action server has no sentence encoder: what only the pipeline's learned layer found
    reaches it as the `emergency_kind` entity, and is answered and alerted all the same."""
    jasmine = patient_id(action_portal, "Jasmine", "Torres")
    text = "I sold my truck, gave my dog away and I'm done with everything"
    assert safety.detect(text) is None  # not the lexicon's: only the entity says what it is

    def alerts() -> list[CareTeamAlert]:
        with action_portal.transaction() as s:
            rows = s.scalars(select(CareTeamAlert).where(CareTeamAlert.patient_id == jasmine))
            return list(rows)

    before = len(alerts())
    talk = web_conversation(action_portal, "Jasmine", "Torres")
    talk.user(text, intent="emergency", entities={"emergency_kind": "crisis"})
    said = talk.run(ActionEmergency())
    assert "988, then press 1" in said[0]["text"]
    after = alerts()
    assert len(after) == before + 1
    assert (after[-1].kind, after[-1].detail) == ("crisis", f"crisis: {text}")


def test_fallback_rephrase_then_menu_then_person(action_portal: Database) -> None:
    talk = Conversation("web-fallback")
    fallback = {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    answers = []
    for strikes in (1, 2, 3):
        tracker = talk.tracker()
        tracker.events = [fallback] * strikes
        from rasa_sdk.executor import CollectingDispatcher

        dispatcher = CollectingDispatcher()
        ActionDefaultFallback().run(dispatcher, tracker, {})
        answers.append(
            " ".join(str(m.get("text") or m.get("response")) for m in dispatcher.messages)
        )
    assert "another way" in answers[0]
    assert "what I can help with" in answers[1]
    assert "1-800-600-9332" in answers[2]


def test_the_web_gets_a_results_table_that_reads_what_the_phone_says(
    action_portal: Database,
) -> None:
    talk = web_conversation(action_portal, "Marcus", "Rivera")
    talk.user("any new results?", intent="check_results")
    talk.run(ValidateResultsForm())
    said = talk.run(ActionCheckResults())
    table = said[0]["custom"]["results"]
    assert said[0]["text"].startswith(table["heading"])  # the text reply is unchanged
    assert table["rows"] and all(row["value"] for row in table["rows"])
    assert any(r["review"] == "not yet reviewed by your care team" for r in table["rows"])
    assert table["speech"] == speech.speak(said[0]["text"])  # the voice channel's rendering
    for row in table["rows"]:
        assert row["test"] in said[0]["text"] and not re.search(r"\d", row["speech"])


@pytest.mark.parametrize("channel", ["sms", "voice"])
def test_sms_and_voice_replies_carry_no_web_payload(action_portal: Database, channel: str) -> None:
    web = web_conversation(action_portal, "Marcus", "Rivera")
    web.user("any new results?", intent="check_results")
    web.run(ValidateResultsForm())
    web_text = web.run(ActionCheckResults())[0]["text"]
    talk = verified_phone_conversation(action_portal, channel)
    talk.user("any new results for me?", intent="check_results")
    talk.run(ValidateResultsForm())
    said = talk.run(ActionCheckResults())
    assert said[0]["text"] == web_text and not said[0].get("custom")
    talk.user("i cant breathe and my chest hurts", intent="emergency")
    answer = talk.run(ActionEmergency())[0]
    assert answer["custom"] == {"emergency": "medical"}
    web.user("i cant breathe and my chest hurts", intent="emergency")
    banner = web.run(ActionEmergency())[0]["custom"]
    assert banner == {"emergency": "medical", "contacts": emergency_contacts("medical")}


def test_a_controlled_renewal_is_refused_in_the_services_words(action_portal: Database) -> None:
    """The form asks portal_core's renewal rule (`prescriptions.renewal_refusal`), so the
    refusal is the one `request_renewal` gives, with a visit offered instead."""
    talk = web_conversation(action_portal, "Elena", "Rivera")
    talk.user(
        "renew mateo's methylphenidate",
        intent="request_renewal",
        entities={"family_member": "Mateo", "medication": "methylphenidate"},
    )
    talk.run(ValidateRenewalForm())
    assert talk.slots["task_abandoned"] is True
    assert "controlled medication, so it can't be renewed online" in talk.texts()
    assert talk.slots["offer"]["payload"] == "/book_appointment"


def test_who_is_speaking_is_looked_up_once_per_action_call_and_again_once_verified(
    fresh_action_portal: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A form's validation asks who is speaking many times; the database is asked once per
    action call, and not again once the caller is verified: the identity `verify` returned
    speaks for the rest of that call."""
    lookups: list[str] = []
    real = identity.current_identity

    def counted(*args: object, **kwargs: object) -> object:
        lookups.append(str(args[1]))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(identity, "current_identity", counted)
    pid = patient_id(fresh_action_portal, "Marcus", "Rivera")
    with fresh_action_portal.transaction() as s:
        marcus = s.get(Patient, pid)
        born, last4 = marcus.date_of_birth.strftime("%m/%d/%Y"), marcus.dod_id[-4:]
    # A call of its own (a fresh CallSid): other tests verify this number's SMS conversation.
    call = f"voice:CA{uuid.uuid4().hex}"
    talk = Conversation(call, {"phone": "+12545550101"}, input_channel="twilio_voice")
    talk.user(
        "refill my lisinopril", intent="request_refill", entities={"medication": "lisinopril"}
    )
    talk.run(ValidateRefillForm())
    assert len(lookups) == 1
    talk.user(born)
    talk.run(ValidateRefillForm())
    assert len(lookups) == 2
    talk.user(last4)
    talk.run(ValidateRefillForm())
    assert len(lookups) == 3  # before the digits are checked; verify says who it is after
    assert "you're verified" in talk.texts()
    assert talk.slots["medication"] and talk.slots["requested_slot"] == "pharmacy", talk.texts()


def test_a_request_filed_for_a_request_only_visit_says_when_the_clinic_will_call(
    action_portal: Database,
) -> None:
    """The request view carries data (the reply-by day, the clinic's phone); the sentence is
    the catalogue's, filled from the filed request."""
    pid = patient_id(action_portal, "Marcus", "Rivera")
    talk = web_conversation(action_portal, "Marcus", "Rivera")
    talk.user("yes", intent="affirm")
    with action_portal.transaction() as s:
        clinic = s.scalars(
            select(Clinic.id).where(
                Clinic.name == "Family Medicine Clinic",
                Clinic.facility == "Carl R. Darnall Army Medical Center",
            )
        ).one()
    talk.slots.update(
        clinic=f"#{clinic}",
        appointment_type="behavioral health intake",
        time="next week in the morning",
        slot_choice="request",
        booking_confirmed=True,
        subject_id=pid,
    )
    said = talk.run(ActionBookAppointment())[0]["text"]
    with action_portal.transaction() as s:
        filed = s.scalars(select(AppointmentRequest).where(AppointmentRequest.patient_id == pid))
        (request,) = list(filed)
        local = clinics.local_today(s.get(Clinic, request.clinic_id).time_zone, request.contact_by)
    day = f"{local:%A, %B} {local.day}"
    assert said.startswith("I've sent your request for a behavioral health intake appointment")
    assert f"The clinic will contact you by {day} to schedule it." in said


@pytest.mark.parametrize("channel", ["sms", "voice"])
def test_a_message_describing_an_emergency_is_answered_in_the_channels_words(
    fresh_action_portal: Database, channel: str
) -> None:
    """The task action says a refusal in the conversation's channel: on the phone, "hang up and
    dial 911", not the text wording; and nothing is sent to the care team."""
    pid = patient_id(fresh_action_portal, "Marcus", "Rivera")
    talk = verified_phone_conversation(fresh_action_portal, channel)
    talk.slots.update(
        subject_id=str(pid),
        recipient="my PCM",
        message_body="I have crushing chest pain and I can't breathe",
        message_confirmed=True,
    )
    talk.user("yes", intent="affirm")
    threads = select(func.count()).select_from(MessageThread)
    with fresh_action_portal.transaction() as s:
        before = s.scalar(threads)
    said = talk.run(ActionSendMessage())
    assert [m["text"] for m in said] == [emergency_response("medical", channel)]
    with fresh_action_portal.transaction() as s:
        assert s.scalar(threads) == before
