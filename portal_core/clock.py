"""Time in one place: the portal stores UTC and computes ages on the request's date.

`GENESIS_FROZEN_NOW` (an ISO 8601 instant) pins "now" for every process that reads it: the test
suite sets it so the seeded population, the servers and the assertions agree on one day, and the
suite passes whatever the calendar says. A production start refuses it (`config.check_startup`).
"""

from __future__ import annotations

import os
from datetime import date, datetime, timezone

FROZEN_NOW_VARIABLE = "GENESIS_FROZEN_NOW"


def frozen_now() -> datetime | None:
    """The pinned instant, or None; a malformed value is an error, never a silent real clock."""
    raw = os.environ.get(FROZEN_NOW_VARIABLE, "").strip()
    if not raw:
        return None
    try:
        return as_utc(datetime.fromisoformat(raw))
    except ValueError:
        raise RuntimeError(f"{FROZEN_NOW_VARIABLE}={raw!r} is not an ISO 8601 instant") from None


def utcnow() -> datetime:
    """Timezone-aware now; services take an optional `now` so tests can pin time."""
    return frozen_now() or datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """Treat naive datetimes as UTC (how the database returns them) and convert aware ones."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def age_on(born: date, on: date) -> int:
    """Whole years of age on a date; a 29 February birthday turns over on 1 March."""
    years = on.year - born.year
    if (on.month, on.day) < (born.month, born.day):
        years -= 1
    return years


def now_or(now: datetime | None) -> datetime:
    """A service's `now` argument as aware UTC, or the current time when none was given."""
    return as_utc(now) if now is not None else utcnow()
