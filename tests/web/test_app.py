"""The portal page's server over real HTTP: demo sign-in, chat tokens, sign-out, bad requests.

The app runs as its own process (`python -m web`) on a loopback port, on the seeded portal.
"""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from portal_core import web_tokens
from portal_core.clock import utcnow
from portal_core.database import Database
from portal_core.seed import demo_accounts
from tests.bot.stack import Stack, running_web
from web.app import content_security_policy
from web.settings import WebSettings

pytestmark = pytest.mark.slow


class Browser:
    """urllib with a cookie jar: one visitor's browser, as far as the server can tell."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers=headers or {}
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                raw = response.read()
                status, got = response.status, dict(response.headers)
        except urllib.error.HTTPError as exc:
            raw, status, got = exc.read(), exc.code, dict(exc.headers)
        try:
            return status, got, json.loads(raw)
        except ValueError:
            return status, got, raw.decode("utf-8", "replace")

    def post(self, path: str, data: object = None, **headers: str) -> tuple[int, Any]:
        status, _, body = self.call(
            "POST",
            path,
            json.dumps({} if data is None else data).encode(),
            {"Content-Type": "application/json", **headers},
        )
        return status, body


@pytest.fixture(scope="module")
def web(stack: Stack) -> Iterator[str]:
    # The browser tests share the session's page; this module starts its own on the same port.
    with running_web(stack) as url:
        yield url


@pytest.fixture(scope="module")
def accounts(stack: Stack) -> dict[str, Any]:
    database = Database(stack.database_url)
    try:
        return {a.key: a for a in demo_accounts(database)}
    finally:
        database.dispose()


def test_the_page_is_served_with_a_strict_content_security_policy(web: str) -> None:
    status, headers, page = Browser(web).call("GET", "/")
    assert status == 200 and 'role="log"' in page and "This assistant is automated" in page
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "http" not in policy.split("connect-src")[0]  # nothing but our own scripts/styles
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "cdn" not in page.lower() and "fonts.googleapis" not in page
    status, headers, script = Browser(web).call("GET", "/static/vendor/socket.io.min.js")
    assert status == 200 and "socket.io" in script.lower()


def test_the_policy_lets_the_socket_reach_the_chat_server_only() -> None:
    policy = content_security_policy(WebSettings(chat_url="https://chat.example.mil:8443"))
    assert "connect-src 'self' https://chat.example.mil:8443 wss://chat.example.mil:8443;" in policy


def test_sign_in_issues_a_short_token_for_the_stored_patient_and_sign_in(
    web: str, accounts: dict[str, Any]
) -> None:
    visitor = Browser(web)
    status, listed = visitor.call("GET", "/api/demo-identities")[::2]
    assert status == 200
    assert {p["key"] for p in listed["identities"]} == set(accounts)
    status, body = visitor.post("/api/sign-in", {"identity": "rivera-sponsor"})
    assert status == 200 and body["name"] == "Marcus Rivera"
    who = web_tokens.read_token(body["token"], now=utcnow())
    assert who.patient_id == accounts["rivera-sponsor"].patient_id and who.is_premium
    assert who.session and 0 < body["expires_in"] <= 600
    assert (who.expires_at - who.issued_at).total_seconds() == body["expires_in"]
    cookie = next(iter(visitor.jar))
    assert cookie.has_nonstandard_attr("HttpOnly") and body["token"] != cookie.value

    status, again = visitor.post("/api/token")  # the page's refresh: same patient, same sign-in
    assert status == 200
    assert web_tokens.read_token(again["token"], now=utcnow()).session == who.session

    status, basic = Browser(web).post("/api/sign-in", {"identity": "hayes"})
    assert status == 200 and not web_tokens.read_token(basic["token"], now=utcnow()).is_premium


def test_sign_out_ends_the_sign_in_for_good(web: str) -> None:
    visitor = Browser(web)
    visitor.post("/api/sign-in", {"identity": "rivera-spouse"})
    stale_cookie = next(iter(visitor.jar)).value
    assert visitor.post("/api/sign-out")[0] == 200
    status, body = visitor.post("/api/token")
    assert status == 401 and "sign in" in body["message"].lower()
    replay = Browser(web)  # someone who kept a copy of the old cookie
    status, body = replay.post("/api/token", Cookie=f"genesis_portal_sign_in={stale_cookie}")
    assert status == 401 and body["ended"] is True and "session has ended" in body["message"]


def test_a_second_sign_in_is_a_new_conversation(web: str) -> None:
    visitor = Browser(web)
    first = visitor.post("/api/sign-in", {"identity": "rivera-sponsor"})[1]
    second = visitor.post("/api/sign-in", {"identity": "rivera-sponsor"})[1]
    sessions = {web_tokens.read_token(t["token"], now=utcnow()).session for t in (first, second)}
    assert len(sessions) == 2


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b'{"identity": "no-such-person"}', {"Content-Type": "application/json"}, 400),
        (b'{"identity": ["rivera-sponsor"]}', {"Content-Type": "application/json"}, 400),
        (b'{"identity": "\' OR 1=1 --"}', {"Content-Type": "application/json"}, 400),
        (b"identity=rivera-sponsor", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b"[1, 2]", {"Content-Type": "application/json"}, 400),
        (b'{"identity": "' + b"x" * 10_000 + b'"}', {"Content-Type": "application/json"}, 413),
        (
            b'{"identity": "rivera-sponsor"}',
            {"Content-Type": "application/json", "Origin": "https://evil.example"},
            403,
        ),
    ],
)
def test_bad_sign_in_requests_get_a_clear_error_and_no_cookie(
    web: str, body: bytes, headers: dict[str, str], status: int
) -> None:
    visitor = Browser(web)
    got, _, reply = visitor.call("POST", "/api/sign-in", body, headers)
    assert got == status and isinstance(reply, dict) and reply["message"]
    assert "Traceback" not in json.dumps(reply)
    assert not list(visitor.jar)
