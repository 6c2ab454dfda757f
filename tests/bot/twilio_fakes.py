"""What the in-process Twilio channel tests stand on: Sanic requests signed as Twilio signs
them, and a stand-in for Rasa's message handler that each test tells what to answer.

Shared by test_twilio_sms.py and test_twilio_voice.py, so both channels are driven the same way.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from sanic.compat import Header
from sanic.request import Request
from twilio.request_validator import RequestValidator

from bot.channels.twilio_requests import SIGNATURE_HEADER


class _Transport:
    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def sanic_request(
    app: Sanic,
    path: str,
    form: dict[str, str],
    *,
    raw_body: bytes | None,
    token: str,
    url: str,
    signature: str | None,
) -> Request:
    """A POST to `path` as Sanic hands it to a channel; `signature` "sign" signs `form` for
    `url` with `token`, None leaves the header out, anything else is sent as it is."""
    headers = {"host": "127.0.0.1:5005", "content-type": "application/x-www-form-urlencoded"}
    if signature == "sign":
        signature = RequestValidator(token).compute_signature(url, form)
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    request = Request(path.encode(), Header(headers), "1.1", "POST", _Transport(), app)
    request.body = raw_body if raw_body is not None else urllib.parse.urlencode(form).encode()
    return request


Reply = Callable[[UserMessage], list[dict[str, Any]]]


@dataclass
class FakeRasa:
    """Records what reached "Rasa" and answers through the message's output channel."""

    reply: Reply = lambda message: [{"text": f"You said: {message.text}"}]
    delay: float = 0.0
    fail: bool = False
    received: list[UserMessage] = field(default_factory=list)

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("the model server fell over")
        for bot_message in self.reply(message):
            await message.output_channel.send_response(message.sender_id, dict(bot_message))

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self.received]
