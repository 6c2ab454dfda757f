"""The Twilio voice channel: signatures, retries, keypad, silence, transfers, failures, calls.

The first part drives `TwilioVoiceInput`'s webhooks in-process with real Sanic requests, signed
by the twilio library exactly as Twilio signs them, against the portal database on SQLite and
PostgreSQL; a small stand-in plays Rasa's message handler so each test controls what the bot
says (and can make it fail or run late). Every answer is parsed as XML and its verbs asserted.
The second part calls the real, running stack: whole calls for booking, refill and results.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from sanic import Sanic
from sanic.request import Request
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot.actions.asking import QUESTIONS
from bot.channels import cli_call, twilio_voice
from bot.channels.twilio_common import TwilioSettings, TwilioWebhook
from bot.channels.twilio_voice import TRY_AGAIN, TwilioVoiceInput, VoiceSettings
from channel_state import conversations, deliveries
from channel_state.conversations import Choice
from channel_state.models import WebhookDelivery
from portal_core import identity
from portal_core.database import Database
from portal_core.models import VerifiedSession
from tests.bot.stack import TWILIO_TEST_PUBLIC_URL, TWILIO_TEST_TOKEN, Stack
from tests.bot.twilio_clients import demo_identity
from tests.bot.twilio_fakes import FakeRasa, Reply, sanic_request
from tests.factories import make_clinic, make_patient, make_pharmacy
from wording.catalogue import emergency_response, render

TOKEN = TWILIO_TEST_TOKEN
PUBLIC = TWILIO_TEST_PUBLIC_URL
BASE = "/webhooks/twilio_voice/"
CALLER = "+12545550100"
APP = Sanic("twilio_voice_tests")
ASCII_DIGIT = re.compile(r"[0-9]")


# --- Requests as Twilio sends them -------------------------------------------------------


def call_form(sid: str | None = None, **fields: str | None) -> dict[str, str]:
    form = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": sid or "CA" + secrets.token_hex(16),
        "From": CALLER,
        "To": "+15005550006",
        "CallStatus": "in-progress",
        "Direction": "inbound",
    }
    for name, value in fields.items():
        if value is None:
            form.pop(name, None)
        else:
            form[name] = value
    return form


def signed(
    endpoint: str,
    form: dict[str, str],
    *,
    raw_body: bytes | None = None,
    token: str = TOKEN,
    url: str | None = None,
    signature: str | None = "sign",
) -> Request:
    """A POST as Sanic hands it to the channel; `endpoint` may carry a query ("turn?step=1")."""
    path = BASE + endpoint
    return sanic_request(
        APP,
        path,
        form,
        raw_body=raw_body,
        token=token,
        url=url or PUBLIC + path,
        signature=signature,
    )


def twiml(body: str) -> ET.Element:
    root = ET.fromstring(body)
    assert root.tag == "Response"
    return root


def said(element: ET.Element) -> str:
    """Everything the element's <Say>s say, as one string."""
    return " ".join(" ".join(" ".join(s.itertext()).split()) for s in element.iter("Say"))


def gathers(root: ET.Element) -> list[ET.Element]:
    return [verb for verb in root if verb.tag == "Gather"]


# --- A stand-in for Rasa's message handler: tests.bot.twilio_fakes.FakeRasa -------------


def says(*messages: dict[str, Any]) -> Reply:
    return lambda message: list(messages)


YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


def make_channel(
    db: Database,
    *,
    token: str | None = TOKEN,
    timeout: float = 5.0,
    voice: VoiceSettings | None = None,
    hints: str | None = None,
) -> TwilioVoiceInput:
    settings = TwilioSettings(
        auth_token=token, public_base_url=PUBLIC, reply_timeout=timeout, database_url=db.url
    )
    return TwilioVoiceInput(
        TwilioWebhook("voice", settings, database=db), voice or VoiceSettings(), hints=hints
    )


@dataclass
class Caller:
    """One call to an in-process channel, step by step, as Twilio would make it."""

    channel: TwilioVoiceInput
    rasa: FakeRasa = field(default_factory=FakeRasa)
    sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    step: int = 0

    def dial_in(self) -> ET.Element:
        status, body = self.post("webhook", call_form(self.sid, CallStatus="ringing"))
        assert status == 200
        return twiml(body)

    def answer(self, **fields: str) -> ET.Element:
        self.step += 1
        status, body = self.post(f"turn?step={self.step}", call_form(self.sid, **fields))
        assert status == 200
        return twiml(body)

    def post(self, endpoint: str, form: dict[str, str], **kwargs: Any) -> tuple[int, str]:
        return run(self.channel, signed(endpoint, form, **kwargs), self.rasa)


