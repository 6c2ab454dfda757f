"""What the Twilio SMS and voice channels share: trust, time limits, retries, ids and metadata.

Rasa's own Twilio channels trust any request, answer through Twilio's REST API from inside the
request and use the caller's number as the conversation id. Ours:

* accept only requests signed by Twilio (`X-Twilio-Signature`, checked with the twilio library's
  `RequestValidator` against the public URL Twilio called); anything else gets 403 and nothing
  is processed. Without `TWILIO_AUTH_TOKEN` every request is refused: never accept unsigned ones;
* answer synchronously with TwiML, bounding the Rasa turn well inside Twilio's 15 s limit; a turn
  that fails or runs late gets a polite "please try again" instead of an error or silence;
* answer each delivery once (`MessageSid`, or `CallSid` plus a step number), storing the TwiML
  in the portal database so every replica replays the same answer to a retry;
* keep a conversation per channel (`sms:<E.164>`, `voice:<CallSid>`) and hand the actions the
  metadata they read: `{"channel": "sms" | "voice", "phone": "<E.164>"}`.

A channel uses it like this (`twilio_sms.TwilioSmsInput.handle` is a complete example):

    hook = TwilioWebhook("voice")                   # settings from the environment, logged
    params = hook.signed_params(request)            # None: forged, unsigned or no token set
    if params is None:
        return forbidden()                          # 403, nothing processed
    key = f"voice:{params['CallSid']}:{step}"
    conversation = voice_conversation_id(params["CallSid"])
    opening = await hook.in_thread(                 # the claim and what the turn reads: one
        turns.open_call_step, hook.database,        # transaction (channel_state.turns)
        key=key, conversation_id=conversation, take_late=True,
    )
    if not opening.claim.fresh:                     # a retry: replay, don't run the turn again
        return twiml_response(opening.claim.response or busy_twiml)
    turn = await run_turn(
        on_new_message, text=said, conversation_id=conversation,
        input_channel="twilio_voice", metadata=channel_metadata("voice", phone_or_none(caller)),
        timeout=hook.settings.reply_timeout, message_id=key,
    )
    twiml = render(turn) if turn.ok else apology    # say TRY_AGAIN when turn.ok is False
    await hook.in_thread(                           # the choices offered and the answer: one
        turns.close_turn, hook.database,            # transaction, replayed to any retry
        key=key, conversation_id=conversation, choices=offered, response=twiml,
    )
    return twiml_response(twiml)

Blocking portal_core calls go through `await hook.in_thread(function, *args)`, off the event
loop every conversation shares.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels import limits
from bot.channels.twilio_requests import SIGNATURE_HEADER
from portal_core.config import load_settings
from portal_core.database import Database
from portal_core.errors import InvalidInput
from portal_core.identity import normalize_phone
from wording.catalogue import render

log = logging.getLogger(__name__)

TWILIO_DEADLINE_SECONDS = 15.0
# Room left for the signature check, the database round trips and the network to Twilio.
MAX_REPLY_TIMEOUT_SECONDS = 12.0
DEFAULT_REPLY_TIMEOUT_SECONDS = 10.0
MAX_FORM_BYTES = 64 * 1024  # Twilio's largest form (an SMS of 1600 characters) is far smaller
TRY_AGAIN = render("channel.try_again", "sms")
TWIML_CONTENT_TYPE = "text/xml; charset=utf-8"

T = TypeVar("T")
Messages = list[dict[str, Any]]
LateHandler = Callable[[Messages], Awaitable[None]]


# --- Settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TwilioSettings:
    """Twilio's shared secret, the public address Twilio calls, and how long a turn may take.

    `public_base_url` is what Twilio was told (e.g. `https://assist.example.mil`) when Rasa sits
    behind a proxy that changes the scheme, host or port; the path and query Rasa sees are
    appended to it. Unset, the URL of the request as Rasa received it is used.
    """

    auth_token: str | None
    public_base_url: str | None = None
    reply_timeout: float = DEFAULT_REPLY_TIMEOUT_SECONDS
    database_url: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.auth_token)


def load_twilio_settings() -> TwilioSettings:
    """`TWILIO_AUTH_TOKEN`, `TWILIO_PUBLIC_BASE_URL`, `TWILIO_REPLY_TIMEOUT_SECONDS` (and `.env`).

    The secret is read here rather than through `${VAR}` in credentials.yml, where an unset
    variable would stop Rasa from starting at all.
    """
    portal = load_settings()  # also loads `.env` without overriding the real environment
    raw_timeout = os.environ.get("TWILIO_REPLY_TIMEOUT_SECONDS", "").strip()
    try:
        timeout = float(raw_timeout) if raw_timeout else DEFAULT_REPLY_TIMEOUT_SECONDS
    except ValueError:
        log.error("TWILIO_REPLY_TIMEOUT_SECONDS=%r is not a number; using the default", raw_timeout)
        timeout = DEFAULT_REPLY_TIMEOUT_SECONDS
    if not 0 < timeout <= MAX_REPLY_TIMEOUT_SECONDS:
        log.error(
            "TWILIO_REPLY_TIMEOUT_SECONDS=%s is outside (0, %s]; using %s",
            timeout,
            MAX_REPLY_TIMEOUT_SECONDS,
            DEFAULT_REPLY_TIMEOUT_SECONDS,
        )
        timeout = DEFAULT_REPLY_TIMEOUT_SECONDS
    base = (os.environ.get("TWILIO_PUBLIC_BASE_URL") or "").strip().rstrip("/")
    return TwilioSettings(
        auth_token=(os.environ.get("TWILIO_AUTH_TOKEN") or "").strip() or None,
        public_base_url=base or None,
        reply_timeout=timeout,
        database_url=portal.database_url,
    )


# --- Conversation ids and metadata -------------------------------------------------------


def sms_conversation_id(phone: str) -> str:
    """`sms:+12545550100`: one SMS conversation per number, apart from that number's calls."""
    return f"sms:{normalize_phone(phone)}"


