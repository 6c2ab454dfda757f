"""The Twilio SMS channel: signatures, retries, keywords, choices, splitting, failures.

The first part drives `TwilioSmsInput.handle` in-process with real Sanic requests, signed by the
twilio library exactly as Twilio signs them, against the portal database on SQLite and
PostgreSQL; a small stand-in plays Rasa's message handler so each test controls what the bot
says (and can make it fail or run late). The second part texts the real, running stack.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from sanic.request import Request
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot.channels import twilio_sms
from bot.channels.twilio_common import TRY_AGAIN, TwilioSettings, TwilioWebhook
from bot.channels.twilio_sms import TwilioSmsInput
from channel_state import opt_out
from channel_state.models import SmsOptOut, WebhookDelivery
from portal_core.database import Database
from portal_core.models import AuditEvent
from portal_core.seed import DemoIdentityRow
from tests.bot.stack import Stack
from tests.bot.twilio_clients import (
    PHONE,
    PUBLIC,
    SMS_PATH,
    TOKEN,
    SmsPhone,
    demo_identity,
    messages_in,
    twilio_form,
)
from tests.bot.twilio_fakes import FakeRasa, sanic_request
from wording import sms
from wording.catalogue import emergency_response, render

PATH = SMS_PATH
APP = Sanic("twilio_sms_tests")


# --- Requests as Twilio sends them -------------------------------------------------------


def signed_request(
    form: dict[str, str] | None = None,
    *,
    raw_body: bytes | None = None,
    token: str = TOKEN,
    url: str = PUBLIC + PATH,
    signature: str | None = "sign",
) -> Request:
    """A POST as Sanic hands it to the channel; signed over `form` unless told otherwise."""
    form = form if form is not None else twilio_form()
    return sanic_request(
        APP, PATH, form, raw_body=raw_body, token=token, url=url, signature=signature
    )


# --- A stand-in for Rasa's message handler: tests.bot.twilio_fakes.FakeRasa -------------


def make_channel(
    db: Database, *, token: str | None = TOKEN, timeout: float = 5.0
) -> TwilioSmsInput:
    settings = TwilioSettings(
        auth_token=token, public_base_url=PUBLIC, reply_timeout=timeout, database_url=db.url
    )
    return TwilioSmsInput(TwilioWebhook("sms", settings, database=db))


def post(channel: TwilioSmsInput, request: Request, rasa: FakeRasa) -> tuple[int, str]:
    response = asyncio.run(channel.handle(request, rasa))
    return response.status, response.body.decode()


def deliveries_stored(db: Database) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(WebhookDelivery)) or 0


# --- Signatures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_factory",
    [
        pytest.param(lambda: signed_request(signature=None), id="missing"),
        pytest.param(lambda: signed_request(signature="bm90IGEgc2lnbmF0dXJl"), id="forged"),
        pytest.param(lambda: signed_request(token="someone-elses-token"), id="wrong-token"),
        pytest.param(lambda: signed_request(url="http://127.0.0.1:5005" + PATH), id="wrong-url"),
        pytest.param(
            lambda: signed_request(
                raw_body=urllib.parse.urlencode(twilio_form("STOP")).encode(),
                signature=RequestValidator(TOKEN).compute_signature(PUBLIC + PATH, twilio_form()),
            ),
            id="body-swapped",
        ),
    ],
)
def test_an_unsigned_or_forged_request_gets_403_and_nothing_is_done(
    db: Database, request_factory: Callable[[], Request]
) -> None:
    rasa = FakeRasa()
    status, body = post(make_channel(db), request_factory(), rasa)
    assert status == 403
    assert "<Message" not in body
    assert rasa.received == []
    assert deliveries_stored(db) == 0
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(SmsOptOut)) == 0


def test_without_an_auth_token_every_request_is_refused(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    channel = make_channel(db, token=None)
    assert "TWILIO_AUTH_TOKEN is not set" in caplog.text
    rasa = FakeRasa()
    for token in ("", TOKEN):
        status, _ = post(channel, signed_request(token=token or "x"), rasa)
        assert status == 403
    assert rasa.received == []


def test_a_signed_text_reaches_the_bot_as_its_own_sms_conversation(db: Database) -> None:
    rasa = FakeRasa()
    form = twilio_form("I need a refill", sender="(254) 555-0100")
    status, body = post(make_channel(db), signed_request(form), rasa)

    assert status == 200
    assert messages_in(body) == ["You said: I need a refill"]
    [message] = rasa.received
    assert message.sender_id == "sms:+12545550100"
    assert message.input_channel == "twilio_sms"
    assert message.metadata == {"channel": "sms", "phone": "+12545550100"}
    assert message.message_id == form["MessageSid"]


# --- Retries -----------------------------------------------------------------------------


def test_a_retried_message_sid_is_processed_once_and_answered_the_same(db: Database) -> None:
    channel, rasa, form = make_channel(db), FakeRasa(), twilio_form("book an appointment")
    first = post(channel, signed_request(form), rasa)
    second = post(channel, signed_request(form), rasa)
    assert first == second
    assert first[0] == 200
    assert rasa.texts == ["book an appointment"]
    assert deliveries_stored(db) == 1


# --- Malformed bodies --------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"Body": "hi", "From": PHONE}, id="no-sid"),
        pytest.param(twilio_form(sender=None), id="no-from"),
        pytest.param({}, id="empty"),
        pytest.param(twilio_form(MessageSid="SM" + "x" * 200), id="huge-sid"),
    ],
)
def test_a_signed_request_missing_fields_gets_an_empty_400(db: Database, form: dict) -> None:
    rasa = FakeRasa()
    status, body = post(make_channel(db), signed_request(form), rasa)
    assert status == 400
    assert messages_in(body) == []
    assert rasa.received == []


def test_a_text_without_a_body_is_told_to_type(db: Database) -> None:
    rasa = FakeRasa()
    _, body = post(make_channel(db), signed_request(twilio_form(body=None, NumMedia="1")), rasa)
    assert messages_in(body) == [twilio_sms.NOT_TEXT]
    assert rasa.received == []


def test_a_10_kb_message_is_cut_to_what_sms_can_carry(db: Database) -> None:
    rasa = FakeRasa(reply=lambda m: [{"text": "Got it."}])
    status, body = post(make_channel(db), signed_request(twilio_form("refill " * 1500)), rasa)
    assert status == 200 and messages_in(body) == ["Got it."]
    assert len(rasa.texts[0]) <= sms.MAX_INBOUND_CHARS


def test_emoji_and_non_utf8_bytes_are_answered_cleanly(db: Database) -> None:
    rasa = FakeRasa()
    _, body = post(make_channel(db), signed_request(twilio_form("I feel 🤒 today")), rasa)
    assert messages_in(body) == ["You said: I feel 🤒 today"]

    # Latin-1 bytes where UTF-8 was promised: decoded with U+FFFD, signed as Twilio would see it.
    raw = b"MessageSid=SM1234&From=%2B12545550100&Body=caf\xe9+%FF%FE"
    decoded = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), errors="replace"))
    request = signed_request(decoded, raw_body=raw)
    status, body = post(make_channel(db), request, rasa)
    assert status == 200
    assert messages_in(body) == ["You said: caf\ufffd \ufffd\ufffd"]


def test_a_short_code_or_garbled_sender_gets_no_answer(db: Database) -> None:
    rasa = FakeRasa()
    status, body = post(make_channel(db), signed_request(twilio_form(sender="12345")), rasa)
    assert (status, messages_in(body), rasa.received) == (200, [], [])


# --- STOP, START, HELP -------------------------------------------------------------------


def test_stop_is_stored_and_honoured_until_start(db: Database) -> None:
    channel, rasa = make_channel(db), FakeRasa()

    def text(words: str) -> list[str]:
        status, body = post(channel, signed_request(twilio_form(words)), rasa)
        assert status == 200
        return messages_in(body)

    assert text("STOP") == [render("sms.stopped", "sms")]
    assert opt_out.is_opted_out(db, PHONE)
    assert text("what are my results") == []  # nothing at all, not even an error
    assert text("stop") == []  # a repeated STOP gets no second confirmation
    assert "1-800-600-9332" in text("HELP")[0]  # HELP is always answered
    assert text("yes") == [render("sms.started", "sms")]
    assert not opt_out.is_opted_out(db, PHONE)
    assert text("hello") == ["You said: hello"]
    assert rasa.texts == ["hello"]  # the keywords never reached the bot
    with db.transaction() as s:
        actions = list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["sms_opt_out", "sms_opt_in"]


def test_help_answers_without_the_bot(db: Database) -> None:
    rasa = FakeRasa()
    _, body = post(make_channel(db), signed_request(twilio_form("info")), rasa)
    [answer] = messages_in(body)
    assert "Genesis Assist" in answer and "1-800-600-9332" in answer
    assert "Reply STOP to opt out" in answer
    assert rasa.received == []


def test_cancel_opts_out_but_explains_how_to_come_back(db: Database) -> None:
    _, body = post(make_channel(db), signed_request(twilio_form("Cancel")), FakeRasa())
    assert "reply START" in messages_in(body)[0]
    assert opt_out.is_opted_out(db, PHONE)


def test_yes_from_a_subscribed_number_is_an_answer_for_the_bot(db: Database) -> None:
    rasa = FakeRasa()
    post(make_channel(db), signed_request(twilio_form("Yes")), rasa)
    assert rasa.texts == ["Yes"]


# --- Buttons, long replies, emergencies --------------------------------------------------


def test_buttons_become_numbers_and_a_number_selects_the_payload(db: Database) -> None:
    def reply(message: UserMessage) -> list[dict[str, Any]]:
        if message.text == "refill":
            return [
                {
                    "text": "Request a refill of lisinopril for pickup at Main Pharmacy?",
                    "buttons": [
                        {"title": "Yes", "payload": "/affirm"},
                        {"title": "No", "payload": "/deny"},
                    ],
                }
            ]
        return [{"text": f"You said: {message.text}"}]

    channel, rasa = make_channel(db), FakeRasa(reply=reply)
    _, body = post(channel, signed_request(twilio_form("refill")), rasa)
    assert messages_in(body) == [
        "Request a refill of lisinopril for pickup at Main Pharmacy?\nReply 1 for Yes, 2 for No."
    ]
    _, body = post(channel, signed_request(twilio_form("2")), rasa)
    assert rasa.texts == ["refill", "/deny"]
    # The last reply had no buttons, so "1" is just text now.
    post(channel, signed_request(twilio_form("1")), rasa)
    assert rasa.texts[-1] == "1"


def test_after_try_again_the_same_number_still_selects_the_same_choice(db: Database) -> None:
    broken = False

    def reply(message: UserMessage) -> list[dict[str, Any]]:
        if broken:
            return []  # an action server down: Rasa says nothing
        if message.text == "book":
            buttons = [{"title": "Monday 9:00", "payload": '/inform{"choice": "#7"}'}]
            return [{"text": "Here are open times:", "buttons": buttons}]
        return [{"text": f"You said: {message.text}"}]

    channel, rasa = make_channel(db), FakeRasa(reply=reply)
    post(channel, signed_request(twilio_form("book")), rasa)
    broken = True
    _, body = post(channel, signed_request(twilio_form("1")), rasa)
    assert messages_in(body) == [TRY_AGAIN]
    broken = False
    _, body = post(channel, signed_request(twilio_form("1")), rasa)
    assert rasa.texts == ["book", '/inform{"choice": "#7"}', '/inform{"choice": "#7"}']


def test_a_long_reply_is_split_into_messages_of_at_most_320(db: Database) -> None:
    lines = [f"- Test {n}: 5.2 mg/dL (reference range 3.5-7.2), normal." for n in range(20)]
    rasa = FakeRasa(reply=lambda m: [{"text": "Your results:\n" + "\n".join(lines)}])
    _, body = post(make_channel(db), signed_request(twilio_form("results")), rasa)
    parts = messages_in(body)
    assert len(parts) > 1
    assert all(sms.encoded_length(p) <= 320 for p in parts)
    assert "\n".join(parts) == "Your results:\n" + "\n".join(lines)


def test_an_endless_reply_is_capped_and_points_to_the_portal(db: Database) -> None:
    rasa = FakeRasa(reply=lambda m: [{"text": "This sentence is rather long. " * 400}])
    _, body = post(make_channel(db), signed_request(twilio_form("everything")), rasa)
    parts = messages_in(body)
    assert len(parts) == twilio_sms.MAX_PARTS
    assert parts[-1] == twilio_sms.TOO_LONG


def test_an_emergency_payload_alone_is_still_said_in_words_first(db: Database) -> None:
    rasa = FakeRasa(
        reply=lambda m: [{"text": "Anything else?"}, {"custom": {"emergency": "crisis"}}]
    )
    _, body = post(make_channel(db), signed_request(twilio_form("I want to die")), rasa)
    parts = messages_in(body)
    crisis = emergency_response("crisis", "sms")
    assert "\n".join(parts).startswith(sms.gsm_friendly(crisis).split(".")[0])


def test_an_emergency_said_by_the_bot_is_not_repeated(db: Database) -> None:
    words = emergency_response("medical", "sms")
    rasa = FakeRasa(reply=lambda m: [{"text": words}, {"custom": {"emergency": "medical"}}])
    _, body = post(make_channel(db), signed_request(twilio_form("chest pain")), rasa)
    joined = " ".join(messages_in(body))
    assert joined.count(sms.gsm_friendly(words).split(".")[0]) == 1


def test_a_handoff_gives_the_number_to_call(db: Database) -> None:
    rasa = FakeRasa(
        reply=lambda m: [
            {"text": "Let me get you to a person."},
            {"custom": {"handoff": True, "dial": "254-288-8000"}},
        ]
    )
    _, body = post(make_channel(db), signed_request(twilio_form("talk to someone")), rasa)
    assert "254-288-8000" in " ".join(messages_in(body))


# --- Failures and slow turns -------------------------------------------------------------


def test_a_failing_bot_gets_a_polite_try_again(db: Database) -> None:
    status, body = post(make_channel(db), signed_request(), FakeRasa(fail=True))
    assert status == 200
    assert messages_in(body) == [TRY_AGAIN]


def test_a_turn_the_bot_answered_with_silence_gets_a_polite_try_again(db: Database) -> None:
    # What Rasa does when the action server can't be reached: it drops the action, says nothing.
    status, body = post(make_channel(db), signed_request(), FakeRasa(reply=lambda m: []))
    assert status == 200
    assert messages_in(body) == [TRY_AGAIN]


def test_a_slow_turn_says_try_again_then_delivers_its_answer_with_the_next_one(
    db: Database,
) -> None:
    channel = make_channel(db, timeout=0.3)
    rasa = FakeRasa(reply=lambda m: [{"text": f"Answer to {m.text}."}], delay=0.6)
    slow = twilio_form("book me in")

    async def conversation() -> tuple[str, str, str]:
        first = await channel.handle(signed_request(slow), rasa)
        await asyncio.sleep(0.6)  # the slow turn finishes in the background
        replay = await channel.handle(signed_request(slow), rasa)
        rasa.delay = 0
        second = await channel.handle(signed_request(twilio_form("thanks")), rasa)
        return first.body.decode(), replay.body.decode(), second.body.decode()

    first, replay, second = asyncio.run(conversation())
    assert messages_in(first) == [TRY_AGAIN]
    assert replay == first  # the retry is answered from the store, not run again
    assert messages_in(second) == [f"{twilio_sms.LATE}\nAnswer to book me in.\nAnswer to thanks."]
    assert rasa.texts == ["book me in", "thanks"]


# --- Against the running stack -----------------------------------------------------------


def _verified(phone: SmsPhone, reply: str, who: DemoIdentityRow) -> str:
    """Answer the verification questions if the bot asks them; the reply that follows."""
    if "date of birth" in reply:
        assert "last four digits" in phone.text(f"{who.date_of_birth:%m/%d/%Y}")
        reply = phone.text(who.dod_last4)
        assert "you're verified" in reply
    return reply


def test_the_stack_refuses_unsigned_and_forged_texts(stack: Stack) -> None:
    phone = SmsPhone(stack, "+12025550181")
    assert phone.post(twilio_form("hello", sender=phone.phone), signature=None)[0] == 403
    assert phone.post(twilio_form("hello", sender=phone.phone), signature="Zm9yZ2Vk")[0] == 403
    wrong = SmsPhone(stack, phone.phone, token="not-the-token")
    assert wrong.post(twilio_form("hello", sender=phone.phone))[0] == 403
    assert phone.user_turns() == []


def test_the_stack_answers_a_retried_text_once(stack: Stack) -> None:
    phone = SmsPhone(stack, "+12025550182")
    form = twilio_form("hello", sender=phone.phone)
    first, second = phone.post(form), phone.post(form)
    assert first == second and first[0] == 200
    assert messages_in(first[1])
    assert phone.user_turns() == ["hello"]


def test_the_stack_honours_stop_until_start(stack: Stack) -> None:
    phone = SmsPhone(stack, "+12025550183")
    assert phone.text("STOP") == render("sms.stopped", "sms")
    database = Database(stack.database_url)
    try:
        assert opt_out.is_opted_out(database, phone.phone)
    finally:
        database.dispose()
    assert phone.text("hello") == ""
    assert phone.user_turns() == []
    assert phone.text("START") == render("sms.started", "sms")
    assert phone.text("hello")
    assert phone.user_turns() == ["hello"]


def test_booking_by_sms(stack: Stack) -> None:
    who = demo_identity(stack, "Olivia Sullivan")
    phone = SmsPhone(stack, who.phone).fresh()
    reply = _verified(phone, phone.text("I want to book an appointment"), who)
    if "Who is this for?" in reply:
        reply = phone.text("1")  # "Me" comes first
    assert "What kind of appointment" in reply and "Reply with a number" in reply
    number = next(line.split()[0] for line in reply.splitlines() if "Follow-up visit" in line)
    assert "When would you like" in phone.text(number)
    reply = phone.text("next week")
    assert "Reply with a number:\n1 for " in reply
    assert "Reply 1 for Yes, 2 for No." in phone.text("1")
    assert "You're booked: Follow-up visit" in phone.text("1")


def test_refill_by_sms(stack: Stack) -> None:
    who = demo_identity(stack, "Tobi Okafor")  # fluticasone is due for a refill
    phone = SmsPhone(stack, who.phone).fresh()
    reply = _verified(phone, phone.text("refill my fluticasone"), who)
    # The request named the medication and whose it is: straight on to the pharmacy.
    assert "Who is this for?" not in reply
    assert "Pick it up at" in reply and "1 for " in reply
    reply = phone.text("1")
    assert "Request a refill of fluticasone" in reply and "Reply 1 for Yes, 2 for No." in reply
    assert "Refill request number" in phone.text("1")


def test_results_by_sms_withheld_without_consent(stack: Stack) -> None:
    who = demo_identity(stack, "Mateo Rivera")  # his own CBC is final; no SMS consent
    phone = SmsPhone(stack, who.phone).fresh()
    reply = _verified(phone, phone.text("what are my test results"), who)
    if "Who is this for?" in reply:
        reply = phone.text("1")
    assert render("results.withheld_by_text").split(".")[0] in reply
    assert "reference range" not in reply and "Hemoglobin" not in reply


def test_results_by_sms_with_consent(stack: Stack) -> None:
    who = demo_identity(stack, "Marcus Rivera")  # consented; his CMP is final
    phone = SmsPhone(stack, who.phone).fresh()
    reply = _verified(phone, phone.text("show me my lab results"), who)
    if "Who is this for?" in reply:
        assert "1 for Me" in reply
        reply = phone.text("1")
    assert "reference range" in reply and "Glucose" in reply