def run(channel: TwilioVoiceInput, request: Request, rasa: FakeRasa) -> tuple[int, str]:
    path = request.path.rsplit("/", 1)[-1]
    handler = {
        "webhook": channel.handle_incoming,
        "status": channel.handle_status,
        "dialed": channel.handle_dialed,
    }.get(path)
    coroutine = handler(request) if handler else channel.handle_turn(request, rasa)
    response = asyncio.run(coroutine)
    return response.status, response.body.decode()


def deliveries_stored(db: Database) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(WebhookDelivery)) or 0


# --- Answering a call --------------------------------------------------------------------


def test_a_call_is_greeted_with_the_911_notice_and_the_keypad_menu(db: Database) -> None:
    root = Caller(make_channel(db)).dial_in()
    first, second, third = gathers(root)
    assert first.attrib == {
        "action": "turn?step=1",
        "method": "POST",
        "input": "speech dtmf",
        "bargeIn": "true",
        "speechTimeout": "auto",
        "language": "en-US",
        "finishOnKey": "#",
        "numDigits": "1",
        "timeout": "6",
        "profanityFilter": "false",
        "actionOnEmptyResult": "false",
        "hints": first.get("hints"),
    }
    greeting = said(first)
    assert "If this is a medical emergency, hang up and dial nine one one." in greeting
    assert (
        "Say or press one for appointments, two for prescription refills, three for test "
        "results, or four for a message to your care team. Press zero to talk to someone."
    ) in greeting
    assert not ASCII_DIGIT.search(greeting)
    assert said(second).startswith(twilio_voice.NOT_HEARD)
    assert said(third).startswith(twilio_voice.STILL_NOT_HEARD)


def test_speech_hints_name_medications_and_the_clinics_in_the_database(db: Database) -> None:
    with db.transaction() as s:
        clinic = make_clinic(s, name="Pediatrics Clinic")
        make_pharmacy(s, clinic)
    hints = Caller(make_channel(db)).dial_in()[0].get("hints") or ""
    names = hints.split(", ")
    for expected in ("lisinopril", "metformin", "albuterol", "Zoloft".lower(), "Pediatrics Clinic"):
        assert expected in names
    assert "Carl R. Darnall Army Medical Center" in names
    assert any(name.startswith("Main Outpatient Pharmacy") for name in names)
    assert len(names) <= twilio_voice.MAX_HINTS
    assert all(0 < len(name) <= twilio_voice.MAX_HINT_CHARS for name in names)
    assert len(names) == len({n.lower() for n in names})


@pytest.mark.parametrize(
    ("fields", "payload"),
    [
        ({"Digits": "1"}, "/book_appointment"),
        ({"Digits": "2"}, "/request_refill"),
        ({"Digits": "3"}, "/check_results"),
        ({"Digits": "4"}, "/send_message"),
        ({"Digits": "0"}, "/human_handoff"),
        ({"SpeechResult": "Three."}, "/check_results"),
        ({"SpeechResult": "3"}, "/check_results"),
        ({"SpeechResult": "Option two, please"}, "/request_refill"),
        ({"SpeechResult": "Test results."}, "/check_results"),
        ({"SpeechResult": "I need to refill my inhaler"}, "I need to refill my inhaler"),
        ({"Digits": "7"}, "7"),
    ],
)
def test_the_menu_is_answered_by_keypad_or_by_voice(
    db: Database, fields: dict[str, str], payload: str
) -> None:
    caller = Caller(make_channel(db))
    caller.dial_in()
    caller.answer(**fields)
    [message] = caller.rasa.received
    assert message.text == payload


def test_each_turn_reaches_the_bot_as_its_own_voice_conversation(db: Database) -> None:
    caller = Caller(make_channel(db))
    caller.dial_in()
    caller.answer(SpeechResult="I need an appointment")
    [message] = caller.rasa.received
    assert message.sender_id == f"voice:{caller.sid}"
    assert message.input_channel == "twilio_voice"
    assert message.metadata == {"channel": "voice", "phone": CALLER}
    assert message.message_id == f"{caller.sid}:1"


