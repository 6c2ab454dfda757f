"""The Twilio SMS channel: a signed webhook answered at once with TwiML `<Message>`s.

Point a Twilio number's "A message comes in" webhook (HTTP POST) at
`<TWILIO_PUBLIC_BASE_URL>/webhooks/twilio_sms/webhook`. Each text is handled in this order:

1. the signature is checked (403 and nothing else otherwise, see `twilio_common`);
2. a retried `MessageSid` gets the answer already given, without reaching Rasa again;
3. STOP / START / HELP and their carrier synonyms are answered here, never by the bot, and an
   opted-out number gets an empty answer until it texts START;
4. "1", "2"... select the buttons of the bot's previous reply;
5. the text goes to Rasa as conversation `sms:<E.164>` with `{"channel": "sms", "phone": ...}`;
6. the bot's reply becomes plain text (buttons as numbered choices, an emergency or handoff
   payload as words) split into messages of at most 320 characters.

The bookkeeping around the bot's turn is two transactions (`channel_state.turns`): the
claim with everything read before the turn, then the choices offered with the stored answer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels.twilio_common import (
    TRY_AGAIN,
    Messages,
    TwilioInput,
    TwilioWebhook,
    channel_metadata,
    forbidden,
    phone_or_none,
    run_turn,
    sms_conversation_id,
    twiml_response,
)
from channel_state import conversations, opt_out, turns
from channel_state.conversations import Choice
from channel_state.opt_out import Keyword
from wording import catalogue, sms

log = logging.getLogger(__name__)

CHANNEL = "sms"
MAX_PARTS = 8  # beyond this a reply is cut short and pointed at the portal
TOO_LONG = catalogue.render("sms.reply_cut", "sms")
NOT_TEXT = catalogue.render("sms.not_text", "sms")
LATE = catalogue.render("sms.late", "sms")
MAX_SID_LENGTH = 64


def messaging_twiml(texts: list[str]) -> str:
    """TwiML with one `<Message>` per text; no texts gives `<Response/>` (send nothing)."""
    twiml = MessagingResponse()
    for text in texts:
        twiml.message(text)
    return str(twiml)


def sms_parts(texts: list[str], max_parts: int = MAX_PARTS) -> list[str]:
    """The texts of a reply as SMS-sized parts, packed together and capped at `max_parts`."""
    joined = "\n".join(sms.gsm_friendly(t).strip() for t in texts if t and t.strip())
    parts = sms.split_message(joined)
    if len(parts) > max_parts:
        parts = parts[: max_parts - 1] + [TOO_LONG]
    return parts


@dataclass
class Rendered:
    """A bot turn as SMS: the texts to send and the choices their numbers stand for."""

    texts: list[str] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)


def render(messages: Messages, *, with_choices: bool = True) -> Rendered:
    """Text for a phone: buttons numbered, emergency and handoff payloads said in words.

    The numbering runs across the whole turn, so "3" means the same thing whichever of the
    bot's messages offered it. An emergency is always said first, even if the bot only sent
    the payload. `with_choices=False` leaves buttons out (a late reply, whose numbers could
    no longer be answered).
    """
    out = Rendered()
    for message in messages:
        text = str(message.get("text") or "").strip()
        buttons = [b for b in message.get("buttons") or [] if isinstance(b, dict)]
        if buttons and with_choices:
            first = len(out.choices)
            for button in buttons:
                title = str(button.get("title") or button.get("payload") or "").strip()
                payload = str(button.get("payload") or title)
                out.choices.append(Choice(title=title, payload=payload))
            titles = [c.title for c in out.choices[first:]]
            numbered = sms.numbered_choices(titles, start=first + 1)
            text = f"{text}\n{numbered}" if text else numbered
        for key in ("image", "attachment"):
            if isinstance(message.get(key), str):
                text = f"{text}\n{message[key]}" if text else message[key]
        if text:
            out.texts.append(text)
        custom = message.get("custom")
        if isinstance(custom, dict):
            _say_custom(custom, out)
    return out


def _say_custom(custom: dict[str, Any], out: Rendered) -> None:
    kind = custom.get("emergency")
    if isinstance(kind, str):
        try:
            words = catalogue.emergency_response(kind, CHANNEL)
        except ValueError:
            words = catalogue.emergency_response("medical", CHANNEL)
        if _squashed(words) not in _squashed(" ".join(out.texts)):
            out.texts.insert(0, words)
        return
    dial = custom.get("dial")
    if custom.get("handoff") and isinstance(dial, str) and dial:
        if not any(dial in text for text in out.texts):
            out.texts.append(catalogue.render("sms.you_can_call", "sms", dial=dial))
        return
    if isinstance(custom.get("text"), str):
        out.texts.append(custom["text"])


def _squashed(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Answer:
    """The texts to send, and the choices to remember for the next text (None: keep them)."""

    texts: list[str]
    choices: list[Choice] | None = None


class TwilioSmsInput(TwilioInput):
    """Registered in credentials.yml as `bot.channels.twilio_sms.TwilioSmsInput:` (no options:
    the secret and the public URL come from the environment, see `twilio_common`)."""

    @classmethod
    def name(cls) -> str:
        return "twilio_sms"

    def __init__(self, webhook: TwilioWebhook | None = None) -> None:
        self.webhook = webhook or TwilioWebhook(CHANNEL)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = self._blueprint()

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.handle(request, on_new_message)

        return hook

    async def handle(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        params = self.webhook.signed_params(request)
        if params is None:
            return forbidden()
        sid = (params.get("MessageSid") or params.get("SmsSid") or "").strip()
        sender = params.get("From")
        if not sid or len(sid) > MAX_SID_LENGTH or not sender:
            log.warning("a signed SMS webhook without a usable MessageSid or From")
            return twiml_response(messaging_twiml([]), status=400)
        phone = phone_or_none(sender)
        if phone is None:
            log.info("ignored an SMS from a number that can't be answered (%r)", sender[:20])
            return twiml_response(messaging_twiml([]))
        conversation = sms_conversation_id(phone)
        key = f"sms:{sid}"
        text = sms.clean_inbound(params.get("Body") or "")
        keyword = opt_out.keyword_of(text)
        db, run = self.webhook.database, self.webhook.in_thread
        try:
            opening = await run(
                turns.open_text,
                db,
                key=key,
                conversation_id=conversation,
                phone=phone,
                text=text,
                keyword=keyword is not None,
            )
        except Exception:  # noqa: BLE001 - the database is down: say so politely, keep nothing
            log.exception("could not claim SMS delivery %s", key)
            return twiml_response(messaging_twiml([TRY_AGAIN]))
        if not opening.claim.fresh:
            # Replay the stored answer; a copy still being answered elsewhere gets silence
            # rather than a second, different reply.
            log.info("SMS delivery %s arrived again; replaying its answer", key)
            return twiml_response(opening.claim.response or messaging_twiml([]))
        answer = Answer([TRY_AGAIN])
        try:
            answer = await self.answer(
                on_new_message, phone, conversation, text, keyword, opening, sid
            )
        except Exception:  # noqa: BLE001 - whatever broke, the patient gets a polite answer
            log.exception("could not answer SMS delivery %s", key)
        twiml = messaging_twiml(sms_parts(answer.texts))
        try:
            await run(
                turns.close_turn,
                db,
                key=key,
                conversation_id=conversation,
                choices=answer.choices,
                response=twiml,
            )
        except Exception:  # noqa: BLE001 - the answer still goes out; a retry finds it unstored
            log.exception("could not store the answer to SMS delivery %s", key)
        return twiml_response(twiml)

    async def answer(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        phone: str,
        conversation: str,
        text: str,
        keyword: tuple[Keyword, str] | None,
        opening: turns.Opening,
        sid: str,
    ) -> Answer:
        """What to send back (nothing at all for an opted-out number), and the choices its
        numbers stand for (None: a "try again" leaves the earlier ones as they were)."""
        choice, late = opening.choice, opening.late
        if keyword is not None:
            said = await self._keyword(keyword, opening.opted_out, phone, conversation)
            if said is not None:
                return Answer(said)
            # "YES" from a number that never opted out: an answer for the bot after all.
            late = await self.webhook.in_thread(
                conversations.take_late_reply, self.webhook.database, conversation
            )
        if opening.opted_out:
            return Answer([])
        if not text:
            return Answer([NOT_TEXT])

        async def hold(messages: Messages) -> None:
            await self.webhook.in_thread(
                conversations.hold_late_reply,
                self.webhook.database,
                conversation,
                render(messages, with_choices=False).texts,
            )

        turn = await run_turn(
            on_new_message,
            text=choice.payload if choice else text,
            conversation_id=conversation,
            input_channel=self.name(),
            metadata=channel_metadata(CHANNEL, phone),
            timeout=self.webhook.settings.reply_timeout,
            message_id=sid,
            on_late=hold,
        )
        earlier = [LATE, *late] if late else []
        rendered = render(turn.messages)
        # Rasa says nothing at all when an action failed (an action server unreachable or
        # restarting: Rasa drops the action's events and listens). Every healthy turn says
        # something, so silence is a failure, and the texter is asked to send it again.
        if not turn.ok or not turn.messages:
            return Answer([*earlier, *rendered.texts, TRY_AGAIN])
        return Answer([*earlier, *rendered.texts], rendered.choices)

    async def _keyword(
        self, found: tuple[Keyword, str], opted_out: bool, phone: str, conversation: str
    ) -> list[str] | None:
        """What a carrier keyword gets; None when the word is just an answer for the bot.

        HELP is answered even after STOP (carriers require it); a repeated STOP gets nothing;
        YES restarts only a number that opted out, otherwise it is a "yes" to the bot.
        """
        keyword, word = found
        db, run = self.webhook.database, self.webhook.in_thread
        if keyword is Keyword.HELP:
            return [catalogue.render("sms.help", "sms")]
        if keyword is Keyword.STOP:
            changed = await run(opt_out.opt_out, db, phone, word)
            await run(conversations.remember_choices, db, conversation, [])
            if not changed:
                return []
            hint = catalogue.render("sms.cancel_hint", "sms") if word == "CANCEL" else ""
            return [catalogue.render("sms.stopped", "sms") + hint]
        if not opted_out and word == "YES":
            return None
        await run(opt_out.opt_in, db, phone, word)
        return [catalogue.render("sms.started", "sms")]
