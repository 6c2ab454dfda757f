"""The portal page's settings, from the environment (and `.env`, as everywhere in the project)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from portal_core.config import load_settings


@dataclass(frozen=True)
class WebSettings:
    """Where the page listens, where the browser finds the chat, and how long sign-ins last."""

    host: str = "127.0.0.1"
    port: int = 8000
    chat_url: str = "http://127.0.0.1:5005"  # the Rasa server as the *browser* reaches it
    token_lifetime: timedelta = timedelta(minutes=10)
    sign_in_lifetime: timedelta = timedelta(hours=1)
    demo_sign_in: bool = True
    secure_cookie: bool = False

    @property
    def chat_origin(self) -> str:
        parts = urlsplit(self.chat_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def chat_socket_origin(self) -> str:
        parts = urlsplit(self.chat_url)
        return f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={raw!r}: use on or off")


def _minutes(name: str, default: timedelta, *, most: timedelta) -> timedelta:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = timedelta(minutes=float(raw))
    if not timedelta(minutes=1) <= value <= most:
        raise ValueError(f"{name}={raw} is outside 1 to {int(most.total_seconds() // 60)} minutes")
    return value


def load_web_settings() -> WebSettings:
    """`PORTAL_WEB_*`, `PORTAL_CHAT_URL`, `PORTAL_DEMO_SIGN_IN` (see `.env.example`)."""
    load_settings()  # reads `.env` without overriding the real environment
    chat_url = os.environ.get("PORTAL_CHAT_URL", "").strip().rstrip("/")
    if chat_url and urlsplit(chat_url).scheme not in ("http", "https"):
        raise ValueError("PORTAL_CHAT_URL must be an http(s) address")
    return WebSettings(
        host=os.environ.get("PORTAL_WEB_HOST", "").strip() or WebSettings.host,
        port=int(os.environ.get("PORTAL_WEB_PORT", "").strip() or WebSettings.port),
        chat_url=chat_url or WebSettings.chat_url,
        # A chat token lives minutes (the page refreshes it); the sign-in itself an hour.
        token_lifetime=_minutes(
            "PORTAL_WEB_TOKEN_MINUTES", WebSettings.token_lifetime, most=timedelta(hours=1)
        ),
        sign_in_lifetime=_minutes(
            "PORTAL_WEB_SIGN_IN_MINUTES", WebSettings.sign_in_lifetime, most=timedelta(hours=12)
        ),
        demo_sign_in=_flag("PORTAL_DEMO_SIGN_IN", True),
        secure_cookie=_flag("PORTAL_WEB_SECURE_COOKIE", False),
    )