def test_buttons_are_read_as_a_menu_and_a_key_sends_that_buttons_payload(db: Database) -> None:
    caller = Caller(make_channel(db))
    caller.rasa.reply = says({"text": "Request a refill of lisinopril?", "buttons": YES_NO})
    root = caller.answer(SpeechResult="refill my lisinopril")
    first = gathers(root)[0]
    assert said(first) == (
        "Request a refill of lisinopril? Say or press one for Yes, or two for No."
    )
    assert first.get("numDigits") == "1" and first.get("action") == "turn?step=2"
    caller.rasa.reply = says({"text": "Done."})
    caller.answer(Digits="2")
    caller.answer(SpeechResult="Yes.")  # the previous answer offered nothing: plain speech
    assert caller.rasa.texts == ["refill my lisinopril", "/deny", "Yes."]


def test_a_spoken_button_title_selects_it(db: Database) -> None:
    caller = Caller(make_channel(db))
    caller.rasa.reply = says(
        {
            "text": "Which appointment?",
            "buttons": [
                {"title": "Tuesday, December 1 at 9:30 AM CST", "payload": '/inform{"choice":"7"}'},
                {"title": "Wellness exam", "payload": '/inform{"choice":"9"}'},
            ],
        }
    )
    root = caller.answer(SpeechResult="cancel my appointment")
    assert (
        "Say or press one for Tuesday, December first at nine thirty in the morning, Central "
        "time, or two for Wellness exam."
    ) in said(gathers(root)[0])
    caller.answer(SpeechResult="wellness exam")
    assert caller.rasa.texts[-1] == '/inform{"choice":"9"}'


def test_date_of_birth_and_dod_digits_are_keyed_and_passed_as_text(db: Database) -> None:
    caller = Caller(make_channel(db))
    caller.rasa.reply = says({"text": render(QUESTIONS["dob"], "voice")})
    root = caller.answer(SpeechResult="show my results")
    first = gathers(root)[0]
    assert first.get("numDigits") == "8"
    assert first.get("finishOnKey") == "#"
    assert first.get("input") == "speech dtmf"
    assert first.get("timeout") == "10"
    caller.rasa.reply = says({"text": render(QUESTIONS["dod_last4"], "voice")})
    root = caller.answer(Digits="06151985")
    assert gathers(root)[0].get("numDigits") == "4"
    caller.rasa.reply = says({"text": "Thank you, you're verified."})
    root = caller.answer(Digits="1234")
    assert gathers(root)[0].get("numDigits") is None
    assert caller.rasa.texts == ["show my results", "06151985", "1234"]


# --- Silence -----------------------------------------------------------------------------


def test_silence_is_met_with_the_question_twice_then_a_goodbye(db: Database) -> None:
    caller = Caller(make_channel(db))
    caller.rasa.reply = says(
        {"text": "Here are your appointments."}, {"text": "Anything else?", "buttons": YES_NO}
    )
    root = caller.answer(SpeechResult="my appointments")
    verbs = [v.tag for v in root]
    assert verbs == ["Gather", "Gather", "Gather", "Say", "Hangup"]
    first, second, third = gathers(root)
    assert said(first).startswith("Here are your appointments. Anything else?")
    menu = "Say or press one for Yes, or two for No."
    # The repeats ask the last question only, not everything said before it.
    assert said(second) == f"{twilio_voice.NOT_HEARD} Anything else? {menu}"
    assert said(third) == f"{twilio_voice.STILL_NOT_HEARD} Anything else? {menu}"
    assert all(g.get("action") == "turn?step=2" for g in (first, second, third))
    assert said(root[3]) == twilio_voice.SILENT_GOODBYE


def test_with_a_transfer_number_silence_ends_in_a_transfer(db: Database) -> None:
    voice = VoiceSettings(transfer_number="+18006009332")
    root = Caller(make_channel(db, voice=voice)).dial_in()
    assert [v.tag for v in root] == ["Gather", "Gather", "Gather", "Say", "Dial", "Hangup"]
    assert said(root[3]) == twilio_voice.SILENT_TRANSFER
    assert root[4].text == "+18006009332"


def test_an_empty_answer_is_asked_again_without_bothering_the_bot(db: Database) -> None:
    caller = Caller(make_channel(db))
    caller.dial_in()
    root = caller.answer(SpeechResult="  ")
    assert said(gathers(root)[0]).startswith(twilio_voice.DIDNT_CATCH)
    assert caller.rasa.received == []
    caller.answer(Digits="3")  # the menu is still open
    assert caller.rasa.texts == ["/check_results"]


