"""Settings read from the environment (and `.env`), so secrets never live in git."""

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
    session_max_minutes: int = 60
    delivery_retention_hours: int = 24
    migration_database_url: str | None = None
    jwt_secret: str = "dev-only-insecure-secret-change-me"
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
        session_max_minutes=_int("PORTAL_SESSION_MAX_MINUTES", 60),
        delivery_retention_hours=_int("PORTAL_DELIVERY_RETENTION_HOURS", 24),
        migration_database_url=os.environ.get("PORTAL_MIGRATION_DATABASE_URL") or None,
        jwt_secret=os.environ.get("PORTAL_JWT_SECRET") or Settings.jwt_secret,
        jwt_algorithm=os.environ.get("PORTAL_JWT_ALGORITHM") or "HS256",
        refill_min_share_used=_float("PORTAL_REFILL_MIN_SHARE_USED", 0.75),
        message_reply_business_days=_int("PORTAL_MESSAGE_REPLY_BUSINESS_DAYS", 3),
        appointment_request_business_days=_int("PORTAL_APPOINTMENT_REQUEST_BUSINESS_DAYS", 2),
    )
