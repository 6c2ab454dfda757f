"""What operators should look at: security alerts the portal raised, newest first.

Alerts are raised where the event happens (a number locked out again within a day, in
`identity.py`), in the same transaction as the event and its audit entry. This module only
lists them, for `python -m portal_core.cli security-alerts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal_core.clock import as_utc
from portal_core.database import Database
from portal_core.errors import InvalidInput
from portal_core.models import SecurityAlert

MAX_LIMIT = 1000


@dataclass(frozen=True)
class SecurityAlertView:
    alert_id: int
    raised_at: datetime
    kind: str
    phone: str | None
    detail: str


def list_alerts(
    db: Database, *, since: datetime | None = None, limit: int = 100
) -> list[SecurityAlertView]:
    """Alerts raised at or after `since` (all when None), newest first, at most `limit`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"Please ask for between 1 and {MAX_LIMIT} alerts.")
    query = select(SecurityAlert).order_by(SecurityAlert.raised_at.desc(), SecurityAlert.id.desc())
    if since is not None:
        query = query.where(SecurityAlert.raised_at >= as_utc(since))
    with db.transaction() as session:
        return [
            SecurityAlertView(
                alert_id=row.id,
                raised_at=row.raised_at,
                kind=row.kind,
                phone=row.phone,
                detail=row.detail,
            )
            for row in session.scalars(query.limit(limit))
        ]
