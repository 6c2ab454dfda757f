"""Fixtures for the action tests; the seeded portal and the servers are in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.actions import portal
from portal_core.database import Database
from tests.conftest import seeded_sqlite


@pytest.fixture
def action_portal(seeded_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """Point the action code at the seeded portal, as the action server's environment would."""
    yield from _pointed_at(seeded_url, monkeypatch)


@pytest.fixture
def fresh_action_portal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """`action_portal` on a portal of its own: for a test whose outcome depends on a record
    other tests change (a refill of the shared portal's lisinopril may already be pending)."""
    yield from _pointed_at(seeded_sqlite(tmp_path / "portal.db"), monkeypatch)


def _pointed_at(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    monkeypatch.setenv("PORTAL_DATABASE_URL", url)
    portal.reset_for_tests()
    yield portal.database()
    portal.reset_for_tests()
