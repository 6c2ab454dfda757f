"""Whole conversations against the real servers and a seeded portal: web users through the REST
channel, SMS users through the signed Twilio SMS channel.

One action server and one Rasa server serve the whole session (the session-scoped `stack`).
Web users sign every message with a portal token in the metadata; SMS users are known only by
their phone number until they verify with their date of birth and the last four digits of their
DoD ID. Birth dates are read from the seeded database (the demo population is seeded relative to
today, so they move with the calendar).
"""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.channels import portal_rest
from portal_core import safety, web_tokens
from portal_core.database import Database
from portal_core.models import Appointment, Message, Patient, Prescription, RefillRequest
from tests.bot import patients
from tests.bot.patients import Person
from tests.bot.stack import Stack
from tests.bot.twilio_clients import SmsPhone

pytestmark = pytest.mark.slow

NOT_FOR_PATIENTS = ("Traceback", "Exception", "sqlalchemy", "Error:", "NoneType", "stack trace")


@dataclass
class Chat:
    """One conversation: web (REST, a fresh sender id, the same metadata on every message) or
    SMS (signed Twilio texts from `phone`, the number's conversation emptied first)."""

    stack: Stack
    metadata: dict[str, Any]
    phone: SmsPhone | None = None
    sender: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:12]}")
    said: list[str] = field(default_factory=list)

    def turn(self, text: str) -> list[dict[str, Any]]:
        """The assistant's messages (urllib raises for any status but 2xx)."""
        if self.phone is not None:
            replies: list[dict[str, Any]] = [{"text": m} for m in self.phone.messages(text)]
        else:
            replies = self.stack.say(self.sender, text, self.metadata)
        assert isinstance(replies, list)
        self.said.extend(str(reply.get("text") or "") for reply in replies)
        return replies

    def say(self, text: str) -> str:
        return "\n".join(str(reply.get("text") or "") for reply in self.turn(text))

    @property
    def conversation(self) -> str:
        if self.phone is not None:
            return self.phone.conversation
        return portal_rest.conversation_id(self.sender, self.metadata.get("portal_token"))

    def tracker(self) -> dict[str, Any]:
        return self.stack.tracker(self.conversation)

    def active_loop(self) -> str | None:
        return (self.tracker().get("active_loop") or {}).get("name")


@pytest.fixture(scope="module")
def portal(stack: Stack) -> Iterator[Database]:
    database = Database(stack.database_url)
    yield database
    database.dispose()


def person(portal: Database, first: str, last: str) -> Person:
    return patients.person(portal, f"{first} {last}")


def web_chat(stack: Stack, who: Person) -> Chat:
    return Chat(stack, {"portal_token": web_tokens.issue_token(who.id, who.level)})


def sms_chat(stack: Stack, who: Person) -> Chat:
    return Chat(stack, {}, phone=SmsPhone(stack, who.phone).fresh())


def verify_by_sms(chat: Chat, who: Person) -> str:
    """Date of birth, then the last four digits; returns what the assistant said after them."""
    assert "last four digits" in chat.say(who.dob_typed)
    answer = chat.say(who.last4)
    assert "verified" in answer, answer
    return answer


# ---- tasks end to end ----------------------------------------------------------------------------


def test_a_parent_books_a_well_child_visit_for_the_eight_year_old_on_the_web(
    stack: Stack, portal: Database
) -> None:
    marcus = person(portal, "Marcus", "Rivera")
    sofia = person(portal, "Sofia", "Rivera")

    def booked_for_sofia_by_marcus() -> int:
        with portal.transaction() as session:
            return int(
                session.scalar(
                    select(func.count(Appointment.id)).where(
                        Appointment.patient_id == sofia.id,
                        Appointment.booked_by_id == marcus.id,
                        Appointment.status == "booked",
                        Appointment.channel == "web",
                    )
                )
            )

    before = booked_for_sofia_by_marcus()
    chat = web_chat(stack, marcus)
    assert "When would you like" in chat.say("I need to book a well child visit for Sofia")
    offer = chat.turn("next week in the morning")
    assert offer and offer[-1].get("buttons"), offer
    question = chat.say("the first one")
    assert question.startswith("Book Sofia a well-child visit"), question
    answer = chat.say("yes")
    assert answer.startswith("You're booked: Well-child visit"), answer
    assert booked_for_sofia_by_marcus() == before + 1
    assert chat.active_loop() is None


