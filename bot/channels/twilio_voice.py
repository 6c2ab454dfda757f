"""The Twilio Voice channel: a phone call answered step by step with TwiML `<Gather>`s.

Point a Twilio number at these webhooks (HTTP POST), under `<TWILIO_PUBLIC_BASE_URL>`:

* "A call comes in":       `/webhooks/twilio_voice/webhook`
* "Call status changes":   `/webhooks/twilio_voice/status`

Every answer ends in a `<Gather>` (speech and keypad, barge-in) whose action is
`turn?step=<n>`: a relative URL, so it works behind any proxy prefix, and a step number, so a
retried step (same CallSid, same step) is processed once and answered with the stored TwiML.

A call goes like this: a greeting with the 911 notice and a keypad menu; each answer goes to Rasa
as conversation `voice:<CallSid>` with `{"channel": "voice", "phone": <From>}`; buttons are read
as "say or press 1 for ..." and a key press (or "one", or the title) picks that button's payload,
remembered per call in the portal database; the date of birth and the DoD ID digits may be keyed
(`#` ends them). Silence gets the question again twice, then a goodbye (or a transfer when
`TWILIO_VOICE_TRANSFER_NUMBER` is set), all inside the same TwiML, so silence costs no webhook.
An emergency is said and the call ends; "talk to someone" is a `<Dial>` to the clinic. When Rasa
fails or is slow the caller hears "sorry, please try again" and is listened to again: never an
error, never silence. Words are made speakable by `wording.speech`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import textwrap
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.twiml.voice_response import Gather, Say, VoiceResponse

from bot.actions.asking import QUESTIONS
from bot.channels.twilio_common import (
    Messages,
    TwilioInput,
    TwilioWebhook,
    channel_metadata,
    forbidden,
    phone_or_none,
    run_turn,
    twiml_response,
    voice_conversation_id,
)
from bot.tracker_store import TurnState, take_saved_state
from channel_state import conversations, turns
from channel_state.conversations import Choice
from portal_core import clinics, identity, prescriptions
from portal_core.config import load_settings
from portal_core.database import Database
from portal_core.errors import InvalidInput
from understanding import medications, numbers
from understanding.text import normalise
from wording import speech
from wording.catalogue import emergency_response, render
from wording.speech import Pause, Speech

log = logging.getLogger(__name__)

CHANNEL = "voice"
MAX_SID_LENGTH = 64
MAX_STEP = 10_000  # a call of more turns than this is not a person
MAX_SPEECH_CHARS = 1_000  # Twilio transcribes a few sentences at most; more is not a caller
MAX_SAY_CHARS = 3_000  # Twilio reads at most 4,096 characters per <Say>
MAX_KEYPAD_CHOICES = 9
MAX_WAITS = 4  # "one moment" redirects while a retried step is still being answered
MAX_HINTS = 500  # Twilio's limit on <Gather hints>, each at most 100 characters
MAX_HINT_CHARS = 100
HINTS_TTL_SECONDS = 600
FINAL_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
UNANSWERED_DIAL_STATUSES = frozenset({"busy", "no-answer", "failed", "canceled"})
TALK_TO_SOMEONE = "/human_handoff"

GREETING = render("voice.greeting", "voice")
MENU_LEAD = render("voice.menu_lead", "voice")
MAIN_MENU = (
    Choice(render("voice.menu_appointments", "voice"), "/book_appointment"),
    Choice(render("voice.menu_refills", "voice"), "/request_refill"),
    Choice(render("voice.menu_results", "voice"), "/check_results"),
    Choice(render("voice.menu_message", "voice"), "/send_message"),
)
OPERATOR = render("voice.operator", "voice")
NOT_HEARD = render("voice.not_heard", "voice")
STILL_NOT_HEARD = render("voice.still_not_heard", "voice")
DIDNT_CATCH = render("voice.didnt_catch", "voice")
SILENT_GOODBYE = render("voice.silent_goodbye", "voice")
SILENT_TRANSFER = render("voice.silent_transfer", "voice")
CONNECTING = render("voice.connecting", "voice")
CONNECTING_FALLBACK = render("voice.connecting_fallback", "voice")
DIAL_UNANSWERED = render("voice.dial_unanswered", "voice")
ONE_MOMENT = render("voice.one_moment", "voice")
TRY_AGAIN = render("channel.try_again", "voice")
LATE = render("voice.late", "voice")
CANT_HANDLE = render("voice.cant_handle", "voice")
GOODBYE = render("voice.goodbye", "voice")

# How many keypad digits each verification question expects (`#` ends them early).
KEYPAD_DIGITS = {"dob": 8, "dod_last4": 4}
_KEYPAD_QUESTIONS = {
    " ".join(render(QUESTIONS[slot], "voice").split()): digits
    for slot, digits in KEYPAD_DIGITS.items()
}
# A phone menu has at most nine buttons, and nobody says "the ninth".
_SPOKEN_NUMBERS = numbers.cardinals(1, 9) | numbers.ordinals(5)
_SID = re.compile(rf"[A-Za-z0-9]{{2,{MAX_SID_LENGTH}}}")
_CHOICE_FILLER = re.compile(r"^(?:press|number|option|choice|the|say)\s+|\s+please$")

# Words callers are likely to say: the medication and clinic names speech recognition would
# otherwise mishear. Clinic, facility, pharmacy and visit names are added from the database.
MENU_HINTS = (
    "appointment", "book an appointment", "cancel my appointment", "reschedule", "refill",
    "prescription", "test results", "lab results", "message my care team", "talk to someone",
    "yes", "no", "my PCM",
)  # fmt: skip


# --- Settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceSettings:
    """How the call sounds and listens; every field comes from the environment.

    `voice` is a Twilio voice name: "Polly.*" and "Google.*" voices read SSML pauses, the basic
    "man"/"woman"/"alice" do not (pauses are then left out). `speech_timeout` "auto" requires
    no `speech_model` (or "numbers_and_commands"); with another model give seconds instead.
    `transfer_number` (E.164) is dialled when the bot knows no clinic for "talk to someone" and
    after a caller stays silent; unset, those calls end politely instead.
    """

    voice: str = "Polly.Joanna-Neural"
    language: str = "en-US"
    speech_model: str | None = None
    speech_timeout: str = "auto"
    input_timeout: int = 6
    keypad_timeout: int = 10
    transfer_number: str | None = None

    @property
    def ssml(self) -> bool:
        return speech.supports_ssml(self.voice)


def _seconds(name: str, default: int, low: int = 1, high: int = 60) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        log.error("%s=%r is not a whole number of seconds; using %s", name, raw, default)
        return default
    if not low <= value <= high:
        log.error("%s=%s is outside %s..%s; using %s", name, value, low, high, default)
        return default
    return value


def load_voice_settings() -> VoiceSettings:
    """`TWILIO_VOICE`, `TWILIO_LANGUAGE`, `TWILIO_SPEECH_MODEL`, `TWILIO_SPEECH_TIMEOUT`,
    `TWILIO_VOICE_INPUT_TIMEOUT`, `TWILIO_VOICE_KEYPAD_TIMEOUT`, `TWILIO_VOICE_TRANSFER_NUMBER`
    (and `.env`)."""
    load_settings()  # loads `.env` without overriding the real environment
    defaults = VoiceSettings()
    language = (os.environ.get("TWILIO_LANGUAGE") or defaults.language).strip()
    if not re.fullmatch(r"[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{2,8})*", language):
        log.error("TWILIO_LANGUAGE=%r is not a language tag; using en-US", language)
        language = defaults.language
    speech_timeout = (os.environ.get("TWILIO_SPEECH_TIMEOUT") or "auto").strip().lower()
    if speech_timeout != "auto" and not (speech_timeout.isdigit() and 0 < int(speech_timeout) < 60):
        log.error(
            "TWILIO_SPEECH_TIMEOUT=%r is neither 'auto' nor seconds; using auto", speech_timeout
        )
        speech_timeout = "auto"
    model = (os.environ.get("TWILIO_SPEECH_MODEL") or "").strip() or None
    if model and speech_timeout == "auto" and model != "numbers_and_commands":
        log.warning(
            "TWILIO_SPEECH_MODEL=%s with speechTimeout=auto: Twilio may ignore the model "
            "(warning 13335); set TWILIO_SPEECH_TIMEOUT to seconds",
            model,
        )
    transfer = (os.environ.get("TWILIO_VOICE_TRANSFER_NUMBER") or "").strip()
    transfer_number = phone_or_none(transfer) if transfer else None
    if transfer and transfer_number is None:
        log.error("TWILIO_VOICE_TRANSFER_NUMBER=%r is not a phone number; ignored", transfer)
    return VoiceSettings(
        voice=(os.environ.get("TWILIO_VOICE") or defaults.voice).strip(),
        language=language,
        speech_model=model,
        speech_timeout=speech_timeout,
        input_timeout=_seconds("TWILIO_VOICE_INPUT_TIMEOUT", defaults.input_timeout),
        keypad_timeout=_seconds("TWILIO_VOICE_KEYPAD_TIMEOUT", defaults.keypad_timeout),
        transfer_number=transfer_number,
    )


# --- Reading a bot turn ------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One bot turn as the phone will carry it.

    `said` is everything in order; `question` the last message alone, repeated after silence;
    `choices` the buttons offered (keypad 1-9); `emergency` the words to say before the call
    ends; `dial` the number a hand-off transfers to; `handoff` that a person was asked for.
    """

    said: Speech = ()
    question: Speech = ()
    choices: tuple[Choice, ...] = ()
    emergency: str | None = None
    dial: str | None = None
    dial_said: str | None = None
    handoff: bool = False
    texts: tuple[str, ...] = ()


