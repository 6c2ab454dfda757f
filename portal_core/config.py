"""Settings read from the environment (and `.env`), so secrets never live in git.

There is no default secret anywhere in the code. `check_startup` is what every server calls before
it listens: outside development it refuses to start on a missing, placeholder or short secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'portal.db'}"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    """Every tunable the portal rules read; `.env.example` documents each variable."""

    database_url: str = DEFAULT_DATABASE_URL
    lockout_attempts: int = 3
    lockout_minutes: int = 30
    session_idle_minutes: int = 15
    jwt_secret: str = ""
    jwt_algorithm: str = "HS256"
    refill_min_share_used: float = 0.75
    message_reply_business_days: int = 3
    appointment_request_business_days: int = 2


def load_settings(env_file: str | os.PathLike[str] | None = None) -> Settings:
    """Read `.env` (without overriding the real environment), then the environment."""
    load_dotenv(env_file or PROJECT_ROOT / ".env", override=False)
    return Settings(
        database_url=os.environ.get("PORTAL_DATABASE_URL") or DEFAULT_DATABASE_URL,
        lockout_attempts=_int("PORTAL_LOCKOUT_ATTEMPTS", 3),
        lockout_minutes=_int("PORTAL_LOCKOUT_MINUTES", 30),
        session_idle_minutes=_int("PORTAL_SESSION_IDLE_MINUTES", 15),
        jwt_secret=(os.environ.get("PORTAL_JWT_SECRET") or "").strip(),
        jwt_algorithm=os.environ.get("PORTAL_JWT_ALGORITHM") or "HS256",
        refill_min_share_used=_float("PORTAL_REFILL_MIN_SHARE_USED", 0.75),
        message_reply_business_days=_int("PORTAL_MESSAGE_REPLY_BUSINESS_DAYS", 3),
        appointment_request_business_days=_int("PORTAL_APPOINTMENT_REQUEST_BUSINESS_DAYS", 2),
    )


# --- Start-up checks ---------------------------------------------------------------------

ENVIRONMENTS = ("development", "production")
MIN_SECRET_BYTES = 32
# Values that were ever written down somewhere public (this repository, its history, the docs).
KNOWN_PLACEHOLDERS = frozenset(
    {
        "change-me-to-a-long-random-string",
        "dev-only-insecure-secret-change-me",
        "changeme",
        "change-me",
        "secret",
        "password",
        "local-dev-token",
        "test-twilio-auth-token",
    }
)
# The secrets each server needs: the JWT secret verifies web sign-ins (Rasa's channels, the
# actions, the web page), the action token closes the action server, the API token the HTTP API.
SECRETS = {
    "PORTAL_JWT_SECRET": "verifies the portal sign-in tokens of the web chat",
    "GENESIS_ACTION_TOKEN": "the header Rasa sends and the action server requires",
    "RASA_API_TOKEN": "Rasa's HTTP API --auth-token",
}


class StartupError(RuntimeError):
    """A server must not start with this configuration; the message says what to set."""


def environment() -> str:
    """`GENESIS_ENV`: development (the default, `make run`) or production."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    value = (os.environ.get("GENESIS_ENV") or "development").strip().lower()
    if value not in ENVIRONMENTS:
        raise StartupError(f"GENESIS_ENV={value!r}: use one of {', '.join(ENVIRONMENTS)}")
    return value


def secret_problem(name: str, value: str | None) -> str | None:
    """Why `value` is not fit to be the secret `name`, or None when it is."""
    if not value or not value.strip():
        return f"{name} is not set ({SECRETS.get(name, 'a secret')})"
    if value.strip().lower() in KNOWN_PLACEHOLDERS or "change-me" in value.lower():
        return f"{name} is a known placeholder; generate a random one (scripts/ensure-env)"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"{name} is shorter than {MIN_SECRET_BYTES} bytes"
    return None


def check_startup(required: tuple[str, ...], *, twilio: bool = False) -> list[str]:
    """Refuse (StartupError) to start outside development on weak or missing secrets.

    `required` names the secrets this server uses; `twilio` says the Twilio channels are enabled
    and so need `TWILIO_AUTH_TOKEN`. In development the same problems are returned as warnings
    for the caller to log: `make run` writes random local secrets into `.env`, so they are rare.
    A frozen clock (`GENESIS_FROZEN_NOW`, for tests) never runs in production.
    """
    mode = environment()
    problems = [p for name in required if (p := secret_problem(name, os.environ.get(name)))]
    if twilio and not (os.environ.get("TWILIO_AUTH_TOKEN") or "").strip():
        problems.append("TWILIO_AUTH_TOKEN is not set but the Twilio channels are enabled")
    if mode == "production" and os.environ.get("GENESIS_FROZEN_NOW"):
        problems.append("GENESIS_FROZEN_NOW pins the clock; it is for tests only")
    if mode == "production" and problems:
        raise StartupError("refusing to start in production: " + "; ".join(problems))
    return problems
