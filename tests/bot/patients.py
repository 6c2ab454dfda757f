"""Patients who talk to the running assistant the way real ones do: web chat, texts and calls.

Each kind of patient speaks one turn at a time and hears the assistant's whole answer:
- `WebPatient` posts to the REST channel with a signed portal token (what the web widget sends);
- `SmsPatient` texts the Twilio SMS channel, signed with twilio's own `RequestValidator`;
- `VoicePatient` calls the Twilio voice channel, signed the same way, and hears the `<Say>`s up to
  the `<Gather>` that waits for them ("d:1234" is pressed on the keypad, anything else is said).

Phone and SMS patients answer the identity questions themselves when asked (date of birth, then
the last four digits of the DoD ID), in the style the task gives, and then go on.
"""

from __future__ import annotations

import contextlib
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.channels import cli_call
from portal_core import web_tokens
from portal_core.database import Database
from portal_core.models import Patient
from tests.bot.stack import TWILIO_TEST_PUBLIC_URL, TWILIO_TEST_TOKEN, Stack

SMS_PATH = "/webhooks/twilio_sms/webhook"
VOICE_PATH = "/webhooks/twilio_voice/"


@dataclass(frozen=True)
class Person:
    """A seeded patient as the database holds them today."""

    id: int
    first_name: str
    last_name: str
    phone: str
    born: date
    last4: str
    level: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def dob_typed(self) -> str:
        """The birth date as a patient types it: 06/15/1983."""
        return birth_date_as(self.born, "slashes")


def person(database: Database, name: str) -> Person:
    first, last = name.split()
    with database.transaction() as session:
        row = session.scalars(
            select(Patient).where(Patient.first_name == first, Patient.last_name == last)
        ).one()
        return Person(
            row.id,
            row.first_name,
            row.last_name,
            str(row.phone or ""),
            row.date_of_birth,
            row.dod_id[-4:],
            row.assurance_level,
        )


def birth_date_as(born: date, style: str) -> str:
    """How a patient writes or says their birth date."""
    if style == "short-year":  # "9/17/84"
        return f"{born.month}/{born.day}/{born:%y}"
    if style == "words":  # "September 17, 1984"
        return f"{born:%B} {born.day}, {born.year}"
    if style == "keypad":
        return f"d:{born:%m%d%Y}"
    return f"{born:%m/%d/%Y}"


@dataclass
class ChannelPatient:
    """What every channel's patient shares: a transcript and the last answer."""

    stack: Stack
    who: Person
    dob_style: str = "slashes"
    transcript: list[str] = field(default_factory=list)
    last: str = ""
    buttons: list[str] = field(default_factory=list)

    channel = ""

    @property
    def conversation_id(self) -> str:
        raise NotImplementedError

    def _turn(self, text: str) -> str:
        raise NotImplementedError

    def say(self, text: str) -> str:
        """One turn; when the assistant asks who they are, they answer and go on."""
        reply = self._logged(text)
        if self.channel != "web" and "date of birth" in reply.lower():
            reply = self._logged(birth_date_as(self.who.born, self.dob_style))
            if "last four" in reply.lower():
                last4 = f"d:{self.who.last4}" if self.dob_style == "keypad" else self.who.last4
                reply = self._logged(last4)
        return reply

    def _logged(self, text: str) -> str:
        self.transcript.append(f"> {text}")
        reply = self._turn(text)
        self.transcript += [f"  < {line}" for line in reply.splitlines()]
        self.last = reply
        return reply

    def tracker(self) -> dict[str, Any]:
        return self.stack.tracker(self.conversation_id)

    def slot(self, name: str) -> Any:
        return (self.tracker().get("slots") or {}).get(name)

    def restart(self) -> None:
        """Forget any earlier conversation on this id (a phone number is reused across tasks)."""
        self.stack.forget(self.conversation_id)

    def finish(self) -> None:
        """Hang up, where that means anything."""

    def said(self) -> str:
        return "\n".join(self.transcript)


