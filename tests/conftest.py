"""Shared fixtures: a clean portal database on SQLite and on PostgreSQL; the running servers.

`db` runs each test once per backend. PostgreSQL is the production database and runs on this
machine's loopback; where it is absent the PostgreSQL half is skipped with the reason.

`stack` (the trained model, the action server and the Rasa server on a seeded portal) is here,
not under tests/bot, so that the bot's and the web page's tests share one set of servers.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import channel_state.models  # noqa: F401  (the channel tables are part of the schema built here)
from ops import services
from portal_core.database import Database
from portal_core.models import Base
from portal_core.seed import seed
from tests.bot.stack import Stack, running_stack, trained_model

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
# The frozen clock (portal_core.clock): the seed, the servers the tests start and the assertions
# all read this instant, so the suite passes on any date. A Wednesday: 05:00 to 21:00 local in
# every clinic zone (Los Angeles to Tokyo), so "today" is one date wherever the clinic is.
FROZEN_NOW = "2026-06-10T12:00:00+00:00"
os.environ["GENESIS_FROZEN_NOW"] = FROZEN_NOW
# Fresh random secrets for every test session (the code has no default secret); the servers the
# tests start inherit them, and a developer's `.env` never leaks into a test.
for _name in ("PORTAL_JWT_SECRET", "GENESIS_ACTION_TOKEN", "RASA_API_TOKEN"):
    os.environ[_name] = secrets.token_urlsafe(48)
os.environ["GENESIS_ENV"] = "development"

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def throwaway_database(name: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database `name` on the test server; dropped after,
    whoever is still connected to it."""
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    services.ensure_database(url)
    try:
        yield url
    finally:
        services.drop_database(url)


def _postgres_reason() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, future=True)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session."""
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    with throwaway_database(f"genesis_test_{uuid.uuid4().hex[:10]}") as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def schema_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One database per backend per session, schema created once."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "portal.db"
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("postgres_url"))
    database.create_schema()
    yield database
    database.dispose()


def _wipe(database: Database) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    with database.engine.begin() as conn:
        if database.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def db(schema_db: Database) -> Database:
    """An empty portal database (each test runs on SQLite and on PostgreSQL)."""
    _wipe(schema_db)
    return schema_db


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A fresh SQLite database for tests that only concern the embedded default."""
    database = Database(f"sqlite:///{tmp_path / 'portal.db'}")
    database.create_schema()
    yield database
    database.dispose()


def seeded_sqlite(path: Path) -> str:
    """The URL of a new SQLite portal at `path`, seeded with the demo population."""
    url = f"sqlite:///{path}"
    database = Database(url)
    database.create_schema()
    seed(database)
    database.dispose()
    return url


@pytest.fixture(scope="session")
def seeded_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite portal seeded with the demo population, shared by the session's tests."""
    return seeded_sqlite(tmp_path_factory.mktemp("portal") / "portal.db")


@pytest.fixture(scope="session")
def model() -> Path:
    return trained_model()


@pytest.fixture(scope="session")
def stack(
    model: Path, seeded_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("logs")
    with running_stack(model, seeded_url, logs) as running:
        yield running