def read_turn(messages: Messages) -> Reply:
    """The bot's messages as speech, their buttons as keypad choices, their payloads as acts."""
    said: list[Speech] = []
    texts: list[str] = []
    choices: list[Choice] = []
    question: Speech = ()
    emergency: str | None = None
    dial: str | None = None
    dial_said: str | None = None
    handoff = False
    for message in messages:
        text = str(message.get("text") or "").strip()
        buttons = [b for b in message.get("buttons") or [] if isinstance(b, dict)]
        custom = message.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("emergency"), str):
            emergency = text or _emergency_words(custom["emergency"])
            continue
        if isinstance(custom, dict) and custom.get("handoff"):
            handoff = True
            number = custom.get("dial")
            dial = phone_or_none(number) if isinstance(number, str) else None
            dial_said = number if dial else None  # "254-555-0110" as the clinic writes it
        if buttons:  # the latest buttons are the ones a key press answers
            choices = [_choice(b) for b in buttons][:MAX_KEYPAD_CHOICES]
        spoken = speech.speech(text) if text else ()
        if spoken:
            texts.append(text)
            said.append(spoken)
            question = spoken
    if emergency is not None:
        return Reply(said=speech.speech(emergency), emergency=emergency, texts=(emergency,))
    return Reply(
        said=speech.join(*said),
        question=question,
        choices=tuple(choices),
        dial=dial,
        dial_said=dial_said,
        handoff=handoff,
        texts=tuple(texts),
    )


