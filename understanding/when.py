"""What "next Tuesday afternoon" means, in the clinic's time zone.

People say when they are free in many ways; `parse_when` turns that into a date window and an
optional time of day that scheduling can search. dateparser does the calendar work; the phrases it
handles badly ("the 3rd", "next week", "asap", "tmrw", "at 9") are settled here first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateparser.search import search_dates

from portal_core.errors import InvalidInput
from portal_core.scheduling import DEFAULT_WINDOW_DAYS, MAX_AHEAD_DAYS
from understanding.text import fold

_SHORTHAND = {
    r"\btmrw\b|\btmr\b|\btmw\b|\btomoro\b|\btomorow\b|\btommorow\b|\btommorrow\b": "tomorrow",
    r"\btues\b": "tuesday",
    r"\bthurs\b|\bthur\b": "thursday",
    r"\bweds\b": "wednesday",
    r"\bwk\b": "week",
}
_TIME_OF_DAY = {
    "morning": r"\bmorning\b|\bam\b|\ba\.m\.|\bbefore (?:noon|lunch)\b|\bearly\b",
    "afternoon": r"\bafternoon\b|\bpm\b|\bp\.m\.|\bafter (?:noon|lunch)\b|\blunch\b",
    "evening": r"\bevening\b|\bafter work\b|\blate\b|\btonight\b",
}
_ANY_TIME = re.compile(
    r"\b(?:asap|as soon as possible|soonest|earliest|any ?time|whenever|first available|"
    r"next available|don'?t care|doesn'?t matter|any day|soon)\b"
)
_CLOCK = re.compile(
    r"\b(?:at|around|about|by)?\s*(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?\b"
)
_DAY_OF_MONTH = re.compile(r"^(?:on )?(?:the )?(\d{1,2})(?:st|nd|rd|th)$")
_RELATIVE_WEEK = re.compile(r"\b(this|next|following) week\b")
_WEEKEND = re.compile(r"\bweekend\b")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_DAY = re.compile(r"\b(" + "|".join(_MONTHS) + r")[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b")


@dataclass(frozen=True)
class When:
    """A date window (inclusive, clinic-local dates) and an optional time of day."""

    start: date
    end: date
    time_of_day: str | None = None
    specific: bool = False


def _clean(text: str) -> str:
    lowered = " ".join(fold(text).split())  # not `normalise`: "a.m.", "3/14" keep their marks
    for pattern, replacement in _SHORTHAND.items():
        lowered = re.sub(pattern, replacement, lowered)
    return lowered


def _time_of_day(text: str) -> str | None:
    for name, pattern in _TIME_OF_DAY.items():
        if re.search(pattern, text):
            return name
    match = _CLOCK.search(text)
    if match and (match.group(3) or re.search(r"\b(?:at|around|about|by)\s*\d", text)):
        hour = int(match.group(1)) % 24
        meridiem = (match.group(3) or "").replace(".", "")
        if meridiem == "pm" and hour < 12:
            hour += 12
        elif not meridiem and 1 <= hour <= 6:
            hour += 12  # "at 2" at a clinic means two in the afternoon
        if hour < 12:
            return "morning"
        return "afternoon" if hour < 17 else "evening"
    return None


def with_time_of_day(value: str, text: str) -> str:
    """`value` ("next week") with the part of the day `text` asks for ("next week, afternoon if
    possible"), when `value` names none itself: a constraint the patient gave is never dropped."""
    if _time_of_day(_clean(value)) is not None:
        return value
    part = _time_of_day(_clean(text))
    return f"{value} {part}" if part else value


def _strip_time_words(text: str) -> str:
    for pattern in _TIME_OF_DAY.values():
        text = re.sub(pattern, " ", text)
    text = _CLOCK.sub(" ", text) if re.search(r"\b(?:at|around|about|by)\s*\d", text) else text
    return " ".join(text.split())


def parse_when(text: str, time_zone: str, *, now: datetime) -> When:
    """Interpret `text` relative to `now` in `time_zone`; raise InvalidInput when it can't."""
    if not text or len(text) > 200:
        raise InvalidInput(key="when.ask_day")
    today = now.astimezone(ZoneInfo(time_zone)).date()
    cleaned = _clean(text)
    tod = _time_of_day(cleaned)
    rest = _strip_time_words(cleaned)
    default = When(today, today + timedelta(days=DEFAULT_WINDOW_DAYS), tod)

    if _ANY_TIME.search(rest) or rest in ("", "any", "anytime", "in the", "the", "on the"):
        return default
    week = _RELATIVE_WEEK.search(rest)
    if week:
        monday = today - timedelta(days=today.weekday())
        if week.group(1) != "this":
            monday += timedelta(days=7 * (2 if week.group(1) == "following" else 1))
        return When(max(monday, today), monday + timedelta(days=4), tod)
    if _WEEKEND.search(rest):
        raise InvalidInput(key="when.weekdays_only")
    _reject_impossible_dates(rest, today)
    day_only = _DAY_OF_MONTH.match(rest)
    if day_only:
        return _single(_next_day_of_month(today, int(day_only.group(1))), today, tod)

    found = search_dates(
        rest,
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": datetime(today.year, today.month, today.day, 12, 0),
            "REQUIRE_PARTS": [],
        },
    )
    if not found:
        raise InvalidInput(key="when.day_not_caught")
    days = sorted({moment.date() for _, moment in found})
    if "month" in rest and len(days) == 1 and "next month" in rest:
        first = days[0].replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return When(first, following - timedelta(days=1), tod)
    if len(days) == 1:
        return _single(days[0], today, tod)
    return When(max(days[0], today), days[-1], tod, specific=True)


def _reject_impossible_dates(text: str, today: date) -> None:
    """dateparser quietly turns "February 30" into another day; say so instead."""
    pairs = [(_MONTHS.index(m) + 1, int(d)) for m, d in _MONTH_DAY.findall(text)]
    pairs += [(int(m), int(d)) for m, d, _ in _NUMERIC_DATE.findall(text)]
    for month, day in pairs:
        try:
            date(2024, month, day)  # a leap year, so 29 February stays possible
        except ValueError:
            raise InvalidInput(key="when.no_such_date") from None


def _single(day: date, today: date, tod: str | None) -> When:
    # A weekend day is checked like any other before the weekdays after it are offered: "June 3,
    # 2028" is too far ahead and last Saturday has passed, whatever day of the week they are.
    if day < today:
        raise InvalidInput(key="when.passed")
    if day > today + timedelta(days=MAX_AHEAD_DAYS):
        raise InvalidInput(key="when.too_far_ahead")
    if day.weekday() >= 5:  # clinics book weekdays: offer the days that follow
        monday = day + timedelta(days=7 - day.weekday())
        return When(monday, monday + timedelta(days=4), tod)
    return When(day, day, tod, specific=True)


def _next_day_of_month(today: date, day: int) -> date:
    if not 1 <= day <= 31:
        raise InvalidInput(key="when.not_a_day_of_month")
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate and candidate >= today:
            return candidate
        month = month % 12 + 1
        year += 1 if month == 1 else 0
    raise InvalidInput(key="when.not_a_day_of_month")
