"""The REST channel (`POST /webhooks/rest/webhook`), rebuilt so a client's claims stay data.

Rasa's own `RestInput` takes the conversation id, the input channel and the metadata from the
request body as given. A client could then write into a phone conversation (`sender:
"sms:+1..."`), claim to be a text message (`input_channel`, `metadata.channel`/`phone`) and act
on whoever verified on that phone. Here:

* the conversation id is made by the server: `web:p<patient>:<sender>` when the portal token
  verifies (so two patients never share one, whatever `sender` they send), `web:anon:<sender>`
  otherwise. It can never begin `sms:` or `voice:`, which only the signed Twilio channels use;
* the input channel is always `rest`, and the only metadata passed on is the portal token,
  which the actions verify again on every message;
* the body must be a JSON object with a string `message` (400 otherwise, never a 500), and the
  text is cut to the one bound every channel applies (`limits.bound`), with a note.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import limits
from bot.channels.twilio_common import TRY_AGAIN
from portal_core import web_tokens
from portal_core.errors import PortalError

log = logging.getLogger(__name__)

SENDER = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_TOKEN_CHARS = web_tokens.MAX_TOKEN_LENGTH


def bad_request(reason: str) -> HTTPResponse:
    return response.json({"error": "bad_request", "reason": reason}, status=400)


def conversation_id(sender: str, token: str | None) -> str:
    """The server's conversation id for a web client: bound to the verified patient, if any."""
    if token:
        try:
            who = web_tokens.read_token(token)
        except (PortalError, RuntimeError):
            who = None
        if who is not None:
            return f"web:p{who.patient_id}:{sender}"
    return f"web:anon:{sender}"


class PortalRestInput(InputChannel):
    """The web chat's and the tests' HTTP way in; identity only from the signed portal token."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("portal_rest", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - Sanic raises its own error for bad JSON
                return bad_request("the body must be JSON")
            if not isinstance(body, dict):
                return bad_request("the body must be a JSON object")
            sender, message = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not SENDER.match(sender):
                return bad_request("sender: 1 to 64 letters, digits, '.', '_' or '-'")
            if not isinstance(message, str):
                return bad_request("message must be a string")
            metadata = body.get("metadata")
            token = metadata.get("portal_token") if isinstance(metadata, dict) else None
            token = token if isinstance(token, str) and len(token) <= MAX_TOKEN_CHARS else None
            bounded = limits.bound(message)
            collector = CollectingOutputChannel()
            user = UserMessage(
                bounded.text,
                collector,
                conversation_id(sender, token),
                input_channel=self.name(),
                metadata={"portal_token": token} if token else {},
            )
            try:
                await on_new_message(user)
            except Exception:  # noqa: BLE001 - the client gets an answer, the log the trace
                log.exception("the REST turn for %s failed", user.sender_id)
                return response.json(
                    [{"recipient_id": user.sender_id, "text": TRY_AGAIN}], status=200
                )
            replies = list(collector.messages)
            if bounded.cut:
                replies.insert(0, {"recipient_id": user.sender_id, "text": limits.TOO_LONG_NOTE})
            return response.json(replies)

        return hook