def _emergency_words(kind: str) -> str:
    try:
        return emergency_response(kind, CHANNEL)
    except ValueError:
        return emergency_response("medical", CHANNEL)


def _choice(button: dict[str, Any]) -> Choice:
    title = str(button.get("title") or button.get("payload") or "").strip()
    return Choice(title=title, payload=str(button.get("payload") or title))


def menu_words(choices: Sequence[Choice], *, operator: bool = False) -> str:
    """Buttons read aloud: "Say or press one for Yes, or two for No." (titles made speakable)."""
    items = [
        render(
            "voice.press_for",
            CHANNEL,
            number=speech.cardinal(n),
            title=speech.speak(c.title).rstrip("."),
        )
        for n, c in enumerate(choices, start=1)
    ]
    if not items:
        text = ""
    elif len(items) == 1:
        text = render("voice.say_or_press_one", CHANNEL, item=items[0])
    else:
        text = render("voice.say_or_press", CHANNEL, items=", ".join(items[:-1]), last=items[-1])
    if operator:
        text = f"{text} {speech.speak(OPERATOR)}".strip()
    return text


def chosen(choices: Sequence[Choice], *, digits: str = "", said: str = "") -> str | None:
    """The payload a key press or a spoken "one" / button title selects, or None.

    A lone 0 is "talk to someone" everywhere, as on any phone menu; no verification answer is
    a single 0.
    """
    if digits:
        if digits == "0":
            return TALK_TO_SOMEONE
        if len(digits) == 1 and digits.isdigit() and 1 <= int(digits) <= len(choices):
            return choices[int(digits) - 1].payload
        return None
    words = normalise(said)
    if not words or not choices:
        return None
    words = _CHOICE_FILLER.sub("", words).strip()
    number = int(words) if words.isascii() and words.isdigit() else _SPOKEN_NUMBERS.get(words)
    if number is not None:
        return choices[number - 1].payload if 1 <= number <= len(choices) else None
    for choice in choices:
        if words == normalise(choice.title):
            return choice.payload
    return None


