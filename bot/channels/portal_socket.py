"""The portal page's chat: a socket.io channel that knows who is signed in and where they chat.

Rasa 3.6's `socketio` channel was measured unfit for a patient portal (see RASA_NOTES): it checks
a token only at connect and then lets any client name any `session_id`, so one patient could
read another's conversation; it creates its server with `cors_allowed_origins=[]`, which turns
the Origin check off; and with `session_persistence` its unawaited `enter_room` (a coroutine
since python-socketio 5.10) means no reply is ever delivered. This channel, its replacement:

* refuses a connection without a valid portal token (`portal_core.web_tokens`, the same check
  the actions make) in the handshake's `auth: {token}`, and any page whose Origin is not one of
  the portal's, `GENESIS_CORS_ORIGINS` (the launcher's CORS list, default the portal page's own:
  http://127.0.0.1:8000 and http://localhost:8000);
* derives the conversation itself from the verified token: `web:p<patient>:<sign-in id>`. A
  client never names a conversation (a `session_id` it sends is ignored), so a second patient's
  token can only ever reach the second patient's conversation. The sign-in id (`sid` claim) is
  the portal's, so reloads and token refreshes keep the conversation and a sign-out ends it; a
  token without one gets a conversation of its own per connection;
* builds the metadata the actions read, `{"portal_token": <token>}`, on the server; a client's
  metadata is never forwarded. The actions verify the token again on every
  message, and so does this channel: an expired session gets `session_ended`, not an answer;
* awaits `enter_room` and sends every reply to the conversation's room, so every tab of the
  signed-in patient sees it, and replays the conversation so far (`history`) after a reload.

Events (client -> server): `session_request`, `user_uttered` `{message}`, `refresh_token`
`{token}` (acknowledged with `{ok, message?}`). Server -> client: `session_confirm`, `history`
`[{sender, text, buttons, custom}]`, `bot_uttered` `{text, buttons, custom}`, `session_ended`
`{message}`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from bot.channels import limits
from bot.launch import cors_origins
from portal_core import web_tokens
from portal_core.clock import utcnow
from portal_core.config import load_settings
from portal_core.errors import PortalError, SessionExpired
from wording.catalogue import render, say_error

log = logging.getLogger(__name__)

# A socket.io frame larger than this closes the connection (engine.io's own limit); the text in
# it is cut to the bound every channel applies (`limits.bound`), with a note.
MAX_FRAME_BYTES = 128 * 1024
HISTORY_LIMIT = 200  # messages replayed after a reload (the current Rasa session only)
TRY_AGAIN = render("channel.try_again", "web")
SIGN_IN_FIRST = render("channel.sign_in_to_chat", "web")


def allowed_origins() -> list[str]:
    """The portal page's origins: the same list Rasa's HTTP CORS uses (`bot.launch`), never "*"."""
    return cors_origins()


def conversation_for(identity: web_tokens.WebIdentity) -> str:
    """The conversation a verified token belongs to; only the server ever computes it."""
    sign_in = identity.session or f"conn-{uuid.uuid4().hex}"
    return f"web:p{identity.patient_id}:{sign_in}"


def verify(token: object) -> web_tokens.WebIdentity:
    """The signed-in patient, or PortalError (`SessionExpired` / `InvalidToken`)."""
    if not isinstance(token, str) or not token:
        raise web_tokens.InvalidToken(SIGN_IN_FIRST)
    token = token.removeprefix("Bearer ").strip()
    return web_tokens.read_token(token, now=utcnow(), settings=load_settings())


@dataclass
class Bound:
    """What the server remembers about one socket: whose it is and which conversation."""

    patient_id: int
    session: str | None
    conversation: str
    token: str


def web_message(message: dict[str, Any]) -> dict[str, Any]:
    """One bot message for the widget: text, buttons and the custom (rich) payload together.

    Rasa's socketio output splits a message into text, quick replies and custom parts (and its
    custom part crashes unless shaped `{"custom": {"data": ...}}`); one message keeps an
    emergency's words and its call buttons in one banner.
    """
    buttons = [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in (message.get("buttons") or message.get("quick_replies") or [])
        if isinstance(b, dict)
    ]
    out: dict[str, Any] = {"text": str(message.get("text") or "")}
    if buttons:
        out["buttons"] = buttons
    custom = message.get("custom")
    if isinstance(custom, dict):
        out["custom"] = custom
    return out


class PortalSocketOutput(OutputChannel):
    """Sends each reply, whole, to the conversation's room (every tab of that sign-in)."""

    @classmethod
    def name(cls) -> str:
        return PortalSocketInput.name()

    def __init__(self, sio: AsyncServer, bot_message_evt: str) -> None:
        self.sio = sio
        self.bot_message_evt = bot_message_evt

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        shaped = web_message(message)
        if shaped["text"] or shaped.get("buttons") or shaped.get("custom"):
            await self.sio.emit(self.bot_message_evt, shaped, room=recipient_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


class _AppBlueprint(SocketBlueprint):
    """Remembers the Sanic app it is registered on: the agent (for history) lives there."""

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        self.ctx.app = app
        super().register(app, options)


class PortalSocketInput(InputChannel):
    """`bot.channels.portal_socket.PortalSocketInput` in credentials.yml."""

    @classmethod
    def name(cls) -> str:
        return "portal_socket"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(socketio_path=str(credentials.get("socketio_path") or "/socket.io"))

    def __init__(
        self,
        socketio_path: str = "/socket.io",
        origins: Iterable[str] | None = None,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
    ) -> None:
        self.socketio_path = socketio_path
        self.origins = list(origins) if origins is not None else allowed_origins()
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.sio: AsyncServer | None = None
        log.info("portal chat: socket.io at %s for %s", socketio_path, ", ".join(self.origins))

    def get_output_channel(self) -> OutputChannel | None:
        return PortalSocketOutput(self.sio, self.bot_message_evt) if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=self.origins,  # a list: the Origin header is checked
            max_http_buffer_size=MAX_FRAME_BYTES,
            logger=False,
            engineio_logger=False,
        )
        self.sio = sio
        blueprint = _AppBlueprint(sio, self.socketio_path, "portal_socket_webhook", __name__)
        output = PortalSocketOutput(sio, self.bot_message_evt)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect")
        async def connect(sid: str, environ: dict[str, Any], auth: Any) -> bool:
            token = auth.get("token") if isinstance(auth, dict) else None
            try:
                identity = verify(token)
            except SessionExpired as exc:
                raise SocketRefused(say_error(exc), {"reason": "session_ended"}) from None
            except PortalError as exc:
                raise SocketRefused(say_error(exc), {"reason": "not_signed_in"}) from None
            bound = Bound(
                identity.patient_id,
                identity.session,
                conversation_for(identity),
                str(token).removeprefix("Bearer ").strip(),
            )
            await sio.save_session(sid, {"bound": bound})
            await sio.enter_room(sid, bound.conversation)
            return True

        async def bound_of(sid: str) -> Bound | None:
            try:
                return (await sio.get_session(sid)).get("bound")
            except KeyError:
                return None

        async def end_session(sid: str, message: str) -> None:
            await sio.emit("session_ended", {"message": message}, to=sid)
            await sio.disconnect(sid)

        @sio.on("session_request")
        async def session_request(sid: str, data: Any = None) -> None:
            bound = await bound_of(sid)
            if bound is None:
                return
            # The client's `session_id`, if any, is ignored: the token decided the conversation.
            await sio.emit("session_confirm", {"persistent": bound.session is not None}, to=sid)
            history = await self._history(blueprint, bound.conversation)
            await sio.emit("history", history, to=sid)

        @sio.on("refresh_token")
        async def refresh_token(sid: str, data: Any = None) -> dict[str, Any]:
            bound = await bound_of(sid)
            token = data.get("token") if isinstance(data, dict) else None
            if bound is None:
                return {"ok": False, "message": SIGN_IN_FIRST}
            try:
                identity = verify(token)
            except PortalError as exc:
                return {"ok": False, "message": say_error(exc)}
            if (identity.patient_id, identity.session) != (bound.patient_id, bound.session):
                # Another person's (or another sign-in's) token can't take over this socket.
                log.warning("portal chat: a token for another sign-in was refused on %s", sid)
                return {"ok": False, "message": SIGN_IN_FIRST}
            bound.token = str(token).removeprefix("Bearer ").strip()
            await sio.save_session(sid, {"bound": bound})
            return {"ok": True}

        @sio.on(self.user_message_evt)
        async def handle_message(sid: str, data: Any = None) -> None:
            bound = await bound_of(sid)
            if bound is None:
                return
            try:
                verify(bound.token)
            except PortalError as exc:
                await end_session(sid, say_error(exc))
                return
            text = data.get("message") if isinstance(data, dict) else None
            bounded = limits.bound(text)
            if not bounded.text:
                return
            if bounded.cut:
                await output.send_text_message(bound.conversation, limits.TOO_LONG_NOTE)
            message = UserMessage(
                bounded.text,
                output,
                bound.conversation,
                input_channel=self.name(),
                metadata={"portal_token": bound.token},
            )
            try:
                await on_new_message(message)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the person gets an apology, never a trace
                log.exception("portal chat: the turn failed for %s", bound.conversation)
                await output.send_text_message(bound.conversation, TRY_AGAIN)

        return blueprint

    async def _history(self, blueprint: _AppBlueprint, conversation: str) -> list[dict[str, Any]]:
        """The current Rasa session's messages, as the widget shows them; [] when unavailable."""
        app = getattr(blueprint.ctx, "app", None)
        agent = getattr(getattr(app, "ctx", None), "agent", None)
        if agent is None or agent.tracker_store is None:
            return []
        try:
            tracker = await agent.tracker_store.retrieve(conversation)
        except Exception:  # noqa: BLE001 - a reload without history beats a broken page
            log.exception("portal chat: could not read the history of %s", conversation)
            return []
        if tracker is None:
            return []
        return transcript(tracker.events)[-HISTORY_LIMIT:]


def transcript(events: Iterable[Any]) -> list[dict[str, Any]]:
    """User and bot messages since the last session start.

    A button press is shown by the title the person pressed, not by its payload
    (`/inform{"choice": "12"}`), as the widget showed it when it was pressed.
    """
    out: list[dict[str, Any]] = []
    last_buttons: list[dict[str, str]] = []
    for event in events:
        kind = getattr(event, "type_name", None)
        if kind == "session_started":
            out, last_buttons = [], []
        elif kind == "user":
            text = str(getattr(event, "text", "") or "")
            titles = {b["payload"]: b["title"] for b in last_buttons}
            out.append({"sender": "user", "text": titles.get(text, text)})
        elif kind == "bot":
            data = dict(getattr(event, "data", None) or {})
            shaped = web_message({"text": getattr(event, "text", None), **data})
            if shaped["text"] or shaped.get("buttons") or shaped.get("custom"):
                out.append({"sender": "bot", **shaped})
                last_buttons = shaped.get("buttons", [])
    return out