# --- Emergencies and transfers -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["medical", "crisis"])
def test_an_emergency_is_said_and_the_call_ends_without_menus(db: Database, kind: str) -> None:
    words = emergency_response(kind, "voice")
    caller = Caller(make_channel(db))
    caller.rasa.reply = says({"text": words}, {"custom": {"emergency": kind}})
    root = caller.answer(SpeechResult="I can't breathe")
    assert [v.tag for v in root] == ["Say", "Hangup"]
    spoken = said(root)
    assert "nine one one" in spoken
    if kind == "crisis":
        assert "nine eight eight, then press one" in spoken
    assert not list(root.iter("Gather"))
    assert conversations.offered_choices(db, f"voice:{caller.sid}") == []


def test_an_emergency_payload_alone_still_says_the_instruction(db: Database) -> None:
    caller = Caller(make_channel(db))
    caller.rasa.reply = says({"custom": {"emergency": "medical"}})
    root = caller.answer(SpeechResult="help")
    assert [v.tag for v in root] == ["Say", "Hangup"]
    assert "dial nine one one now" in said(root)


def test_talk_to_someone_transfers_to_the_clinic(db: Database) -> None:
    caller = Caller(make_channel(db))
    caller.rasa.reply = says(
        {"text": "Let me get you to a person. For health questions, call X at 254-555-0110."},
        {"custom": {"handoff": True, "dial": "254-555-0110"}},
    )
    root = caller.answer(SpeechResult="talk to a person")
    assert [v.tag for v in root] == ["Say", "Dial"]
    assert "connecting you to your clinic" in said(root)
    assert "two five four, five five five, zero one one zero" in said(root)
    dial = root[1]
    assert dial.text == "+12545550110"
    assert dial.get("action") == "dialed?step=2"
    assert dial.get("answerOnBridge") == "true"


def test_talk_to_someone_without_a_known_clinic_says_whom_to_call(db: Database) -> None:
    caller = Caller(make_channel(db))
    text = "Let me get you to a person. Please call your clinic's appointment line."
    caller.rasa.reply = says({"text": text}, {"custom": {"handoff": True}})
    root = caller.answer(Digits="0")
    assert caller.rasa.texts == ["/human_handoff"]
    assert not list(root.iter("Dial"))
    assert said(gathers(root)[0]).startswith(text)


def test_talk_to_someone_without_a_known_clinic_goes_to_the_transfer_number(
    db: Database,
) -> None:
    caller = Caller(make_channel(db, voice=VoiceSettings(transfer_number="+18006009332")))
    caller.rasa.reply = says({"text": "Let me get you to a person."}, {"custom": {"handoff": True}})
    root = caller.answer(Digits="0")
    assert [v.tag for v in root] == ["Say", "Dial"]
    assert root[1].text == "+18006009332"
    assert twilio_voice.CONNECTING_FALLBACK in said(root)


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed"])
def test_a_transfer_nobody_answers_offers_help_again(db: Database, status: str) -> None:
    caller = Caller(make_channel(db))
    code, body = caller.post("dialed?step=5", call_form(caller.sid, DialCallStatus=status))
    root = twiml(body)
    assert code == 200
    assert said(gathers(root)[0]).startswith(twilio_voice.DIAL_UNANSWERED)
    assert gathers(root)[0].get("action") == "turn?step=5"
    caller.step = 4
    caller.answer(Digits="2")
    assert caller.rasa.texts == ["/request_refill"]


def test_a_transfer_that_was_answered_ends_the_call(db: Database) -> None:
    caller = Caller(make_channel(db))
    _, body = caller.post("dialed?step=5", call_form(caller.sid, DialCallStatus="completed"))
    assert [v.tag for v in twiml(body)] == ["Say", "Hangup"]


# --- Signatures --------------------------------------------------------------------------

ENDPOINTS = ["webhook", "turn?step=1", "status", "dialed?step=1"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "variant", ["missing", "forged", "wrong-token", "wrong-url", "body-swapped", "no-token"]
)
def test_an_unsigned_or_forged_request_gets_403_and_nothing_is_done(
    db: Database, endpoint: str, variant: str
) -> None:
    form = call_form(SpeechResult="book an appointment", Digits="1", CallStatus="completed")
    kwargs: dict[str, Any] = {}
    channel = make_channel(db, token=None if variant == "no-token" else TOKEN)
    if variant == "missing":
        kwargs["signature"] = None
    elif variant == "forged":
        kwargs["signature"] = "bm90IGEgc2lnbmF0dXJl"
    elif variant == "wrong-token":
        kwargs["token"] = "someone-elses-token"
    elif variant == "wrong-url":
        kwargs["url"] = "http://127.0.0.1:5005" + BASE + endpoint
    elif variant == "body-swapped":
        other = call_form(form["CallSid"], SpeechResult="cancel everything")
        kwargs["raw_body"] = urllib.parse.urlencode(other).encode()
    rasa = FakeRasa()
    conversations.remember_choices(db, f"voice:{form['CallSid']}", [Choice("a", "/a")])
    status, body = run(channel, signed(endpoint, form, **kwargs), rasa)
    assert status == 403
    assert "<Response" not in body
    assert rasa.received == []
    assert deliveries_stored(db) == 0
    assert conversations.offered_choices(db, f"voice:{form['CallSid']}") != []