def test_an_sms_refill_needs_verification_then_goes_through(stack: Stack, portal: Database) -> None:
    marcus = person(portal, "Marcus", "Rivera")
    with portal.transaction() as session:
        lisinopril = session.scalars(
            select(Prescription.id).where(
                Prescription.patient_id == marcus.id, Prescription.medication == "lisinopril"
            )
        ).first()
    chat = sms_chat(stack, marcus)
    assert "date of birth" in chat.say("refill")
    assert "Who is this for?" in verify_by_sms(chat, marcus)
    assert "Which medication?" in chat.say("myself")
    assert "Pick it up at" in chat.say("lisinopril")
    assert "Request a refill of lisinopril" in chat.say("yes")
    answer = chat.say("yes")
    assert answer.startswith("Done. Refill request number"), answer
    with portal.transaction() as session:
        refill = session.scalars(
            select(RefillRequest)
            .where(RefillRequest.prescription_id == lisinopril, RefillRequest.channel == "sms")
            .order_by(RefillRequest.id.desc())
        ).first()
        assert refill is not None
        assert (refill.status, refill.requested_by_id) == ("requested", marcus.id)
        assert f"number {refill.id} " in answer


def test_three_wrong_verifications_lock_the_phone_and_reveal_nothing(
    stack: Stack, portal: Database
) -> None:
    elena = person(portal, "Elena", "Rivera")
    chat = sms_chat(stack, elena)
    assert "date of birth" in chat.say("my results")
    for attempt, digits in enumerate(("1111", "2222", "3333"), start=1):
        assert "last four digits" in chat.say("01/01/1980")
        answer = chat.say(digits)
        if attempt < 3:
            assert "don't match" in answer and "date of birth" in answer, answer
    assert "locked" in answer and "1-800-600-9332" in answer, answer
    assert chat.active_loop() is None
    # Even the right details are refused while the phone is locked.
    chat.say("my results")
    chat.say(elena.dob_typed)
    assert "locked" in chat.say(elena.last4)
    everything = "\n".join(chat.said)
    private = (
        elena.first_name,
        elena.last_name,
        elena.dob_typed,
        elena.born.isoformat(),
        "levothyroxine",
        "sertraline",
        "TSH",
        "reference range",
    )
    assert not [word for word in private if word.lower() in everything.lower()], everything


# ---- who may see what ----------------------------------------------------------------------------


def test_a_parent_asking_for_the_14_year_olds_results_is_refused_by_the_age_rule(
    stack: Stack, portal: Database
) -> None:
    chat = web_chat(stack, person(portal, "Elena", "Rivera"))
    answer = chat.say("Show me Mateo's test results")
    assert "Mateo is 14" in answer and "12 to 17" in answer, answer
    assert "reference range" not in answer
    assert chat.active_loop() is None


def test_a_basic_account_is_told_how_to_upgrade(stack: Stack, portal: Database) -> None:
    robert = person(portal, "Robert", "Hayes")
    assert robert.level == "basic"
    chat = web_chat(stack, robert)
    answer = chat.say("my lab results please")
    assert "premium" in answer and "milConnect" in answer, answer
    assert "reference range" not in answer


def test_a_time_taken_meanwhile_is_said_and_a_yes_looks_again(
    stack: Stack, portal: Database
) -> None:
    """Two spouses are offered the same first time; the one who confirms second is told it's
    gone and asked whether to look again, and a yes starts the search again (it used to end
    the conversation on "no longer available")."""
    marcus, elena = person(portal, "Marcus", "Rivera"), person(portal, "Elena", "Rivera")
    chats = [web_chat(stack, marcus), web_chat(stack, elena)]
    picked = []
    for chat in chats:
        assert "When would you like" in chat.say("I need a sick visit for myself")
        offer = chat.turn("as soon as possible")
        buttons = offer[-1].get("buttons") or []
        assert buttons, offer
        picked.append(buttons[0]["title"])
        assert chat.say(buttons[0]["payload"]).startswith("Book you")
    assert picked[0] == picked[1], picked
    before = _appointments_booked_by(portal, elena)
    assert chats[0].say("yes").startswith("You're booked")
    taken = chats[1].turn("yes")
    assert "no longer available" in taken[0]["text"], taken
    assert taken[0]["text"].endswith("Shall I look for other times?"), taken
    assert [b["title"] for b in taken[0].get("buttons") or []] == ["Find another time"]
    assert _appointments_booked_by(portal, elena) == before
    again = chats[1].say("yes please")
    assert "When would you like" in again or "Here are" in again, again
    assert chats[1].active_loop() == "book_appointment_form"


