"""Stored webhook replies (lab values in TwiML) and SMS conversation state don't outlive use."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from channel_state import conversations, deliveries, retention
from channel_state.models import SmsConversation, WebhookDelivery
from portal_core.cli import migrate
from portal_core.clock import utcnow
from portal_core.config import PROJECT_ROOT, Settings, load_settings
from portal_core.database import Database

# Far from the dates other tests use: the "at most once per PRUNE_EVERY" memory is per process.
NOW = datetime(2031, 3, 4, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
TWIML = "<Response><Message>LDL Cholesterol: 128 mg/dL, high.</Message></Response>"
DAY_RETENTION = Settings(delivery_retention_hours=24)


def _delivery(db: Database, key: str, at: datetime) -> None:
    with db.transaction() as s:
        s.add(
            WebhookDelivery(
                key=key,
                channel="sms",
                conversation_id="sms:+12545550100",
                status="done",
                response=TWIML,
                received_at=at,
                completed_at=at,
            )
        )


def _keys(db: Database) -> set[str]:
    with db.transaction() as s:
        return set(s.scalars(select(WebhookDelivery.key)))


def test_deliveries_older_than_the_retention_are_deleted(db: Database) -> None:
    _delivery(db, "sms:old", NOW - 25 * HOUR)
    _delivery(db, "sms:edge", NOW - 24 * HOUR)
    _delivery(db, "sms:recent", NOW - HOUR)

    pruned = retention.prune(db, now=NOW, settings=DAY_RETENTION)

    assert (pruned.deliveries, pruned.cutoff) == (1, NOW - 24 * HOUR)
    assert _keys(db) == {"sms:edge", "sms:recent"}


def test_the_retention_is_a_setting(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    _delivery(db, "sms:two-hours", NOW - 2 * HOUR)
    monkeypatch.setenv("PORTAL_DELIVERY_RETENTION_HOURS", "1")
    assert retention.prune(db, now=NOW, settings=load_settings()).deliveries == 1
    monkeypatch.delenv("PORTAL_DELIVERY_RETENTION_HOURS")
    assert load_settings().delivery_retention_hours == 24


@pytest.mark.parametrize("hours", [0, -5])
def test_a_retention_shorter_than_twilios_retries_is_refused(db: Database, hours: int) -> None:
    _delivery(db, "sms:recent", NOW - HOUR)
    with pytest.raises(ValueError, match="at least 1"):
        retention.prune(db, now=NOW, settings=Settings(delivery_retention_hours=hours))
    assert _keys(db) == {"sms:recent"}


def test_stale_sms_conversation_state_goes_too(db: Database) -> None:
    conversations.hold_late_reply(db, "sms:+12545550100", [TWIML], now=NOW - 30 * HOUR)
    conversations.hold_late_reply(db, "sms:+12545550111", ["Hi"], now=NOW - HOUR)

    assert retention.prune(db, now=NOW, settings=DAY_RETENTION).conversations == 1

    with db.transaction() as s:
        assert list(s.scalars(select(SmsConversation.conversation_id))) == ["sms:+12545550111"]
    assert conversations.take_late_reply(db, "sms:+12545550100", now=NOW) == []


def test_claiming_a_delivery_prunes_without_an_operator_at_most_every_few_minutes(
    db: Database,
) -> None:
    _delivery(db, "sms:old", NOW - 30 * HOUR)
    assert deliveries.claim(db, "sms:new", "sms", "sms:+1", now=NOW, settings=DAY_RETENTION).fresh
    assert _keys(db) == {"sms:new"}

    # Another stale row appears (a replica's clock, a restore): not pruned until it is due again.
    _delivery(db, "sms:older", NOW - 40 * HOUR)
    soon = NOW + retention.PRUNE_EVERY - timedelta(seconds=1)
    deliveries.claim(db, "sms:next", "sms", "sms:+1", now=soon, settings=DAY_RETENTION)
    assert "sms:older" in _keys(db)
    due = NOW + retention.PRUNE_EVERY
    deliveries.claim(db, "sms:later", "sms", "sms:+1", now=due, settings=DAY_RETENTION)
    assert _keys(db) == {"sms:new", "sms:next", "sms:later"}


def test_the_command_line_prunes_with_the_configured_retention(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    migrate(url, log=False)
    db = Database(url)
    now = utcnow()
    try:
        _delivery(db, "sms:old", now - 3 * HOUR)
        _delivery(db, "sms:recent", now - timedelta(minutes=5))
    finally:
        db.dispose()

    def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "portal_core.cli", *args],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PORTAL_DATABASE_URL": url, "PYTHONDONTWRITEBYTECODE": "1", **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    kept = cli("prune-deliveries")
    assert kept.returncode == 0, kept.stderr
    assert "Deleted 0 webhook deliveries" in kept.stdout and "(24 h retention)" in kept.stdout
    done = cli("prune-deliveries", PORTAL_DELIVERY_RETENTION_HOURS="2")
    assert done.returncode == 0, done.stderr
    assert "Deleted 1 webhook deliveries" in done.stdout
    refused = cli("prune-deliveries", PORTAL_DELIVERY_RETENTION_HOURS="0")
    assert refused.returncode == 1 and "at least 1" in refused.stderr
    assert "Traceback" not in refused.stderr
    db = Database(url)
    try:
        with db.transaction() as s:
            assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
    finally:
        db.dispose()
