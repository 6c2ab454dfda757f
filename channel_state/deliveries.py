"""Answer each webhook delivery once, however often it arrives and whichever replica gets it.

Twilio retries a webhook it believes failed (a timeout, a dropped connection), so the same SMS or
the same step of a call can arrive twice, possibly at two Rasa replicas. Running the turn twice
would book twice or send two answers. A delivery is therefore claimed in the database before the
turn runs (an insert that only one caller can win) and its answer is stored when the turn ends;
any later copy gets the stored answer again. The stored answers hold health details, so they
are deleted after the retention period (`retention.py`); claiming prunes them as it goes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from channel_state import retention
from channel_state.models import WebhookDelivery
from portal_core.clock import utcnow
from portal_core.config import Settings
from portal_core.database import Database, insert_if_missing
from portal_core.errors import InvalidInput

MAX_KEY_LENGTH = 120
MAX_CONVERSATION_ID_LENGTH = 80
# A claim still "processing" after this long belongs to a replica that died mid-turn; a retry
# may then take it over rather than wait forever. Far longer than any turn is allowed to run.
DEFAULT_STALE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class Claim:
    """Whether this caller runs the turn (`fresh`), or what an earlier copy already answered.

    `response` is None while the first copy is still being processed.
    """

    fresh: bool
    response: str | None = None


def _checked(value: str, limit: int, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput(key="channel.field_invalid", data={"what": what})
    return value


def claim(
    db: Database,
    key: str,
    channel: str,
    conversation_id: str,
    *,
    now: datetime | None = None,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    settings: Settings | None = None,
) -> Claim:
    """Claim the delivery `key`; exactly one of any number of concurrent callers gets `fresh`.

    Every call first prunes deliveries past their retention, when this process hasn't lately.
    """
    with claiming(
        db,
        key,
        channel,
        conversation_id,
        now=now or utcnow(),
        stale_after=stale_after,
        settings=settings,
    ) as (_, claimed):
        return claimed


@contextmanager
def claiming(
    db: Database,
    key: str,
    channel: str,
    conversation_id: str,
    *,
    now: datetime,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    settings: Settings | None = None,
) -> Iterator[tuple[Session, Claim]]:
    """`claim`, in a transaction the caller goes on using: a turn reads what a fresh delivery
    needs in the same one (`channel_state.turns`)."""
    retention.prune_if_due(db, now=now, settings=settings)
    with db.transaction() as session:
        yield (
            session,
            claim_in(session, key, channel, conversation_id, now=now, stale_after=stale_after),
        )


def claim_in(
    session: Session,
    key: str,
    channel: str,
    conversation_id: str,
    *,
    now: datetime,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> Claim:
    """`claim` inside the caller's transaction (the SMS turn claims and reads in one)."""
    key = _checked(key, MAX_KEY_LENGTH, "delivery id")
    conversation_id = _checked(conversation_id, MAX_CONVERSATION_ID_LENGTH, "conversation id")
    if insert_if_missing(
        session,
        WebhookDelivery,
        "key",
        key=key,
        channel=channel[:12],
        conversation_id=conversation_id,
        status="processing",
        received_at=now,
    ):
        return Claim(fresh=True)
    taken_over = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.key == key,
            WebhookDelivery.status == "processing",
            WebhookDelivery.received_at <= now - stale_after,
        )
        .values(received_at=now)
    ).rowcount
    if taken_over == 1:
        return Claim(fresh=True)
    row = session.scalars(select(WebhookDelivery).where(WebhookDelivery.key == key)).one()
    return Claim(fresh=False, response=row.response if row.status == "done" else None)


def complete(db: Database, key: str, response: str, *, now: datetime | None = None) -> None:
    """Store the answer to `key`, to be replayed to every later copy of the delivery."""
    with db.transaction() as session:
        complete_in(session, key, response, now=now or utcnow())


def complete_in(session: Session, key: str, response: str, *, now: datetime) -> None:
    """`complete` inside the caller's transaction."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.key == key)
        .values(status="done", response=response, completed_at=now)
    )


def forget_before(db: Database, cutoff: datetime) -> int:
    """Drop deliveries received before `cutoff` (Twilio stops retrying within minutes)."""
    with db.transaction() as session:
        return session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.received_at < cutoff)
        ).rowcount
