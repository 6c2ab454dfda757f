"""The portal page's settings and its sign-in store, without servers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from tests.bot.stack import ROOT
from web import sign_in as sign_in_module
from web.settings import WebSettings, load_web_settings
from web.sign_in import SignIns

T0 = datetime(2026, 6, 10, 12, tzinfo=timezone.utc)


def test_settings_default_to_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PORTAL_WEB_HOST", "PORTAL_WEB_PORT", "PORTAL_CHAT_URL", "PORTAL_DEMO_SIGN_IN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("PORTAL_WEB_TOKEN_MINUTES", raising=False)
    settings = load_web_settings()
    assert (settings.host, settings.port, settings.chat_url) == (
        "127.0.0.1",
        8000,
        "http://127.0.0.1:5005",
    )
    assert settings.demo_sign_in and settings.token_lifetime == timedelta(minutes=10)
    assert WebSettings(chat_url="https://chat.example.mil/").chat_socket_origin.startswith("wss://")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORTAL_WEB_TOKEN_MINUTES", "0"),
        ("PORTAL_WEB_TOKEN_MINUTES", "600"),
        ("PORTAL_WEB_SIGN_IN_MINUTES", "100000"),
        ("PORTAL_DEMO_SIGN_IN", "maybe"),
        ("PORTAL_CHAT_URL", "javascript:alert(1)"),
    ],
)
def test_bad_settings_stop_the_start_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(
        ValueError, match=name.split("_")[-1] if name == "PORTAL_CHAT_URL" else name
    ):
        load_web_settings()


def test_a_sign_in_ends_at_sign_out_or_when_its_time_is_up(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [T0]
    monkeypatch.setattr(sign_in_module, "utcnow", lambda: now[0])
    store = SignIns(timedelta(hours=1))
    first = store.start(1, "Marcus Rivera", "premium")
    second = store.start(1, "Marcus Rivera", "premium")
    assert first.key != second.key and first.session != second.session
    assert store.current(first.key) == first
    assert store.current("not-a-key") is None and store.current(None) is None
    assert store.end(first.key) and store.current(first.key) is None
    now[0] = T0 + timedelta(hours=1)
    assert store.current(second.key) is None  # its hour is over


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "web"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"PORTAL_JWT_SECRET": "change-me"}, "PORTAL_JWT_SECRET"),
        ({"PORTAL_DEMO_SIGN_IN": "on"}, "PORTAL_DEMO_SIGN_IN"),
    ],
)
def test_production_refuses_a_weak_secret_and_the_demo_sign_in(
    env: dict[str, str], reason: str
) -> None:
    done = _start(
        {"GENESIS_ENV": "production", "GENESIS_FROZEN_NOW": "", "PORTAL_WEB_PORT": "1", **env}
    )
    assert done.returncode == 2 and reason in done.stderr, done.stderr
