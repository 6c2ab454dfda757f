"""Texting the running stack exactly as Twilio does: signed form posts to the SMS webhook.

Phone identity reaches the assistant only through the signed Twilio channels, so every test
that plays an SMS user or a caller goes through here (never REST metadata, which the assistant
ignores).
"""

from __future__ import annotations

import secrets
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from twilio.request_validator import RequestValidator

from bot.channels import cli_call
from channel_state import conversations
from portal_core import identity
from portal_core.database import Database
from portal_core.seed import DemoIdentityRow, demo_identity_rows
from tests.bot.stack import TWILIO_TEST_PUBLIC_URL, TWILIO_TEST_TOKEN, Stack

TOKEN = TWILIO_TEST_TOKEN  # what tests/bot/stack.py gives the running Rasa
PUBLIC = TWILIO_TEST_PUBLIC_URL
SMS_PATH = "/webhooks/twilio_sms/webhook"
VOICE_PATH = cli_call.BASE_PATH
PHONE = "+12545550100"


def demo_identity(stack: Stack, name: str) -> DemoIdentityRow:
    """A seeded person as the running stack's portal stores them (birth date as seeded)."""
    database = Database(stack.database_url)
    try:
        return next(row for row in demo_identity_rows(database) if row.name == name)
    finally:
        database.dispose()


def twilio_form(body: str | None = "hello", sender: str | None = PHONE, **extra: str) -> dict:
    sid = "SM" + secrets.token_hex(16)
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "To": "+15005550006"}
    if sender is not None:
        form["From"] = sender
    if body is not None:
        form["Body"] = body
    form.update(extra)
    return form


def messages_in(twiml: str) -> list[str]:
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    return ["".join(m.itertext()) for m in root.iter("Message")]


@dataclass
class SmsPhone:
    """Texts the running Rasa as Twilio would, from one number."""

    stack: Stack
    phone: str
    token: str = TOKEN

    @property
    def conversation(self) -> str:
        return f"sms:{self.phone}"

    def post(self, form: dict[str, str], signature: str | None = "sign") -> tuple[int, str]:
        if signature == "sign":
            signature = RequestValidator(self.token).compute_signature(PUBLIC + SMS_PATH, form)
        request = urllib.request.Request(
            self.stack.rasa_url + SMS_PATH,
            data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"}
            | ({"X-Twilio-Signature": signature} if signature else {}),
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def messages(self, words: str) -> list[str]:
        status, body = self.post(twilio_form(words, sender=self.phone))
        assert status == 200, body
        return messages_in(body)

    def text(self, words: str) -> str:
        return "\n".join(self.messages(words))

    def events(self) -> list[dict]:
        return list(self.stack.tracker(self.conversation)["events"])

    def user_turns(self) -> list[str]:
        return [e.get("text") for e in self.events() if e["event"] == "user"]

    def fresh(self) -> SmsPhone:
        """A new conversation from this number: tracker, verification and SMS choices gone."""
        self.stack.forget(self.conversation)
        database = Database(self.stack.database_url)
        try:
            identity.end_session(database, self.conversation)
            conversations.remember_choices(database, self.conversation, [])
        finally:
            database.dispose()
        return self


@dataclass
class VoiceCall:
    """Calls the running Rasa as Twilio would: the greeting, then one spoken answer per turn."""

    stack: Stack
    caller: str
    token: str = TOKEN
    twiml: str = ""

    def __post_init__(self) -> None:
        self.call = cli_call.Call(
            token=self.token, rasa_url=self.stack.rasa_url, public_base=PUBLIC, caller=self.caller
        )

    @property
    def conversation(self) -> str:
        return f"voice:{self.call.sid}"

    def start(self) -> VoiceCall:
        status, self.twiml = self.call.post(VOICE_PATH + "webhook", self.call.form())
        assert status == 200, self.twiml
        return self

    def say(self, words: str) -> str:
        """Speak at the open `<Gather>`; the TwiML that answers (the call must still be open)."""
        gather = next(ET.fromstring(self.twiml).iter("Gather"), None)
        assert gather is not None, f"the call is over:\n{self.twiml}"
        status, self.twiml = self.call.post(
            gather.get("action") or "", self.call.form(SpeechResult=words, Confidence="0.92")
        )
        assert status == 200, self.twiml
        return " ".join(cli_call.spoken(say) for say in ET.fromstring(self.twiml).iter("Say"))