def test_a_signature_for_another_step_is_refused(db: Database) -> None:
    form = call_form(SpeechResult="hello")
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + BASE + "turn?step=1", form)
    rasa = FakeRasa()
    status, _ = run(make_channel(db), signed("turn?step=2", form, signature=signature), rasa)
    assert status == 403 and rasa.received == []


# --- Retries -----------------------------------------------------------------------------


def test_a_retried_step_is_processed_once_and_answered_the_same(db: Database) -> None:
    caller = Caller(make_channel(db))
    caller.rasa.reply = says({"text": "Booked."})
    form = call_form(caller.sid, SpeechResult="book it")
    first = caller.post("turn?step=3", form)
    second = caller.post("turn?step=3", form)
    assert first == second and first[0] == 200
    assert caller.rasa.texts == ["book it"]
    assert deliveries_stored(db) == 1
    caller.post("turn?step=4", call_form(caller.sid, SpeechResult="thanks"))
    assert caller.rasa.texts == ["book it", "thanks"]


def test_a_retried_greeting_is_the_same_greeting(db: Database) -> None:
    caller = Caller(make_channel(db))
    assert ET.tostring(caller.dial_in()) == ET.tostring(caller.dial_in())
    assert deliveries_stored(db) == 1


def test_a_retry_while_the_step_is_still_answered_waits_then_gives_up_politely(
    db: Database,
) -> None:
    caller = Caller(make_channel(db))
    assert deliveries.claim(db, f"voice:{caller.sid}:2", "voice", f"voice:{caller.sid}").fresh
    form = call_form(caller.sid, SpeechResult="book it")
    _, body = caller.post("turn?step=2", form)
    root = twiml(body)
    assert [v.tag for v in root] == ["Say", "Pause", "Redirect"]
    assert root[2].text == "turn?step=2&wait=1"
    _, body = caller.post(f"turn?step=2&wait={twilio_voice.MAX_WAITS}", form)
    root = twiml(body)
    assert said(gathers(root)[0]).startswith(TRY_AGAIN)
    assert gathers(root)[0].get("action") == "turn?step=3"
    assert caller.rasa.received == []


# --- Malformed requests ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "form"),
    [
        pytest.param("webhook", call_form(CallSid=None), id="incoming-no-callsid"),
        pytest.param("turn?step=1", call_form(CallSid=None), id="turn-no-callsid"),
        pytest.param("turn?step=1", {}, id="empty"),
        pytest.param("turn?step=1", call_form(CallSid="CA" + "x" * 200), id="huge-callsid"),
        pytest.param("turn", call_form(), id="no-step"),
        pytest.param("turn?step=abc", call_form(), id="bad-step"),
        pytest.param("turn?step=99999999", call_form(), id="huge-step"),
    ],
)
def test_a_signed_but_malformed_request_is_answered_politely(
    db: Database, endpoint: str, form: dict[str, str]
) -> None:
    rasa = FakeRasa()
    status, body = run(make_channel(db), signed(endpoint, form), rasa)
    assert status == 200
    root = twiml(body)
    assert said(root) and root[-1].tag == "Hangup"
    assert rasa.received == []
    assert deliveries_stored(db) == 0


def test_a_10_kb_speech_result_is_cut_to_what_a_caller_can_say(db: Database) -> None:
    caller = Caller(make_channel(db))
    root = caller.answer(SpeechResult="refill " * 1500)
    assert gathers(root)
    assert len(caller.rasa.texts[0]) <= twilio_voice.MAX_SPEECH_CHARS


def test_emoji_and_control_characters_are_answered_cleanly(db: Database) -> None:
    caller = Caller(make_channel(db))
    caller.rasa.reply = says({"text": "Sorry you feel 🤒. Is it urgent?\x07"})
    root = caller.answer(SpeechResult="I feel 🤒\x00 today")
    assert caller.rasa.texts == ["I feel 🤒 today"]
    assert said(gathers(root)[0]) == "Sorry you feel. Is it urgent?"