def keypad_digits(requested_slot: str | None, reply: Reply) -> int | None:
    """How many digits the next answer is expected to have, when it is a verification one."""
    if requested_slot in KEYPAD_DIGITS:
        return KEYPAD_DIGITS[requested_slot]
    last = " ".join(reply.texts[-1].split()) if reply.texts else ""
    return _KEYPAD_QUESTIONS.get(last)


# --- Building TwiML ----------------------------------------------------------------------


@dataclass(frozen=True)
class Listen:
    """What to ask and how to listen for the answer."""

    said: Speech
    question: Speech
    action: str
    choices: tuple[Choice, ...] = ()
    digits: int | None = None
    operator: bool = False


class Phone:
    """Turns speech into TwiML with one voice, language and set of speech hints."""

    def __init__(self, settings: VoiceSettings, hints: str = "") -> None:
        self.settings = settings
        self.hints = hints

    def say(self, parent: VoiceResponse | Gather, parts: Speech) -> None:
        """`<Say>`s for the parts: SSML pauses where the voice reads them, split when long."""
        for chunk in _chunks(parts):
            element = Say(voice=self.settings.voice, language=self.settings.language)
            text: list[str] = []
            for part in chunk:
                if isinstance(part, Pause):
                    if self.settings.ssml and text:
                        element.append(" ".join(text) + " ")
                        text = []
                        element.break_(time=f"{part.ms}ms")
                else:
                    text.append(part)
            if text:
                element.append(" ".join(text))
            parent.append(element)

    def gather(self, action: str, *, digits: int | None, menu: bool) -> Gather:
        keypad = digits is not None
        return Gather(
            input="speech dtmf",
            action=action,
            method="POST",
            barge_in=True,
            hints=self.hints or None,
            speech_timeout=self.settings.speech_timeout,
            speech_model=self.settings.speech_model,
            language=self.settings.language,
            finish_on_key="#",
            num_digits=digits if keypad else (1 if menu else None),
            timeout=self.settings.keypad_timeout if keypad else self.settings.input_timeout,
            profanity_filter=False,  # the safety check must see exactly what was said
            action_on_empty_result=False,  # silence falls through to the reprompts below
        )

    def listen(self, ask: Listen, response: VoiceResponse | None = None) -> VoiceResponse:
        """Ask, then ask again twice on silence, then say goodbye (or transfer).

        The menu ("say or press one for ...") follows both the first asking and the repeats.
        """
        response = response or VoiceResponse()
        menu = bool(ask.choices) or ask.operator
        menu_parts: Speech = (menu_words(ask.choices, operator=ask.operator),) if menu else ()
        said = speech.join(ask.said, menu_parts)
        question = speech.join(ask.question or ask.said, menu_parts)
        attempts = (
            said,
            speech.join((NOT_HEARD,), question),
            speech.join((STILL_NOT_HEARD,), question),
        )
        for attempt in attempts:
            gather = self.gather(ask.action, digits=ask.digits, menu=menu)
            self.say(gather, attempt)
            response.append(gather)
        if self.settings.transfer_number:
            return self.transfer(
                speech.speech(SILENT_TRANSFER), self.settings.transfer_number, None, response
            )
        self.say(response, speech.speech(SILENT_GOODBYE))
        response.hangup()
        return response

    def end(self, parts: Speech) -> VoiceResponse:
        response = VoiceResponse()
        self.say(response, parts)
        response.hangup()
        return response

    def transfer(
        self,
        parts: Speech,
        number: str,
        dialed_action: str | None,
        response: VoiceResponse | None = None,
    ) -> VoiceResponse:
        response = response or VoiceResponse()
        self.say(response, parts)
        response.dial(
            number,
            action=dialed_action,
            method="POST" if dialed_action else None,
            timeout=30,
            answer_on_bridge=True,
        )
        if not dialed_action:
            response.hangup()
        return response


