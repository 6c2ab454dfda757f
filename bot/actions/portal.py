"""The action server's handle on portal_core: one Database, the settings, and the clock.

Actions are thin adapters; this module is the only place they get their database from, so tests
can point it at a seeded SQLite file with `PORTAL_DATABASE_URL`.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from portal_core.clock import utcnow
from portal_core.config import Settings, load_settings
from portal_core.database import Database


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()


@lru_cache(maxsize=1)
def database() -> Database:
    return Database(settings().database_url)


def now() -> datetime:
    """The action server's notion of now (`portal_core.clock`, which tests pin)."""
    return utcnow()


def reset_for_tests() -> None:
    settings.cache_clear()
    database.cache_clear()