def test_non_utf8_bytes_are_answered_cleanly(db: Database) -> None:
    caller = Caller(make_channel(db))
    raw = f"CallSid={caller.sid}&From=%2B12545550100&SpeechResult=caf\xe9+%FF".encode("latin-1")
    decoded = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), errors="replace"))
    status, body = caller.post("turn?step=1", decoded, raw_body=raw)
    assert status == 200 and gathers(twiml(body))
    assert caller.rasa.texts == ["caf\ufffd \ufffd"]


def test_a_withheld_caller_id_still_reaches_the_bot_without_a_phone(db: Database) -> None:
    caller = Caller(make_channel(db))
    caller.post("turn?step=1", call_form(caller.sid, From="anonymous", SpeechResult="hi"))
    assert caller.rasa.received[0].metadata == {"channel": "voice", "phone": None}


# --- Failures and slow turns -------------------------------------------------------------


def test_a_failing_bot_gets_a_polite_try_again_and_listens_again(db: Database) -> None:
    caller = Caller(make_channel(db))
    caller.rasa.fail = True
    root = caller.answer(SpeechResult="book an appointment")
    first = gathers(root)[0]
    assert said(first).startswith(TRY_AGAIN)
    assert first.get("action") == "turn?step=2"
    assert root[-1].tag == "Hangup" and len(gathers(root)) == 3


def test_a_slow_turn_says_try_again_then_speaks_its_answer_with_the_next_one(
    db: Database,
) -> None:
    channel = make_channel(db, timeout=0.2)
    rasa = FakeRasa(reply=says({"text": "You're booked for Tuesday."}), delay=0.5)
    sid = "CA" + secrets.token_hex(16)

    async def call() -> tuple[str, str]:
        slow = await channel.handle_turn(
            signed("turn?step=1", call_form(sid, SpeechResult="book me in")), rasa
        )
        await asyncio.sleep(0.6)  # the slow turn finishes in the background
        rasa.delay = 0
        rasa.reply = says({"text": "Anything else?"})
        after = await channel.handle_turn(
            signed("turn?step=2", call_form(sid, SpeechResult="thanks")), rasa
        )
        return slow.body.decode(), after.body.decode()

    slow, after = asyncio.run(call())
    assert said(gathers(twiml(slow))[0]).startswith(TRY_AGAIN)
    assert said(gathers(twiml(after))[0]).startswith(
        f"{twilio_voice.LATE} You're booked for Tuesday. Anything else?"
    )


def test_when_the_database_is_down_the_caller_still_hears_a_polite_answer(
    db: Database,
) -> None:
    broken = Database("sqlite:////nonexistent/dir/portal.db")
    channel = make_channel(db)
    channel.webhook = TwilioWebhook("voice", channel.webhook.settings, database=broken)
    caller = Caller(channel)
    root = caller.answer(SpeechResult="refill")
    assert said(gathers(root)[0]).startswith(TRY_AGAIN)
    assert caller.rasa.received == []


# --- Call status -------------------------------------------------------------------------


def test_a_finished_call_ends_the_verification_and_forgets_the_choices(db: Database) -> None:
    with db.transaction() as s:
        make_patient(s, phone=CALLER, date_of_birth=date(1985, 6, 15), dod_id="1234561234")
    caller = Caller(make_channel(db))
    conversation = f"voice:{caller.sid}"
    identity.verify(db, CALLER, conversation, "voice", "1985-06-15", "1234")
    conversations.remember_choices(db, conversation, [Choice("Yes", "/affirm")])

    def verified() -> bool:
        found = identity.current_identity(db, conversation, channel="voice", phone=CALLER)
        return found is not None

    assert verified()

    status, body = caller.post("status", call_form(caller.sid, CallStatus="ringing"))
    assert status == 200 and verified()

    status, body = caller.post("status", call_form(caller.sid, CallStatus="completed"))
    assert status == 200 and twiml(body) is not None
    assert not verified()
    assert conversations.offered_choices(db, conversation) == []
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(VerifiedSession)) == 0


# --- Voices ------------------------------------------------------------------------------


