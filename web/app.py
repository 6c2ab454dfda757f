"""The patient portal's page: the chat widget, its static files and the demo sign-in (Sanic).

Routes:
  GET  /                     the portal page (the widget is `static/chat.js`)
  GET  /api/demo-identities  whom the demo sign-in offers (404 with the demo sign-in off)
  POST /api/sign-in          `{"identity": key}`: signs in, sets the HttpOnly sign-in cookie
  POST /api/token            a fresh chat token for the signed-in patient, or 401 "ended"
  POST /api/sign-out         forgets the sign-in (its conversation can't be joined again)
  GET  /health

The chat token is `portal_core.web_tokens`' signed JWT with the sign-in's id (`sid`), short-lived
(`PORTAL_WEB_TOKEN_MINUTES`) and never longer than the sign-in; the page asks for a new one
before it expires. POSTs must be JSON from the page's own origin (with the SameSite=Strict
cookie, another site can't sign a visitor in or out).
"""

from __future__ import annotations

import asyncio
import html
import json
from pathlib import Path
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from portal_core import web_tokens
from portal_core.clock import utcnow
from portal_core.config import load_settings
from portal_core.database import Database
from portal_core.seed import DemoAccount, demo_accounts
from web.settings import WebSettings, load_web_settings
from web.sign_in import SignIn, SignIns

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
PAGE = HERE / "templates" / "portal.html"
SOCKET_IO_CLIENT = HERE / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
COOKIE = "genesis_portal_sign_in"
ENDED = "Your session has ended. Please sign in again to keep chatting."
NOT_SIGNED_IN = "You're not signed in. Please sign in to chat with the assistant."
MAX_BODY_BYTES = 4096


def content_security_policy(settings: WebSettings) -> str:
    """Only our own scripts and styles; the socket goes to the chat server and nowhere else."""
    connect = f"'self' {settings.chat_origin} {settings.chat_socket_origin}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src {connect}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def create_app(settings: WebSettings | None = None, database: Database | None = None) -> Sanic:
    settings = settings or load_web_settings()
    app = Sanic("genesis_portal")
    app.config.REQUEST_MAX_SIZE = 64 * 1024
    app.config.FORWARDED_SECRET = None
    sign_ins = SignIns(settings.sign_in_lifetime)
    page = PAGE.read_text(encoding="utf-8").replace(
        "{{chat_url}}", html.escape(settings.chat_url, quote=True)
    )
    policy = content_security_policy(settings)
    db_holder: dict[str, Database] = {}

    def db() -> Database:
        if "db" not in db_holder:
            db_holder["db"] = database or Database(load_settings().database_url)
        return db_holder["db"]

    async def accounts() -> list[DemoAccount]:
        return await asyncio.to_thread(demo_accounts, db())

    def token_reply(sign_in: SignIn) -> HTTPResponse:
        now = utcnow()
        ttl = min(settings.token_lifetime, sign_in.ends_at - now)
        token = web_tokens.issue_token(
            sign_in.patient_id,
            sign_in.assurance_level,
            ttl=ttl,
            now=now,
            session=sign_in.session,
        )
        body = {"name": sign_in.name, "token": token, "expires_in": int(ttl.total_seconds())}
        return response.json(body, headers={"Cache-Control": "no-store"})

    def refused(status: int, message: str, **extra: Any) -> HTTPResponse:
        return response.json({"message": message, **extra}, status=status)

    def same_origin_json(request: Request) -> dict[str, Any] | HTTPResponse:
        """The JSON body of a POST from our own page, or the error response to send."""
        origin = request.headers.get("origin")
        if origin and origin != f"{request.scheme}://{request.host}":
            return refused(403, "Requests must come from the portal page.")
        if (request.content_type or "").split(";")[0].strip() != "application/json":
            return refused(415, "Send JSON.")
        if len(request.body or b"") > MAX_BODY_BYTES:
            return refused(413, "That request is too large.")
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return refused(400, "That request isn't valid JSON.")
        return data if isinstance(data, dict) else refused(400, "Send a JSON object.")

    @app.middleware("response")
    async def security_headers(request: Request, resp: HTTPResponse) -> None:
        resp.headers["Content-Security-Policy"] = policy
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "DENY"
        if request.path.startswith("/api/") or request.path == "/":
            resp.headers["Cache-Control"] = "no-store"

    @app.get("/")
    async def portal_page(_: Request) -> HTTPResponse:
        return response.html(page)

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/api/demo-identities")
    async def demo_identities(_: Request) -> HTTPResponse:
        if not settings.demo_sign_in:
            return refused(404, "The demo sign-in is off.")
        people = [
            {"key": a.key, "name": a.name, "role": a.role, "account": a.assurance_level}
            for a in await accounts()
        ]
        return response.json({"identities": people})

    @app.post("/api/sign-in")
    async def sign_in(request: Request) -> HTTPResponse:
        if not settings.demo_sign_in:
            return refused(404, "The demo sign-in is off.")
        data = same_origin_json(request)
        if isinstance(data, HTTPResponse):
            return data
        key = data.get("identity")
        chosen = next((a for a in await accounts() if a.key == key), None)
        if chosen is None:
            return refused(400, "Please choose one of the demo identities.")
        sign_ins.end(request.cookies.get(COOKIE))  # a new sign-in replaces this browser's last
        started = sign_ins.start(chosen.patient_id, chosen.name, chosen.assurance_level)
        reply = token_reply(started)
        reply.cookies[COOKIE] = started.key
        cookie = reply.cookies[COOKIE]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/"
        cookie["secure"] = settings.secure_cookie
        return reply

    @app.post("/api/token")
    async def token(request: Request) -> HTTPResponse:
        data = same_origin_json(request)
        if isinstance(data, HTTPResponse):
            return data
        had_cookie = bool(request.cookies.get(COOKIE))
        current = sign_ins.current(request.cookies.get(COOKIE))
        if current is None:
            return refused(401, ENDED if had_cookie else NOT_SIGNED_IN, ended=had_cookie)
        return token_reply(current)

    @app.post("/api/sign-out")
    async def sign_out(request: Request) -> HTTPResponse:
        data = same_origin_json(request)
        if isinstance(data, HTTPResponse):
            return data
        sign_ins.end(request.cookies.get(COOKIE))
        reply = response.json({"signed_out": True})
        reply.cookies[COOKIE] = ""
        reply.cookies[COOKIE]["max-age"] = 0
        reply.cookies[COOKIE]["path"] = "/"
        return reply

    app.static("/static/vendor/socket.io.min.js", str(SOCKET_IO_CLIENT), name="socketio_client")
    app.static("/static", str(STATIC), name="static")
    return app
