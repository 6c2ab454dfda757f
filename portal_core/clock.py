"""Time in one place: the portal stores UTC and computes ages on the request's date."""

from __future__ import annotations

from datetime import date, datetime, timezone


def utcnow() -> datetime:
    """Timezone-aware now; services take an optional `now` so tests can pin time."""
    return datetime.now(timezone.utc)


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
