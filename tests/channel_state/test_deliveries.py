"""Each webhook delivery is processed once, across threads (replicas) and retries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from channel_state import deliveries
from channel_state.models import WebhookDelivery
from portal_core.config import Settings
from portal_core.database import Database
from portal_core.errors import InvalidInput

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
KEY = "sms:SM0123456789abcdef0123456789abcdef"
CONVERSATION = "sms:+12545550100"


def test_the_first_copy_runs_and_later_copies_get_its_answer(db: Database) -> None:
    assert deliveries.claim(db, KEY, "sms", CONVERSATION, now=NOW) == deliveries.Claim(fresh=True)
    # A retry while the first copy is still running: don't run it, nothing to replay yet.
    assert deliveries.claim(db, KEY, "sms", CONVERSATION, now=NOW) == deliveries.Claim(
        fresh=False, response=None
    )
    deliveries.complete(db, KEY, "<Response><Message>Hi</Message></Response>", now=NOW)
    again = deliveries.claim(db, KEY, "sms", CONVERSATION, now=NOW + timedelta(minutes=5))
    assert again == deliveries.Claim(
        fresh=False, response="<Response><Message>Hi</Message></Response>"
    )


def test_concurrent_copies_only_one_runs(db: Database) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        claims = list(
            pool.map(lambda _: deliveries.claim(db, KEY, "sms", CONVERSATION, now=NOW), range(6))
        )
    assert [c.fresh for c in claims].count(True) == 1
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


def test_a_claim_abandoned_by_a_dead_replica_can_be_taken_over(db: Database) -> None:
    deliveries.claim(db, KEY, "sms", CONVERSATION, now=NOW)
    soon = NOW + timedelta(seconds=30)
    assert not deliveries.claim(db, KEY, "sms", CONVERSATION, now=soon).fresh
    late = NOW + deliveries.DEFAULT_STALE_AFTER + timedelta(seconds=1)
    assert deliveries.claim(db, KEY, "sms", CONVERSATION, now=late).fresh
    # ...but a finished one never is.
    deliveries.complete(db, KEY, "<Response/>", now=late)
    much_later = late + timedelta(hours=1)
    assert not deliveries.claim(db, KEY, "sms", CONVERSATION, now=much_later).fresh


def test_different_deliveries_are_independent(db: Database) -> None:
    assert deliveries.claim(db, "voice:CA1:1", "voice", "voice:CA1", now=NOW).fresh
    assert deliveries.claim(db, "voice:CA1:2", "voice", "voice:CA1", now=NOW).fresh


def test_old_deliveries_are_forgotten(db: Database) -> None:
    week = Settings(delivery_retention_hours=7 * 24)  # so that claiming doesn't prune first
    deliveries.claim(db, "sms:old", "sms", CONVERSATION, now=NOW - timedelta(days=2), settings=week)
    deliveries.claim(db, KEY, "sms", CONVERSATION, now=NOW, settings=week)
    assert deliveries.forget_before(db, NOW - timedelta(days=1)) == 1
    assert not deliveries.claim(db, KEY, "sms", CONVERSATION, now=NOW, settings=week).fresh


@pytest.mark.parametrize("key", ["", "   ", "x" * 121])
def test_a_malformed_key_is_refused(db: Database, key: str) -> None:
    with pytest.raises(InvalidInput):
        deliveries.claim(db, key, "sms", CONVERSATION, now=NOW)


def test_sql_metacharacters_are_just_text(db: Database) -> None:
    key = "sms:'; DROP TABLE webhook_deliveries; --"
    assert deliveries.claim(db, key, "sms", CONVERSATION, now=NOW).fresh
    assert not deliveries.claim(db, key, "sms", CONVERSATION, now=NOW).fresh