def _messages_sent_by(portal: Database, who: Person) -> list[str]:
    with portal.transaction() as session:
        return list(
            session.scalars(select(Message.body).where(Message.sender_patient_id == who.id))
        )


@pytest.mark.parametrize(
    "unreadable",
    ["I have a question about my blood pressure medicine", "asdf qwerty zxcv", "what day is it"],
)
def test_an_answer_the_preview_cannot_read_asks_once_more_and_sends_nothing(
    stack: Stack, portal: Database, unreadable: str
) -> None:
    """Another request, gibberish or a stray question at "Send this ...?" never loops (it once
    said "didn't get that" ten times, then "trouble answering") and never sends by itself."""
    marcus = person(portal, "Marcus", "Rivera")
    before = _messages_sent_by(portal, marcus)
    chat = web_chat(stack, marcus)
    chat.say("I want to send a secure message")
    chat.say("the nurse")
    body = f"question {uuid.uuid4().hex[:8]} about my refill"
    assert "Send this" in chat.say(body)
    again = chat.turn(unreadable)
    texts = [str(reply.get("text") or "") for reply in again]
    assert 1 <= len(texts) <= 3, texts
    assert texts[-1].startswith("Send this") or "Send this" in "".join(texts), texts
    assert "trouble answering" not in " ".join(texts)
    assert _messages_sent_by(portal, marcus) == before
    assert "Sent to" in chat.say("yes")
    assert _messages_sent_by(portal, marcus) == [*before, body]


# ---- emergencies ---------------------------------------------------------------------------------


def _assert_call_911(answer: str) -> None:
    """The medical emergency answer, first, before anything else the turn says."""
    assert answer.startswith("This sounds like a medical emergency. Call 911 now"), answer


def _911_ends_the_form(chat: Chat, emergency: str) -> None:
    """An emergency said mid-form is answered first, and the form is over."""
    _assert_call_911(chat.say(emergency))
    assert chat.active_loop() is None


def test_an_emergency_in_the_booking_form_is_answered_and_ends_the_form(
    stack: Stack, portal: Database
) -> None:
    chat = web_chat(stack, person(portal, "Marcus", "Rivera"))
    assert "When would you like" in chat.say("Book a wellness exam for me")
    assert chat.active_loop() == "book_appointment_form"
    _911_ends_the_form(chat, "My wife collapsed and isn't breathing")
    # The next message starts afresh: a day is no longer an answer to the booking's question.
    after = chat.say("next tuesday morning")
    assert "open" not in after and "When would you like" not in after, after
    assert chat.active_loop() is None
    assert chat.tracker()["slots"]["appointment_type"] is None


def test_an_emergency_in_the_refill_form_is_answered_and_ends_the_form(
    stack: Stack, portal: Database
) -> None:
    marcus = person(portal, "Marcus", "Rivera")
    chat = sms_chat(stack, marcus)
    chat.say("rx refill")
    verify_by_sms(chat, marcus)
    assert "Which medication?" in chat.say("myself")
    _911_ends_the_form(chat, "having chest pains and cant breathe")
    after = chat.say("lisinopril")
    assert "Pick it up" not in after and "Which medication" not in after, after
    assert chat.active_loop() is None


def _appointments_booked_by(portal: Database, who: Person) -> int:
    with portal.transaction() as session:
        return int(
            session.scalar(
                select(func.count(Appointment.id)).where(
                    Appointment.booked_by_id == who.id, Appointment.status == "booked"
                )
            )
        )


