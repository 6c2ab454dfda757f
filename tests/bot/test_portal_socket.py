"""The portal chat's socket.io channel: its pure parts, and its Origin check on the real server.

The whole conversations (sign-in, binding, reloads, another patient, another origin) run in a
real browser in tests/web; here are what needs no browser.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime, timezone

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered

from bot.channels.portal_socket import (
    allowed_origins,
    conversation_for,
    transcript,
    web_message,
)
from portal_core.config import StartupError
from portal_core.web_tokens import WebIdentity
from tests.bot.stack import Stack

NOW = datetime(2026, 6, 10, 12, tzinfo=timezone.utc)


def test_origins_are_the_portals_as_configured_and_never_everyone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GENESIS_CORS_ORIGINS", raising=False)
    assert allowed_origins() == ["http://127.0.0.1:8000", "http://localhost:8000"]
    monkeypatch.setenv("GENESIS_CORS_ORIGINS", "https://portal.example.mil, http://localhost:8000")
    assert allowed_origins() == ["https://portal.example.mil", "http://localhost:8000"]
    monkeypatch.setenv("GENESIS_CORS_ORIGINS", "https://portal.example.mil *")
    with pytest.raises(StartupError):
        allowed_origins()


def test_the_conversation_is_the_patients_and_the_sign_ins() -> None:
    marcus = WebIdentity(1, "premium", NOW, NOW, "Zq3v0Xn1-k_8Lw2YbT5eRa")
    elena = WebIdentity(2, "premium", NOW, NOW, "Zq3v0Xn1-k_8Lw2YbT5eRa")  # same id, other patient
    assert conversation_for(marcus) == "web:p1:Zq3v0Xn1-k_8Lw2YbT5eRa"
    assert conversation_for(elena) != conversation_for(marcus)
    anonymous_sign_in = WebIdentity(1, "premium", NOW, NOW)
    assert conversation_for(anonymous_sign_in) != conversation_for(anonymous_sign_in)


def test_a_reply_goes_out_whole_with_its_buttons_and_payload() -> None:
    shaped = web_message(
        {
            "text": "Call 911 now.\n\nThis service cannot send help.",
            "buttons": [{"title": "Yes", "payload": "/affirm"}],
            "custom": {"emergency": "medical"},
            "image": None,
        }
    )
    assert shaped == {
        "text": "Call 911 now.\n\nThis service cannot send help.",
        "buttons": [{"title": "Yes", "payload": "/affirm"}],
        "custom": {"emergency": "medical"},
    }
    assert web_message({"text": None, "custom": "not a dict"}) == {"text": ""}


def test_the_replayed_transcript_is_the_current_session_with_button_titles() -> None:
    offer = [{"title": "Tue, Jun 16 at 9:00 AM CDT", "payload": '/inform{"choice": "41"}'}]
    events = [
        UserUttered("an old message from a previous session"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered("book a wellness exam"),
        BotUttered("Here are open times:", {"buttons": offer}),
        UserUttered('/inform{"choice": "41"}'),
        BotUttered("Book you a wellness exam on Tue, Jun 16 at 9:00 AM CDT?"),
        BotUttered(None, {"custom": {"results": {"rows": []}}}),
    ]
    assert transcript(events) == [
        {"sender": "user", "text": "book a wellness exam"},
        {"sender": "bot", "text": "Here are open times:", "buttons": offer},
        {"sender": "user", "text": "Tue, Jun 16 at 9:00 AM CDT"},
        {"sender": "bot", "text": "Book you a wellness exam on Tue, Jun 16 at 9:00 AM CDT?"},
        {"sender": "bot", "text": "", "custom": {"results": {"rows": []}}},
    ]


def _engine_io_handshake(stack: Stack, origin: str | None) -> int:
    request = urllib.request.Request(f"{stack.rasa_url}/socket.io/?EIO=4&transport=polling")
    if origin:
        request.add_header("Origin", origin)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_the_chat_server_refuses_pages_from_other_origins(stack: Stack) -> None:
    assert _engine_io_handshake(stack, stack.web_url) == 200
    assert _engine_io_handshake(stack, "https://evil.example") == 400
    assert _engine_io_handshake(stack, "http://127.0.0.1:8000") == 400  # not this stack's page
    assert _engine_io_handshake(stack, "null") == 400  # sandboxed frames and file:// pages