def _chunks(parts: Speech) -> list[list[str | Pause]]:
    """The parts in groups short enough for one `<Say>` each."""
    chunks: list[list[str | Pause]] = [[]]
    size = 0
    for part in parts:
        length = 0 if isinstance(part, Pause) else len(part) + 1
        if size + length > MAX_SAY_CHARS and chunks[-1]:
            chunks.append([])
            size = 0
        if isinstance(part, str) and len(part) > MAX_SAY_CHARS:  # one enormous sentence
            for piece in textwrap.wrap(part, MAX_SAY_CHARS):
                chunks[-1].append(piece)
                chunks.append([])
            size = 0
            continue
        chunks[-1].append(part)
        size += length
    return [c for c in chunks if any(isinstance(p, str) for p in c)]


def turn_url(step: int) -> str:
    """Relative to the webhook Twilio is calling, so it holds behind any path prefix."""
    return f"turn?step={step}"


def speech_hints(db: Database | None) -> str:
    """Medication, clinic, pharmacy and visit names for Twilio's speech recogniser."""
    names: list[str] = list(MENU_HINTS)
    if db is not None:
        try:
            found = clinics.list_clinics(db)
            names += [c.name for c in found] + [c.facility for c in found]
            names += [c.city for c in found]
            names += [t.name for t in clinics.appointment_types(db)]
            names += [p.name for p in prescriptions.list_pharmacies(db)]
        except Exception:  # noqa: BLE001 - hints only help; a call goes on without them
            log.exception("could not read clinic names for speech hints")
    drugs = {m for generics in medications.LAY_TERMS.values() for m in generics}
    drugs |= set(medications.BRAND_NAMES) | set(medications.BRAND_NAMES.values())
    names += list(medications.LAY_TERMS) + sorted(drugs)
    seen: set[str] = set()
    kept: list[str] = []
    for name in names:
        clean = " ".join(re.sub(r"[,\n\r]", " ", name).split())[:MAX_HINT_CHARS]
        if clean and clean.lower() not in seen:
            seen.add(clean.lower())
            kept.append(clean)
    return ", ".join(kept[:MAX_HINTS])


# --- The channel -------------------------------------------------------------------------

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class Call:
    """One signed webhook of a call: who, which call, which step."""

    sid: str
    conversation: str
    phone: str | None
    step: int