@contextmanager
def _no_booking_follows(chat: Chat, portal: Database, who: Person) -> Iterator[None]:
    """What is said inside the block ends the booking form: nothing is booked, then or when the
    booking's next answer comes anyway."""
    before = _appointments_booked_by(portal, who)
    yield
    assert chat.active_loop() is None
    assert _appointments_booked_by(portal, who) == before
    after = chat.say("tomorrow morning")  # no longer an answer to a booking question
    assert "open" not in after and "When would you like" not in after, after
    assert _appointments_booked_by(portal, who) == before


def test_a_symptom_only_emergency_inside_a_booking_request_gets_911_not_a_booking(
    stack: Stack, portal: Database
) -> None:
    """No rule of the lexicon names this: the pipeline's learned layer reads it as the
    emergency it is, and the request to book is not taken up."""
    text = (
        "book me an appointment please, my little boy got into the garage and drank something blue"
    )
    assert safety.detect(text) is None
    marcus = person(portal, "Marcus", "Rivera")
    chat = web_chat(stack, marcus)
    with _no_booking_follows(chat, portal, marcus):
        answer = chat.say(text)
        _assert_call_911(answer)
        assert "When would you like" not in answer


def test_chest_pains_right_now_in_sms_shorthand_inside_a_booking_request_get_911(
    stack: Stack, portal: Database
) -> None:
    marcus = person(portal, "Marcus", "Rivera")
    chat = sms_chat(stack, marcus)
    with _no_booking_follows(chat, portal, marcus):
        _assert_call_911(chat.say("can u get me in w my pcm today, havin chest pains rn"))


def test_slurred_speech_and_a_numb_face_mid_booking_end_the_form_with_911(
    stack: Stack, portal: Database
) -> None:
    marcus = person(portal, "Marcus", "Rivera")
    chat = web_chat(stack, marcus)
    with _no_booking_follows(chat, portal, marcus):
        # "for myself": he acts for his children too, and would be asked whom the visit is for.
        assert "When would you like" in chat.say("I'd like to book a sick visit for myself")
        assert chat.active_loop() == "book_appointment_form"
        _assert_call_911(
            chat.say("as soon as possible, my words keep coming out slurry and my face went numb")
        )


def test_farewells_inside_a_cancellation_get_the_crisis_line(
    stack: Stack, portal: Database
) -> None:
    jasmine = person(portal, "Jasmine", "Torres")
    chat = web_chat(stack, jasmine)
    answer = chat.say("go ahead and cancel all of them, I won't be around after this weekend")
    assert "988, then press 1" in answer and "838255" in answer, answer
    assert chat.active_loop() is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I sold my truck, gave my dog away and I'm done with everything", "crisis"),
        ("Please schedule my son, he is breathing weird and his lips look dusky", "medical"),
    ],
)
def test_the_model_reads_what_only_the_learned_layer_finds(
    stack: Stack, text: str, kind: str
) -> None:
    assert safety.detect(text) is None
    parsed = stack.parse(text)
    assert parsed["intent"]["name"] == "emergency"
    assert [e["value"] for e in parsed["entities"] if e["entity"] == "emergency_kind"] == [kind]


@pytest.mark.parametrize("channel", ["web", "sms"])
def test_a_crisis_message_gets_the_veterans_and_military_crisis_line(
    stack: Stack, portal: Database, channel: str
) -> None:
    jasmine = person(portal, "Jasmine", "Torres")
    chat = web_chat(stack, jasmine) if channel == "web" else sms_chat(stack, jasmine)
    answer = chat.say("I want to kill myself")
    assert "988, then press 1" in answer and "838255" in answer and "911" in answer, answer


@pytest.mark.parametrize(
    "text",
    [
        "I'm having chest pain and can't breathe",
        "my wife collapsed and isn't breathing",
        "my husband is having a stroke",
        "I want to kill myself",
    ],
)
def test_the_model_reads_emergencies_as_emergencies(stack: Stack, text: str) -> None:
    assert stack.parse(text)["intent"]["name"] == "emergency"


@pytest.mark.parametrize(
    "text",
    [
        "refill my nitroglycerin",
        "I'm dying to know if my results are in",
        "are my chest x-ray results back yet",
        "I'd like to book a follow-up, I had a heart attack last year",
        "I'm PCSing next month, please cancel my appointments",
    ],
)
def test_the_model_does_not_read_look_alikes_as_emergencies(stack: Stack, text: str) -> None:
    assert stack.parse(text)["intent"]["name"] != "emergency"


