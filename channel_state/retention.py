"""How long the channels' stored replies live: they hold health details, so not for long.

`webhook_deliveries.response` keeps the TwiML answered to each Twilio webhook (lab values
included) so that a retry gets the same answer; Twilio retries within minutes, so after
`PORTAL_DELIVERY_RETENTION_HOURS` (default 24) the row has no use left and is deleted. The same
goes for an SMS conversation's remembered choices and a late reply nobody collected: a reply
held for a day is no answer any more, and it may be read by whoever holds the phone by then.

Nobody has to remember to run this: `deliveries.claim`, on every Twilio webhook, prunes at most
once every PRUNE_EVERY per process and database. `python -m portal_core.cli prune-deliveries`
does the same on demand (or from cron).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from channel_state.models import SmsConversation, WebhookDelivery
from portal_core.clock import now_or
from portal_core.config import Settings, load_settings
from portal_core.database import Database

PRUNE_EVERY = timedelta(minutes=10)

_last_pruned: dict[str, datetime] = {}
_last_pruned_lock = threading.Lock()


@dataclass(frozen=True)
class Pruned:
    """How many rows a prune deleted, and the moment before which they were received."""

    cutoff: datetime
    deliveries: int
    conversations: int


def prune(db: Database, *, now: datetime | None = None, settings: Settings | None = None) -> Pruned:
    """Delete webhook deliveries, and SMS conversation state, older than the retention period."""
    settings = settings or load_settings()
    hours = settings.delivery_retention_hours
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 1:
        raise ValueError(
            f"PORTAL_DELIVERY_RETENTION_HOURS must be a whole number of hours, at least 1 "
            f"(Twilio retries for minutes); got {hours!r}"
        )
    cutoff = now_or(now) - timedelta(hours=hours)
    with db.transaction() as session:
        deliveries = session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.received_at < cutoff)
        ).rowcount
        conversations = session.execute(
            delete(SmsConversation).where(SmsConversation.updated_at < cutoff)
        ).rowcount
    return Pruned(cutoff=cutoff, deliveries=deliveries, conversations=conversations)


def prune_if_due(
    db: Database, *, now: datetime | None = None, settings: Settings | None = None
) -> Pruned | None:
    """`prune`, unless this process pruned this database less than PRUNE_EVERY ago.

    Cheap enough for every webhook: the check is a dictionary lookup, and the settings are read
    only when a prune is due. A clock that went backwards counts as due.
    """
    at = now_or(now)
    with _last_pruned_lock:
        last = _last_pruned.get(db.url)
        if last is not None and last <= at < last + PRUNE_EVERY:
            return None
        _last_pruned[db.url] = at
    return prune(db, now=at, settings=settings)
