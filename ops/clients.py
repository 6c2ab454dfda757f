"""Patients as HTTP clients: the web chat (REST + portal token) and Twilio SMS and voice, each
request signed exactly as Twilio signs it (the twilio library's `RequestValidator`).

Used by the load benchmark and the fault tests against a running topology. Async (aiohttp,
which Rasa already brings) so that fifty conversations at once cost one thread.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import aiohttp

from bot.channels.twilio_requests import (
    ACCOUNT_SID,  # noqa: F401 (the fuzz tests build forms from ops.clients alone)
    ASSISTANT_NUMBER,
    SMS_PATH,
    VOICE_PATH,
    call_form,
    form_headers,
    new_sid,
    signature,
    sms_form,
    spoken,
)

REST_PATH = "/webhooks/rest/webhook"
# What the channels say when a turn failed or ran late (bot/channels); counted, not hidden.
TRY_AGAIN_MARKERS = ("please try again", "try again in a minute", "try again shortly")


@dataclass
class Reply:
    """One answered request: HTTP status, what the patient would read or hear, and how long."""

    status: int
    texts: list[str]
    seconds: float
    body: str = ""
    gather_action: str | None = None  # voice: where Twilio posts the caller's next answer
    hangup: bool = False
    buttons: list[tuple[str, str]] = field(default_factory=list)  # web: (title, payload)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def try_again(self) -> bool:
        lowered = self.text.lower()
        return any(marker in lowered for marker in TRY_AGAIN_MARKERS)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def sms_texts(twiml: str) -> list[str]:
    root = ET.fromstring(twiml)
    return [" ".join("".join(m.itertext()).split()) for m in root.iter("Message")]


def voice_reply(twiml: str) -> tuple[list[str], str | None, bool]:
    """(what the caller hears before answering, the Gather's action, whether it hangs up).

    What follows the first `<Gather>` (reprompts after silence) is not heard by a caller who
    answers, so it is left out.
    """
    root = ET.fromstring(twiml)
    said: list[str] = []
    for verb in root:
        if verb.tag == "Say":
            said.append(spoken(verb))
        elif verb.tag == "Gather":
            said.extend(spoken(s) for s in verb.iter("Say"))
            return said, verb.get("action"), False
        elif verb.tag == "Hangup":
            return said, None, True
    return said, None, False


@dataclass
class Signer:
    """Signs like Twilio: HMAC-SHA1 of the public URL plus the sorted form fields."""

    token: str
    public_base: str

    def signature(self, path: str, form: dict[str, str]) -> str:
        return signature(self.token, self.public_base + path, form)


@dataclass
class Call:
    """A phone call in progress: its sid, the caller, and where the next answer goes."""

    caller: str
    sid: str = field(default_factory=lambda: new_sid("CA"))
    next_path: str = VOICE_PATH

    def form(self, **extra: str) -> dict[str, str]:
        return call_form(self.sid, self.caller, ASSISTANT_NUMBER, **extra)


class Patients:
    """Sends what patients send to one base URL (the front door, or a replica's own port)."""

    def __init__(
        self,
        base_url: str,
        signer: Signer,
        session: aiohttp.ClientSession,
        timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def _post_form(
        self, path: str, form: dict[str, str], signed: str | None
    ) -> tuple[int, str, float]:
        started = time.perf_counter()
        async with self.session.post(
            self.base_url + path,
            data=urlencode(form),
            headers=form_headers(signed),
            timeout=self.timeout,
        ) as response:
            body = await response.text()
            return response.status, body, time.perf_counter() - started

    async def sms(self, phone: str, text: str, sid: str | None = None) -> Reply:
        """One signed text; `sid` repeats a delivery (Twilio's retry) when given."""
        form = sms_form(phone, text, sid or new_sid("SM"))
        status, body, seconds = await self._post_form(
            SMS_PATH, form, self.signer.signature(SMS_PATH, form)
        )
        texts = sms_texts(body) if status == 200 else []
        return Reply(status, texts, seconds, body)

    async def raw_sms(self, form: dict[str, str], signed: str | None) -> Reply:
        """A delivery as given (fuzzing): the signature may be anything or missing."""
        status, body, seconds = await self._post_form(SMS_PATH, form, signed)
        return Reply(status, [], seconds, body)

    async def call(self, call: Call, said: str | None = None, digits: str | None = None) -> Reply:
        """The next step of a call: the first request places it, later ones answer a Gather."""
        fields: dict[str, str] = {}
        if call.next_path == VOICE_PATH:
            fields["CallStatus"] = "ringing"
        if digits is not None:
            fields["Digits"] = digits
        elif said is not None:
            fields.update(SpeechResult=said, Confidence="0.92")
        form = call.form(**fields)
        path = call.next_path
        status, body, seconds = await self._post_form(path, form, self.signer.signature(path, form))
        if status != 200:
            return Reply(status, [], seconds, body)
        texts, action, hangup = voice_reply(body)
        if action:
            call.next_path = urljoin(urlsplit(path).path, action)
        return Reply(status, texts, seconds, body, gather_action=action, hangup=hangup)

    async def rest(
        self, sender: str, text: str, token: str | None = None, **metadata: Any
    ) -> Reply:
        """One web chat message; `token` is the portal's signed session (JWT)."""
        meta = dict(metadata)
        if token:
            meta["portal_token"] = token
        started = time.perf_counter()
        async with self.session.post(
            self.base_url + REST_PATH,
            json={"sender": sender, "message": text, "metadata": meta},
            timeout=self.timeout,
        ) as response:
            body = await response.text()
            seconds = time.perf_counter() - started
            texts: list[str] = []
            buttons: list[tuple[str, str]] = []
            if response.status == 200:
                for message in json.loads(body):
                    if message.get("text"):
                        texts.append(str(message["text"]))
                    for button in message.get("buttons") or []:
                        buttons.append((str(button.get("title")), str(button.get("payload"))))
            return Reply(response.status, texts, seconds, body, buttons=buttons)