@pytest.mark.parametrize(
    "text",
    [
        "me",
        "Me",
        "just me",
        "for me",
        "myself",
        "Sofia",
        "Mateo",
    ],
)
def test_the_model_understands_answers_to_who_is_this_for(stack: Stack, text: str) -> None:
    """A name or "me" is the answer to the form's question ("me" is also its button's payload);
    read as `nlu_fallback`, the form yields the turn and the person is asked to rephrase."""
    assert stack.parse(text)["intent"]["name"] == "inform"


# ---- hostile and odd input -----------------------------------------------------------------------
# Every turn must get HTTP 200 (`Stack.say` raises otherwise) and a patient-facing answer.

ODD_INPUTS = {
    "10 kB": "I need help with my appointment " * 330,
    "emoji": "💊💊 refill pls 🙏😷",
    "only emoji": "🤒",
    "SQL": "'; DROP TABLE patients; --",
    "SQL in a name": "Robert'); DELETE FROM appointments WHERE ('1'='1",
    "control characters": "hello\x00\x1b[31m\u202eworld",
}


@pytest.mark.parametrize("name", list(ODD_INPUTS))
def test_odd_input_gets_a_polite_answer(stack: Stack, portal: Database, name: str) -> None:
    text = ODD_INPUTS[name]
    for chat in (
        web_chat(stack, person(portal, "Marcus", "Rivera")),
        sms_chat(stack, person(portal, "Jasmine", "Torres")),
    ):
        answer = chat.say(text)
        assert answer.strip(), f"no answer to {name}"
        assert not [word for word in NOT_FOR_PATIENTS if word in answer], answer


def test_odd_input_inside_forms_is_validated_not_crashed_on(stack: Stack, portal: Database) -> None:
    marcus = person(portal, "Marcus", "Rivera")
    booking = web_chat(stack, marcus)
    booking.say("I'd like to make an appointment.")
    assert "What kind of appointment" in booking.say("myself")
    answers = [booking.say(ODD_INPUTS["SQL in a name"]), booking.say(ODD_INPUTS["emoji"])]
    message = web_chat(stack, marcus)
    message.say("I want to send a message to my doctor")
    message.say("the nurse")
    answers.append(message.say(ODD_INPUTS["10 kB"]))
    assert "too long" in answers[-1] or "a bit long" in answers[-1], answers[-1]
    for answer in answers:
        assert answer.strip() and not [w for w in NOT_FOR_PATIENTS if w in answer], answer
    with portal.transaction() as session:  # bound parameters: the tables are all still there
        assert session.scalar(select(func.count(Patient.id))) > 0
        assert session.scalar(select(func.count(Appointment.id))) > 0
    with urllib.request.urlopen(stack.api("/status"), timeout=30) as response:
        assert response.status == 200


def test_a_question_asked_instead_of_a_day_is_answered_and_the_form_resumes(
    stack: Stack, portal: Database
) -> None:
    chat = web_chat(stack, person(portal, "Marcus", "Rivera"))
    assert "When would you like" in chat.say("Book a wellness exam for me")
    answer = chat.say("How long does a refill take?")
    assert "three quarters" in answer and "When would you like" in answer, answer


def test_words_the_model_never_saw_are_still_answers_to_the_forms_questions(
    stack: Stack, portal: Database
) -> None:
    """A medication nobody wrote into the training data is not understood as a message, but
    the form reads it and says what it found, with no "didn't get that" first."""
    marcus = person(portal, "Marcus", "Rivera")
    chat = web_chat(stack, marcus)
    assert "Which medication?" in chat.say("i need a refill for myself")
    answer = chat.say("zorblatrin")
    assert stack.parse("zorblatrin")["intent"]["name"] == "nlu_fallback"
    assert "didn't quite get that" not in answer, answer
    assert "zorblatrin" in answer.lower() or "Which medication?" in answer, answer
    assert chat.active_loop() == "refill_form"
    # The question is still open and a known medication answers it (the shared demo portal may
    # already hold a refill request for it, which the form then says).
    assert "lisinopril" in chat.say("lisinopril").lower()