def test_polly_voices_get_ssml_pauses_and_basic_voices_do_not(db: Database) -> None:
    reply = says({"text": "Your results:\n- Glucose 106 mg/dL\n- TSH 5.8 mIU/L"})
    polly = Caller(make_channel(db, voice=VoiceSettings(voice="Polly.Matthew")), FakeRasa(reply))
    say = gathers(polly.answer(SpeechResult="results"))[0].find("Say")
    assert say is not None and say.get("voice") == "Polly.Matthew"
    assert [b.get("time") for b in say.iter("break")] == ["500ms", "500ms"]
    assert "one hundred six milligrams per deciliter" in said(say)

    basic = VoiceSettings(voice="alice", language="en-GB")
    alice = Caller(make_channel(db, voice=basic), FakeRasa(reply))
    root = alice.answer(SpeechResult="results")
    say = gathers(root)[0].find("Say")
    assert say is not None and say.get("voice") == "alice" and say.get("language") == "en-GB"
    assert list(say.iter("break")) == []
    assert gathers(root)[0].get("language") == "en-GB"


def test_voice_and_language_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_VOICE", "Google.en-US-Neural2-F")
    monkeypatch.setenv("TWILIO_LANGUAGE", "es-US")
    monkeypatch.setenv("TWILIO_SPEECH_TIMEOUT", "3")
    monkeypatch.setenv("TWILIO_SPEECH_MODEL", "phone_call")
    monkeypatch.setenv("TWILIO_VOICE_TRANSFER_NUMBER", "(800) 600-9332")
    monkeypatch.setenv("TWILIO_VOICE_INPUT_TIMEOUT", "banana")
    settings = twilio_voice.load_voice_settings()
    assert settings == VoiceSettings(
        voice="Google.en-US-Neural2-F",
        language="es-US",
        speech_model="phone_call",
        speech_timeout="3",
        input_timeout=6,
        keypad_timeout=10,
        transfer_number="+18006009332",
    )
    assert settings.ssml
    monkeypatch.setenv("TWILIO_LANGUAGE", "not a language!")
    monkeypatch.setenv("TWILIO_SPEECH_TIMEOUT", "forever")
    monkeypatch.setenv("TWILIO_VOICE_TRANSFER_NUMBER", "call the front desk")
    settings = twilio_voice.load_voice_settings()
    assert (settings.language, settings.speech_timeout, settings.transfer_number) == (
        "en-US",
        "auto",
        None,
    )


def test_a_long_answer_is_split_into_says_twilio_accepts(db: Database) -> None:
    long_text = "\n".join(f"- Result {n}: 106 mg/dL, high, not yet reviewed." for n in range(300))
    caller = Caller(make_channel(db), FakeRasa(says({"text": long_text})))
    first = gathers(caller.answer(SpeechResult="all my results"))[0]
    parts = list(first.iter("Say"))
    assert len(parts) > 1
    assert all(len("".join(p.itertext())) <= 4096 for p in parts)


# --- Pure parts --------------------------------------------------------------------------


def test_menu_words() -> None:
    assert twilio_voice.menu_words([Choice("Yes", "/affirm")]) == "Say or press one for Yes."
    assert twilio_voice.menu_words([], operator=True) == "Press zero to talk to someone."
    many = [Choice(f"Option {n}", f"/o{n}") for n in range(1, 10)]
    assert twilio_voice.menu_words(many).endswith("or nine for Option nine.")


@pytest.mark.parametrize(
    ("digits", "words", "payload"),
    [
        ("1", "", "/affirm"),
        ("2", "", "/deny"),
        ("3", "", None),
        ("12", "", None),
        ("0", "", "/human_handoff"),
        ("*", "", None),
        ("", "two", "/deny"),
        ("", "Number one.", "/affirm"),
        ("", "press 2", "/deny"),
        ("", "the first", "/affirm"),
        ("", "NO!", "/deny"),
        ("", "no way", None),
        ("", "five", None),
        ("", "", None),
    ],
)
def test_chosen(digits: str, words: str, payload: str | None) -> None:
    choices = [Choice("Yes", "/affirm"), Choice("No", "/deny")]
    assert twilio_voice.chosen(choices, digits=digits, said=words) == payload


def test_read_turn_keeps_the_latest_buttons_and_the_last_question() -> None:
    reply = twilio_voice.read_turn(
        [
            {"text": "Pick one", "buttons": [{"title": "A", "payload": "/a"}]},
            {"text": "Or another", "buttons": [{"title": "B", "payload": "/b"}] * 12},
            {"image": "https://example.mil/x.png"},
        ]
    )
    assert [c.payload for c in reply.choices] == ["/b"] * twilio_voice.MAX_KEYPAD_CHOICES
    assert reply.question == ("Or another.",)
    assert reply.texts == ("Pick one", "Or another")


