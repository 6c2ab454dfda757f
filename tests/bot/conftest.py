"""Fixtures for the action tests; the seeded portal and the servers are in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.actions import portal
from portal_core.database import Database


@pytest.fixture
def action_portal(seeded_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """Point the action code at the seeded portal, as the action server's environment would."""
    monkeypatch.setenv("PORTAL_DATABASE_URL", seeded_url)
    portal.reset_for_tests()
    yield portal.database()
    portal.reset_for_tests()