class TwilioVoiceInput(TwilioInput):
    """Registered in credentials.yml as `bot.channels.twilio_voice.TwilioVoiceInput:` (no
    options: the secret, public URL, voice and language come from the environment)."""

    @classmethod
    def name(cls) -> str:
        return "twilio_voice"

    def __init__(
        self,
        webhook: TwilioWebhook | None = None,
        settings: VoiceSettings | None = None,
        hints: str | None = None,
    ) -> None:
        self.webhook = webhook or TwilioWebhook(CHANNEL)
        self.settings = settings or load_voice_settings()
        self._hints = hints
        self._hints_at = 0.0

    # ---- plumbing

    async def hints(self) -> str:
        """Read once from the database and refreshed every few minutes."""
        if self._hints is None or time.monotonic() - self._hints_at > HINTS_TTL_SECONDS:
            try:
                database: Database | None = self.webhook.database
            except Exception:  # noqa: BLE001
                database = None
            self._hints = await self.webhook.in_thread(speech_hints, database)
            self._hints_at = time.monotonic()
        return self._hints

    async def phone(self) -> Phone:
        return Phone(self.settings, await self.hints())

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "configured": self.webhook.settings.configured}

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = self._blueprint()

        @hook.route("/webhook", methods=["POST"])
        async def incoming(request: Request) -> HTTPResponse:
            return await self.handle_incoming(request)

        @hook.route("/turn", methods=["POST"])
        async def turn(request: Request) -> HTTPResponse:
            return await self.handle_turn(request, on_new_message)

        @hook.route("/dialed", methods=["POST"])
        async def dialed(request: Request) -> HTTPResponse:
            return await self.handle_dialed(request)

        @hook.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            return await self.handle_status(request)

        return hook

    def _call(self, params: dict[str, str], step: int) -> Call | None:
        sid = (params.get("CallSid") or "").strip()
        if not _SID.fullmatch(sid):  # Twilio's are "CA" and 32 hex digits
            return None
        try:
            conversation = voice_conversation_id(sid)
        except InvalidInput:
            return None
        return Call(sid, conversation, phone_or_none(params.get("From")), step)

    async def _once(
        self,
        call: Call,
        request: Request,
        answer: Callable[[turns.Opening], Awaitable[Step]],
        *,
        take_late: bool = False,
    ) -> HTTPResponse:
        """Answer a call step exactly once; a retry gets the stored answer (or "one moment").

        The claim and what the step reads (the choices offered; with `take_late`, the late
        reply) are one transaction, the choices offered next and the stored answer another
        (`channel_state.turns`)."""
        key = f"voice:{call.sid}:{call.step}"
        db, run = self.webhook.database, self.webhook.in_thread
        try:
            opening = await run(
                turns.open_call_step,
                db,
                key=key,
                conversation_id=call.conversation,
                take_late=take_late,
            )
        except Exception:  # noqa: BLE001 - the database is down: be polite, process nothing
            log.exception("could not claim voice delivery %s", key)
            return twiml_response(await self._try_again(call.step))
        if not opening.claim.fresh:
            log.info("voice step %s arrived again; replaying its answer", key)
            return twiml_response(
                opening.claim.response or await self._one_moment(request, call.step)
            )
        try:
            step = await answer(opening)
        except Exception:  # noqa: BLE001 - whatever broke, the caller hears a polite answer
            log.exception("could not answer voice step %s", key)
            step = Step(await self._try_again(call.step))
        try:
            await run(
                turns.close_turn,
                db,
                key=key,
                conversation_id=call.conversation,
                choices=step.choices,
                response=step.twiml,
            )
        except Exception:  # noqa: BLE001
            log.exception("could not store the answer to voice step %s", key)
        return twiml_response(step.twiml)

    async def _one_moment(self, request: Request, step: int) -> str:
        """A retry of a step still being answered: wait, then ask again for the stored answer;
        after a few rounds, apologise and listen afresh."""
        try:
            waits = int(request.args.get("wait", "0"))
        except ValueError:
            waits = MAX_WAITS
        if waits >= MAX_WAITS:
            return await self._try_again(step)
        phone = Phone(self.settings)
        twiml = VoiceResponse()
        phone.say(twiml, speech.speech(ONE_MOMENT))
        twiml.pause(length=2)
        query = [(k, v) for k, v in request.query_args if k != "wait"] + [("wait", str(waits + 1))]
        target = request.path.rsplit("/", 1)[-1]
        twiml.redirect(f"{target}?{urlencode(query)}", method="POST")
        return str(twiml)

    async def _try_again(self, step: int) -> str:
        phone = await self.phone()
        said = speech.speech(TRY_AGAIN)
        return str(phone.listen(Listen(said, said, turn_url(step + 1), operator=True)))

    # ---- webhooks

    async def handle_incoming(self, request: Request) -> HTTPResponse:
        """A call comes in: greet, say the 911 notice, offer the keypad menu."""
        params = self.webhook.signed_params(request)
        if params is None:
            return forbidden()
        call = self._call(params, 0)
        if call is None:
            log.warning("a signed voice webhook without a usable CallSid")
            return twiml_response(str(Phone(self.settings).end(speech.speech(CANT_HANDLE))))

        async def answer(_: turns.Opening) -> Step:
            phone = await self.phone()
            said = speech.join(speech.speech(GREETING), speech.speech(MENU_LEAD))
            ask = Listen(said, speech.speech(MENU_LEAD), turn_url(1), MAIN_MENU, operator=True)
            return Step(str(phone.listen(ask)), list(MAIN_MENU))

        return await self._once(call, request, answer)

    async def handle_turn(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """What the caller said or keyed at one step, answered with the bot's reply."""
        params = self.webhook.signed_params(request)
        if params is None:
            return forbidden()
        step = _step(request.args.get("step"))
        call = self._call(params, step or 0)
        if call is None or step is None:
            log.warning("a signed voice turn without a usable CallSid or step")
            return twiml_response(str(Phone(self.settings).end(speech.speech(CANT_HANDLE))))
        heard = bool(_digits(params) or _clean_speech(params.get("SpeechResult") or ""))
        return await self._once(
            call,
            request,
            lambda opening: self._answer(request, call, params, opening, on_new_message),
            take_late=heard,
        )

    async def handle_dialed(self, request: Request) -> HTTPResponse:
        """A transfer ended: hang up after a real conversation, offer help again otherwise."""
        params = self.webhook.signed_params(request)
        if params is None:
            return forbidden()
        step = _step(request.args.get("step"))
        status = (params.get("DialCallStatus") or "").strip().lower()
        if step is None or status not in UNANSWERED_DIAL_STATUSES:
            return twiml_response(str(Phone(self.settings).end(speech.speech(GOODBYE))))
        call = self._call(params, step)
        if call is not None:
            try:
                await self.webhook.in_thread(
                    conversations.remember_choices,
                    self.webhook.database,
                    call.conversation,
                    list(MAIN_MENU),
                )
            except Exception:  # noqa: BLE001
                log.exception("could not offer the menu again after a failed transfer")
        phone = await self.phone()
        said = speech.speech(DIAL_UNANSWERED)
        ask = Listen(said, speech.speech(MENU_LEAD), turn_url(step), MAIN_MENU, operator=True)
        return twiml_response(str(phone.listen(ask)))

    async def handle_status(self, request: Request) -> HTTPResponse:
        """The call ended: forget the caller's verification and the choices offered."""
        params = self.webhook.signed_params(request)
        if params is None:
            return forbidden()
        call = self._call(params, 0)
        status = (params.get("CallStatus") or "").strip().lower()
        if call is not None and status in FINAL_CALL_STATUSES:
            db, run = self.webhook.database, self.webhook.in_thread
            try:
                await run(identity.end_session, db, call.conversation)
                await run(conversations.remember_choices, db, call.conversation, [])
            except Exception:  # noqa: BLE001 - the session still expires on its own
                log.exception("could not close call %s", call.conversation)
        return twiml_response(str(VoiceResponse()))

    # ---- one turn

    async def _answer(
        self,
        request: Request,
        call: Call,
        params: dict[str, str],
        opening: turns.Opening,
        on_new_message: OnNewMessage,
    ) -> Step:
        db, run = self.webhook.database, self.webhook.in_thread
        digits = _digits(params)
        said = _clean_speech(params.get("SpeechResult") or "")
        phone = await self.phone()
        next_step = turn_url(call.step + 1)
        offered = opening.offered
        if not digits and not said:  # the choices stay open for the next try
            again = speech.speech(DIDNT_CATCH)
            listen = Listen(again, again, next_step, tuple(offered), operator=True)
            return Step(str(phone.listen(listen)))
        payload = chosen(offered, digits=digits, said=said)
        late = opening.late

        async def hold(messages: Messages) -> None:
            texts = list(read_turn(messages).texts)
            await run(conversations.hold_late_reply, db, call.conversation, texts)

        take_saved_state(call.conversation)  # an earlier turn's, never read: only this one counts
        turn = await run_turn(
            on_new_message,
            text=payload or digits or said,
            conversation_id=call.conversation,
            input_channel=self.name(),
            metadata=channel_metadata(CHANNEL, call.phone),
            timeout=self.webhook.settings.reply_timeout,
            message_id=f"{call.sid}:{call.step}",
            on_late=hold,
        )
        reply = read_turn(turn.messages)
        if reply.emergency is not None:
            return Step(str(phone.end(reply.said)), [])
        earlier: Speech = speech.join((LATE,), *(speech.speech(t) for t in late)) if late else ()
        if reply.handoff and (reply.dial or self.settings.transfer_number):
            return Step(self._transfer(phone, reply, earlier, call.step + 1))
        if not turn.ok:
            sorry = speech.speech(TRY_AGAIN)
            ask = Listen(speech.join(earlier, reply.said, sorry), sorry, next_step, operator=True)
            return Step(str(phone.listen(ask)), [])
        choices = list(reply.choices)
        after = await self._tracker_state(request, call.conversation)
        if after.intent == "goodbye" and after.active_loop is None and not reply.choices:
            # the caller said goodbye
            return Step(str(phone.end(speech.join(earlier, reply.said))), choices)
        ask = Listen(
            said=speech.join(earlier, reply.said),
            question=reply.question,
            action=next_step,
            choices=reply.choices,
            digits=None if reply.choices else keypad_digits(after.requested_slot, reply),
        )
        if not ask.said:  # the bot said nothing: still never leave the caller in silence
            again = speech.speech(DIDNT_CATCH)
            ask = Listen(again, again, next_step, reply.choices, operator=True)
        return Step(str(phone.listen(ask)), choices)

    def _transfer(self, phone: Phone, reply: Reply, earlier: Speech, next_step: int) -> str:
        number = reply.dial or self.settings.transfer_number
        assert number is not None
        if reply.dial:
            again = render("voice.if_disconnected", "voice", number=reply.dial_said or reply.dial)
            lead = speech.speech(f"{CONNECTING} {again}")
        else:
            lead = speech.speech(CONNECTING_FALLBACK)
        dialed = f"dialed?step={next_step}"
        return str(phone.transfer(speech.join(earlier, lead), number, dialed))

    @staticmethod
    async def _tracker_state(request: Request, conversation: str) -> TurnState:
        """Where the conversation stands after the turn: as this process's tracker store saved
        it at the turn's end (`bot.tracker_store.take_saved_state`), else read back from the
        store.

        Empty without a Rasa agent (then the wording of a question is the clue to keypad entry).
        """
        agent = getattr(getattr(request.app, "ctx", None), "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return TurnState()
        saved = take_saved_state(conversation)
        if saved is not None:
            return saved
        try:
            tracker = await asyncio.wait_for(store.retrieve(conversation), 2)
        except Exception:  # noqa: BLE001 - only a refinement; the call goes on without it
            log.warning("could not read the tracker of %s", conversation)
            return TurnState()
        return TurnState() if tracker is None else TurnState.of(tracker)


def _step(raw: str | None) -> int | None:
    if raw is None or not raw.isdigit() or len(raw) > 6:
        return None
    step = int(raw)
    return step if 1 <= step <= MAX_STEP else None


@dataclass(frozen=True)
class Step:
    """A call step's TwiML, and the choices its keypad numbers stand for next (None: keep the
    ones already offered)."""

    twiml: str
    choices: list[Choice] | None = None


def _digits(params: dict[str, str]) -> str:
    """The keys pressed: digits and `*` only, at most 32."""
    return re.sub(r"[^0-9*]", "", params.get("Digits") or "")[:32]


def _clean_speech(text: str) -> str:
    """What the recogniser heard, without controls, and no longer than a caller can say."""
    kept = "".join(c if c.isprintable() else " " for c in text[:MAX_SPEECH_CHARS])
    return " ".join(kept.split())
