"""Fixtures for the bot: a seeded portal database, the real model and the running servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.actions import portal
from portal_core.database import Database
from portal_core.seed import seed
from tests.bot.stack import Stack, running_stack, trained_model


@pytest.fixture(scope="session")
def seeded_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite portal seeded with the demo population (anchored on today)."""
    path = tmp_path_factory.mktemp("portal") / "portal.db"
    url = f"sqlite:///{path}"
    database = Database(url)
    database.create_schema()
    seed(database)
    database.dispose()
    return url


@pytest.fixture
def action_portal(seeded_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """Point the action code at the seeded portal, as the action server's environment would."""
    monkeypatch.setenv("PORTAL_DATABASE_URL", seeded_url)
    portal.reset_for_tests()
    yield portal.database()
    portal.reset_for_tests()


@pytest.fixture(scope="session")
def model() -> Path:
    return trained_model()


@pytest.fixture(scope="session")
def stack(
    model: Path, seeded_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("logs")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    with running_stack(model, seeded_url, logs) as running:
        yield running