def voice_conversation_id(call_sid: str) -> str:
    """`voice:CA...`: each call is its own conversation, so a call never inherits a text's."""
    if not isinstance(call_sid, str) or not call_sid.strip() or len(call_sid) > 64:
        raise InvalidInput(key="channel.call_invalid")
    return f"voice:{call_sid.strip()}"


def channel_metadata(channel: str, phone: str | None) -> dict[str, Any]:
    """What the actions read from `tracker.latest_message["metadata"]`."""
    return {"channel": channel, "phone": phone}


def phone_or_none(raw: str | None) -> str | None:
    """The sender's number in E.164, or None for a withheld, short-code or garbled number."""
    if not raw:
        return None
    try:
        return normalize_phone(raw)
    except InvalidInput:
        return None


# --- Requests and responses --------------------------------------------------------------


class FormParams(dict[str, str]):
    """Twilio's form fields; `getall` lets `RequestValidator` sign repeated fields like Twilio."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._all: dict[str, list[str]] = {}
        for name, value in pairs:
            self._all.setdefault(name, []).append(value)
        super().__init__({name: values[0] for name, values in self._all.items()})

    def getall(self, name: str) -> list[str]:
        return list(self._all.get(name, []))


def form_params(request: Request) -> FormParams:
    """The urlencoded body, decoded leniently: bytes that aren't UTF-8 become U+FFFD, not a 500.

    Parsed by hand rather than through `request.form`, which depends on the content type and
    drops what it can't decode; the signature is then checked on exactly what we will use.
    """
    body = request.body or b""
    if len(body) > MAX_FORM_BYTES:
        body = body[:MAX_FORM_BYTES]
    text = body.decode("utf-8", errors="replace")
    return FormParams(parse_qsl(text, keep_blank_values=True, errors="replace"))


class TwilioInput(InputChannel):
    """What the SMS and voice input channels share: no options in credentials.yml (the secret and
    the public URL come from the environment), and a blueprint with a health check."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def health(self) -> dict[str, Any]:
        """What `GET /` answers, for the load balancer's check."""
        return {"status": "ok"}

    def _blueprint(self) -> Blueprint:
        """This channel's blueprint, named uniquely per instance, with `GET /` answered."""
        module = inspect.getmodule(self)
        hook = Blueprint(f"{self.name()}_webhook_{id(self)}", module.__name__ if module else None)

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json(self.health())

        return hook


def twiml_response(twiml: str, status: int = 200) -> HTTPResponse:
    return response.text(twiml, status=status, content_type=TWIML_CONTENT_TYPE)


def forbidden() -> HTTPResponse:
    """403 with no TwiML: Twilio (or whoever sent it) learns nothing and nothing was done."""
    return response.text("Forbidden", status=403)


# --- The webhook: signature, database, idempotency ----------------------------------------