# --- Against the running stack -----------------------------------------------------------


@dataclass
class StackCall:
    """Calls the running Rasa as Twilio would, through the `make call` client."""

    stack: Stack
    caller: str
    token: str = TOKEN
    call: cli_call.Call = field(init=False)

    def __post_init__(self) -> None:
        self.call = cli_call.Call(
            token=self.token, rasa_url=self.stack.rasa_url, public_base=PUBLIC, caller=self.caller
        )

    def converse(self, *answers: str) -> list[str]:
        """Play the whole call with these answers (then hang up); every line it showed."""
        log = cli_call.Transcript(quiet=True)
        return cli_call.converse(self.call, iter([*answers, cli_call.HANG_UP]), log).lines

    def user_turns(self) -> list[str]:
        events = self.stack.tracker(f"voice:{self.call.sid}")["events"]
        return [e.get("text") for e in events if e["event"] == "user"]


def assistant(lines: list[str]) -> str:
    return "\n".join(line for line in lines if line.startswith("assistant> "))


def test_the_stack_refuses_forged_calls_and_answers_a_retried_step_once(stack: Stack) -> None:
    forged = StackCall(stack, "+12025550191", token="not-the-token")
    assert forged.call.post(BASE + "webhook", forged.call.form())[0] == 403
    honest = StackCall(stack, "+12025550191")
    status, first = honest.call.post(BASE + "turn?step=1", honest.call.form(SpeechResult="hi"))
    assert status == 200 and gathers(twiml(first))
    again = honest.call.post(BASE + "turn?step=1", honest.call.form(SpeechResult="hi"))
    assert again == (200, first)
    assert honest.user_turns() == ["hi"]


def test_booking_by_phone_in_the_clinics_time_zone(stack: Stack) -> None:
    who = demo_identity(stack, "Daniel Okafor")  # in Japan; shares his phone with Amara, 8
    lines = StackCall(stack, who.phone or "").converse(
        "d:1",  # appointments
        f"d:{who.date_of_birth:%m%d%Y}",
        f"d:{who.dod_last4}",
        "Amara",
        "a well child check",
        "next tuesday morning",
        "d:1",  # the first time offered
        "d:1",  # yes
        "goodbye",
    )
    text = assistant(lines)
    assert "you're verified" in text
    assert "Say or press one for" in text
    assert "You're booked: Well-child visit" in text, text
    assert "in the morning, Japan time" in text
    assert lines[-1] == "   [the assistant hung up]"  # saying goodbye ends the call
    assert not ASCII_DIGIT.search(text)


def test_refill_by_phone_with_a_spoken_birth_date(stack: Stack) -> None:
    who = demo_identity(stack, "Danielle Price")  # metoprolol is due for a refill
    born = who.date_of_birth
    lines = StackCall(stack, who.phone or "").converse(
        "I need to refill my metoprolol",
        f"{born:%B} {born.day}, {born.year}",  # said, not keyed
        " ".join(who.dod_last4),
        "d:1",  # the usual pharmacy
        "d:1",  # yes
    )
    text = assistant(lines)
    assert "you're verified" in text
    # "my metoprolol" said whom it is for: nobody is asked once the caller is verified.
    assert "Who is this for" not in text
    assert "Request a refill of metoprolol" in text, text
    assert "twenty-five milligram extended-release tablet" in text
    assert "Done. Refill request number" in text
    assert not ASCII_DIGIT.search(text)


def test_results_are_read_aloud_with_units_in_words(stack: Stack) -> None:
    who = demo_identity(stack, "Marcus Rivera")  # his CMP is final and not yet reviewed
    lines = StackCall(stack, who.phone or "").converse(
        "d:3",  # test results
        f"d:{who.date_of_birth:%m%d%Y}",
        f"d:{who.dod_last4}",
        "d:1",  # for me
    )
    text = assistant(lines)
    assert "milligrams per deciliter" in text, text
    assert "units per liter" in text
    assert "not yet reviewed by your care team" in text
    assert "mg/dL" not in text and not ASCII_DIGIT.search(text)


def test_an_emergency_call_ends_with_the_911_instruction(stack: Stack) -> None:
    lines = StackCall(stack, "+12025550192").converse("I have chest pain and can't breathe")
    assert "dial nine one one now" in assistant(lines)
    assert lines[-1] == "   [the assistant hung up]"