@dataclass
class WebPatient(ChannelPatient):
    channel = "web"
    sender: str = field(default_factory=lambda: f"task-{uuid.uuid4().hex[:12]}")

    @property
    def conversation_id(self) -> str:
        """The REST channel names a signed-in patient's conversation itself."""
        return f"web:p{self.who.id}:{self.sender}"

    def _turn(self, text: str) -> str:
        token = web_tokens.issue_token(self.who.id, self.who.level)
        replies = self.stack.say(self.sender, text, {"portal_token": token})
        self.buttons = [str(b.get("title")) for r in replies for b in (r.get("buttons") or []) if b]
        return "\n".join(str(r.get("text") or "") for r in replies if r.get("text"))


@dataclass
class SmsPatient(ChannelPatient):
    channel = "sms"

    @property
    def conversation_id(self) -> str:
        return f"sms:{self.who.phone}"

    def _turn(self, text: str) -> str:
        sid = "SM" + uuid.uuid4().hex
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.who.phone,
            "To": "+15005550006",
            "Body": text,
        }
        signature = RequestValidator(TWILIO_TEST_TOKEN).compute_signature(
            TWILIO_TEST_PUBLIC_URL + SMS_PATH, form
        )
        request = urllib.request.Request(
            self.stack.rasa_url + SMS_PATH,
            data=urllib.parse.urlencode(form).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read().decode()
        root = ET.fromstring(body)
        texts = ["".join(m.itertext()) for m in root.iter("Message")]
        reply = "\n".join(texts)
        self.buttons = [
            line.split(" for ", 1)[1]
            for line in reply.splitlines()
            if " for " in line and line.split(" ", 1)[0].rstrip(".").isdigit()
        ]
        return reply


@dataclass
class VoicePatient(ChannelPatient):
    """A caller: each answer goes to the `<Gather>` that was listening; digits by keypad."""

    channel = "voice"
    dob_style: str = "keypad"
    call: cli_call.Call | None = None
    action: str | None = None
    ended: bool = False
    dialed: str | None = None

    def __post_init__(self) -> None:
        self.call = cli_call.Call(
            token=TWILIO_TEST_TOKEN,
            rasa_url=self.stack.rasa_url,
            public_base=TWILIO_TEST_PUBLIC_URL,
            caller=self.who.phone,
        )
        greeting = self._play(
            self.call.post(VOICE_PATH + "webhook", self.call.form(CallStatus="ringing"))
        )
        self.transcript.append(f"  < {greeting}")

    @property
    def conversation_id(self) -> str:
        assert self.call is not None
        return f"voice:{self.call.sid}"

    def _play(self, response: tuple[int, str]) -> str:
        """What the caller hears before they may answer (the first `<Gather>`, not its repeats)."""
        status, body = response
        assert status == 200, body
        assert self.call is not None
        root = ET.fromstring(body)
        heard: list[str] = []
        self.action = None
        for verb in root:
            if verb.tag == "Say":
                heard.append(cli_call.spoken(verb))
            elif verb.tag == "Gather":
                heard += [cli_call.spoken(say) for say in verb.iter("Say")]
                self.action = verb.get("action") or self.call.document
                break
            elif verb.tag == "Dial":
                self.dialed = "".join(verb.itertext()).strip()
                self.ended = True
                break
            elif verb.tag == "Hangup":
                self.ended = True
                break
            elif verb.tag == "Redirect":
                target = (verb.text or "").strip() or self.call.document
                return " ".join([*heard, self._play(self.call.post(target, self.call.form()))])
        return " ".join(heard)

    def _turn(self, text: str) -> str:
        assert self.call is not None
        if self.ended or self.action is None:
            return "[the call has ended]"
        digits = cli_call.keypad(text)
        fields = {"Digits": digits} if digits else {"SpeechResult": text, "Confidence": "0.9"}
        return self._play(self.call.post(self.action, self.call.form(**fields)))

    def restart(self) -> None:
        """Every call is a new conversation."""

    def finish(self) -> None:
        if self.call is not None:
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.call.hang_up()


PATIENTS: dict[str, type[ChannelPatient]] = {
    "web": WebPatient,
    "sms": SmsPatient,
    "voice": VoicePatient,
}


def patient(
    channel: str, stack: Stack, who: Person, dob_style: str | None = None
) -> ChannelPatient:
    kind = PATIENTS[channel]
    if dob_style:
        return kind(stack, who, dob_style=dob_style)
    return kind(stack, who)