class TwilioWebhook:
    """One channel's Twilio plumbing; create it once per channel (in `from_credentials`).

    `settings` default to the environment; `database` to `settings.database_url` (the same
    portal database the action server uses), opened on first use.
    """

    def __init__(
        self,
        channel: str,
        settings: TwilioSettings | None = None,
        database: Database | None = None,
    ) -> None:
        self.channel = channel
        self.settings = settings or load_twilio_settings()
        self._database = database
        if not self.settings.configured:
            log.error(
                "TWILIO_AUTH_TOKEN is not set: the Twilio %s channel will refuse every request "
                "with 403 until it is (see .env.example)",
                self.channel,
            )
        elif not self.settings.public_base_url:
            log.warning(
                "TWILIO_PUBLIC_BASE_URL is not set: Twilio signatures are checked against the "
                "URL Rasa sees, which fails behind a proxy that changes the scheme or host"
            )

    @property
    def database(self) -> Database:
        if self._database is None:
            self._database = Database(self.settings.database_url or load_settings().database_url)
        return self._database

    def public_url(self, request: Request) -> str:
        """The URL Twilio called and signed: public base + path + query string."""
        if not self.settings.public_base_url:
            return str(request.url)
        query = f"?{request.query_string}" if request.query_string else ""
        return f"{self.settings.public_base_url}{request.path}{query}"

    def signed_params(self, request: Request) -> FormParams | None:
        """The form fields when Twilio signed this request; None (and a log line) otherwise."""
        if not self.settings.auth_token:
            log.warning("refused a Twilio %s request: TWILIO_AUTH_TOKEN is not set", self.channel)
            return None
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            log.warning("refused a Twilio %s request without %s", self.channel, SIGNATURE_HEADER)
            return None
        params = form_params(request)
        validator = RequestValidator(self.settings.auth_token)
        if not validator.validate(self.public_url(request), params, signature):
            log.warning(
                "refused a Twilio %s request with a signature that does not match %s",
                self.channel,
                self.public_url(request),
            )
            return None
        return params

    async def in_thread(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking portal_core call off the event loop that serves every conversation."""
        return await asyncio.to_thread(function, *args, **kwargs)


# --- Running a turn ----------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """The bot's messages for one user message (`CollectingOutputChannel.messages`).

    `ok` is False when Rasa failed or did not answer within the timeout; the channel then says
    `TRY_AGAIN`. A turn that timed out keeps running: its late messages go to `on_late`.
    """

    messages: Messages
    ok: bool = True
    timed_out: bool = False


_background: set[asyncio.Task[Any]] = set()  # late turns, kept referenced until they finish


async def run_turn(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    *,
    text: str,
    conversation_id: str,
    input_channel: str,
    metadata: dict[str, Any],
    timeout: float,
    message_id: str | None = None,
    on_late: LateHandler | None = None,
) -> Turn:
    """Run one Rasa turn, waiting at most `timeout` seconds for its messages.

    A slow turn is not cancelled: cutting it off could leave an action done (an appointment
    booked) but missing from the tracker, so the next message would be misread. It finishes in
    the background and `on_late` receives what it would have said.
    """
    collector = CollectingOutputChannel()
    message = UserMessage(
        limits.bound(text).text,  # the one bound on what NLU reads, as on every channel
        collector,
        conversation_id,
        input_channel=input_channel,
        message_id=message_id,
        metadata=metadata,
    )
    task = asyncio.ensure_future(on_new_message(message))
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout)
    except asyncio.TimeoutError:
        log.error("Rasa took over %s s for %s; answering 'try again'", timeout, conversation_id)
        _finish_late(task, collector, conversation_id, on_late)
        return Turn(messages=[], ok=False, timed_out=True)
    except Exception:  # noqa: BLE001 - any failure is answered politely, and logged
        log.exception("Rasa failed on a message for %s", conversation_id)
        return Turn(messages=list(collector.messages), ok=False)
    return Turn(messages=list(collector.messages))


def _finish_late(
    task: asyncio.Future[Any],
    collector: CollectingOutputChannel,
    conversation_id: str,
    on_late: LateHandler | None,
) -> None:
    async def wait() -> None:
        try:
            await task
        except Exception:  # noqa: BLE001
            log.exception("a late Rasa turn for %s failed", conversation_id)
            return
        if on_late is not None:
            try:
                await on_late(list(collector.messages))
            except Exception:  # noqa: BLE001
                log.exception("could not keep the late reply for %s", conversation_id)

    waiter = asyncio.ensure_future(wait())
    _background.add(waiter)
    waiter.add_done_callback(_background.discard)


def texts_of(messages: Messages) -> list[str]:
    """The plain texts of a turn, in order."""
    return [str(m["text"]) for m in messages if m.get("text")]


def customs_of(messages: Messages) -> list[dict[str, Any]]:
    """The `json_message` payloads of a turn (emergency, handoff), in order."""
    return [m["custom"] for m in messages if isinstance(m.get("custom"), dict)]
