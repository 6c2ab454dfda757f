"""Business-day arithmetic: weekends and US federal holidays (with their observed days) skipped.

The `holidays` library keeps the federal calendar (including observed Fridays and Mondays and
new holidays such as Juneteenth), so no holiday list is maintained here.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _federal(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("US", years=year, observed=True)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _federal(day.year)


def add_business_days(start: date, days: int) -> date:
    """The date `days` business days after `start` (start itself never counts)."""
    if days < 0:
        raise ValueError("days must be zero or more")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_business_day(current):
            remaining -= 1
    return current
