"""The web chat's proof of identity: a short-lived token the signed-in portal page hands the bot.

The portal already authenticated the person (DS Logon), so the chat widget does not ask for a
date of birth; it forwards this HS256-signed JWT instead. The algorithm list is fixed here, never
taken from the token, so "alg: none" and algorithm-confusion tokens are refused. Times are checked
against an injectable `now` (PyJWT only knows the wall clock), which keeps expiry testable.

A token may also name the portal sign-in it belongs to (`sid`, a random id the portal issued at
sign-in and keeps until sign-out). The chat server derives the conversation from the patient and
this id, so a conversation survives page reloads and token refreshes but not a sign-out, and no
client can choose which conversation it joins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt

from portal_core import access
from portal_core.clock import utcnow
from portal_core.config import Settings, load_settings
from portal_core.errors import AccessDenied, SessionExpired
from portal_core.models.people import ASSURANCE_LEVELS

ISSUER = "genesis-portal"
AUDIENCE = "genesis-assist"
ALLOWED_ALGORITHMS = ("HS256", "HS384", "HS512")
MAX_TTL = timedelta(hours=12)
MAX_TOKEN_LENGTH = 4096
# Portal and bot run on different hosts; a token "issued" a few seconds in the future is skew,
# not forgery. Expiry gets no such grace: a session ends when it says it does.
CLOCK_SKEW = timedelta(seconds=30)
REQUIRED_CLAIMS = ("sub", "lvl", "iat", "exp", "iss", "aud")
# A sign-in id: URL-safe, long enough to be unguessable (secrets.token_urlsafe(16) gives 22).
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


class InvalidToken(AccessDenied):
    default_key = "web_token.invalid"


@dataclass(frozen=True)
class WebIdentity:
    patient_id: int
    assurance_level: str
    issued_at: datetime
    expires_at: datetime
    session: str | None = None

    @property
    def is_premium(self) -> bool:
        return access.is_premium(self.assurance_level)


def issue_token(
    patient_id: int,
    assurance_level: str,
    *,
    ttl: timedelta = timedelta(minutes=15),
    now: datetime | None = None,
    settings: Settings | None = None,
    session: str | None = None,
) -> str:
    """What the portal page embeds for the chat widget (and what tests use to sign in).

    `session` is the portal sign-in's id (see the module docstring); without it the chat
    server gives every connection a conversation of its own.
    """
    settings = settings or load_settings()
    if isinstance(patient_id, bool) or not isinstance(patient_id, int) or patient_id <= 0:
        raise ValueError("A web token needs a positive patient id.")
    if assurance_level not in ASSURANCE_LEVELS:
        raise ValueError("A web token needs an assurance level of basic or premium.")
    if not timedelta(0) < ttl <= MAX_TTL:
        raise ValueError("A web token lives for more than zero and at most twelve hours.")
    if session is not None and (not isinstance(session, str) or not SESSION_ID.fullmatch(session)):
        raise ValueError("A web token's session id is 16 to 64 URL-safe characters.")
    issued = (now or utcnow()).astimezone(timezone.utc)
    claims = {
        "sub": str(patient_id),
        "lvl": assurance_level,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    if session is not None:
        claims["sid"] = session
    return jwt.encode(claims, _secret(settings), algorithm=_algorithm(settings))


def read_token(
    token: str, *, now: datetime | None = None, settings: Settings | None = None
) -> WebIdentity:
    """The signed-in patient, or `SessionExpired` / `InvalidToken`; never a library exception."""
    settings = settings or load_settings()
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken()
    try:
        claims = jwt.decode(
            token,
            _secret(settings),
            algorithms=[_algorithm(settings)],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_exp": False,  # checked below against the injectable `now`
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidTokenError:
        raise InvalidToken() from None
    return _identity(claims, (now or utcnow()).astimezone(timezone.utc))


def _identity(claims: dict[str, Any], now: datetime) -> WebIdentity:
    issued_at, expires_at = _instant(claims["iat"]), _instant(claims["exp"])
    if "nbf" in claims and now + CLOCK_SKEW < _instant(claims["nbf"]):
        raise InvalidToken()
    if now + CLOCK_SKEW < issued_at or expires_at <= issued_at:
        raise InvalidToken()
    if now >= expires_at:
        raise SessionExpired(key="web_token.expired")
    subject, level = claims["sub"], claims["lvl"]
    if not isinstance(subject, str) or not subject.isascii() or not subject.isdigit():
        raise InvalidToken()
    if level not in ASSURANCE_LEVELS or int(subject) <= 0:
        raise InvalidToken()
    session = claims.get("sid")
    if session is not None and (not isinstance(session, str) or not SESSION_ID.fullmatch(session)):
        raise InvalidToken()
    return WebIdentity(int(subject), level, issued_at, expires_at, session)


def _instant(value: object) -> datetime:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidToken()
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise InvalidToken() from None


def _secret(settings: Settings) -> str:
    if not settings.jwt_secret:
        raise RuntimeError("PORTAL_JWT_SECRET is empty; the web chat can't verify sign-ins")
    return settings.jwt_secret


def _algorithm(settings: Settings) -> str:
    if settings.jwt_algorithm not in ALLOWED_ALGORITHMS:
        raise RuntimeError(f"PORTAL_JWT_ALGORITHM must be one of {', '.join(ALLOWED_ALGORITHMS)}")
    return settings.jwt_algorithm
