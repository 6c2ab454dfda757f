"""How templates word a domain error's data: lists, articles, counts, waits and clinic times."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from portal_core.clinics import to_local
from wording.formats import WORDING, join_names, local_time, serial_or, wait_in_words


def say(template: str, **values: object) -> str:
    return WORDING.format(template, **values)


def test_names_are_joined_without_a_serial_comma() -> None:
    assert join_names(["Ava"], "or") == "Ava"
    assert say("{x:or}", x=("Ava", "Lily")) == "Ava or Lily"
    assert say("{x:or}", x=["Ava", "Lily", "Noah"]) == "Ava, Lily or Noah"
    assert say("{x:yourself and}", x=("Noah",)) == "yourself and Noah"
    assert say("{x:yourself and}", x=("Noah", "Lily")) == "yourself, Noah and Lily"


def test_choices_of_things_take_the_serial_comma_from_three() -> None:
    assert serial_or(["a"]) == "a"
    assert say("{x:serial_or}", x=["a", "b"]) == "a or b"
    assert say("{x:serial_or}", x=["a", "b", "c"]) == "a, b, or c"
    assert say("{x:each_or}", x=["a", "b", "c"]) == "a or b or c"


def test_words_apply_left_to_right_and_to_each_item() -> None:
    assert say("{x:lower a}", x="Orthopedic Consult") == "an orthopedic consult"
    assert say("{x:lower}", x="Behavioral Health Intake") == "behavioral health intake"
    assert say("{x:lower serial_or}", x=["Acute Visit", "Wellness Exam", "X"]) == (
        "acute visit, wellness exam, or x"
    )


@pytest.mark.parametrize(
    ("count", "said"), [(1, "1 more try"), (2, "2 more tries"), (0, "0 more tries")]
)
def test_a_count_takes_the_singular_only_for_one(count: int, said: str) -> None:
    assert say("{n:more try/more tries}", n=count) == said


@pytest.mark.parametrize(
    ("wait", "said"),
    [
        (timedelta(seconds=5), "1 minute"),
        (timedelta(minutes=15), "15 minutes"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(minutes=91), "2 hours"),
        (timedelta(hours=15, minutes=1), "16 hours"),
    ],
)
def test_a_wait_is_said_in_minutes_then_hours(wait: timedelta, said: str) -> None:
    assert wait_in_words(wait) == said
    assert say("{w:wait}", w=wait) == said


def test_a_clinic_time_is_shown_as_every_appointment_time_is() -> None:
    local = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("America/Chicago"))
    assert say("{at:local}", at=local) == "Tuesday, December 1 at 9:00 AM CST"
    riyadh = datetime(2026, 12, 1, 14, 30, tzinfo=ZoneInfo("Asia/Riyadh"))
    assert say("{at:local}", at=riyadh) == "Tuesday, December 1 at 2:30 PM UTC+3"


def test_other_specs_are_pythons_own() -> None:
    assert say("{d:%A, %B %-d}", d=date(2026, 12, 4)) == "Friday, December 4"
    assert say("{n:,}", n=4500) == "4,500"
    assert say("{d:%m/%d}", d=date(2026, 12, 4)) == "12/04"  # a slash in a date spec is a date's


@pytest.mark.parametrize(
    ("zone", "utc", "shown"),
    [
        ("Europe/Berlin", datetime(2026, 12, 1, 8, 30), "Tuesday, December 1 at 9:30 AM CET"),
        ("Europe/Berlin", datetime(2027, 6, 1, 7, 30), "Tuesday, June 1 at 9:30 AM CEST"),
        ("Europe/Rome", datetime(2026, 12, 1, 16, 30), "Tuesday, December 1 at 5:30 PM CET"),
        ("Asia/Tokyo", datetime(2026, 11, 30, 23, 30), "Tuesday, December 1 at 8:30 AM JST"),
        ("Asia/Seoul", datetime(2026, 12, 1, 3, 0), "Tuesday, December 1 at 12:00 PM KST"),
        ("America/Chicago", datetime(2026, 12, 1, 6, 0), "Tuesday, December 1 at 12:00 AM CST"),
        ("America/Chicago", datetime(2027, 3, 15, 14, 5), "Monday, March 15 at 9:05 AM CDT"),
        ("Asia/Bahrain", datetime(2026, 12, 1, 6, 0), "Tuesday, December 1 at 9:00 AM UTC+3"),
        ("Asia/Kolkata", datetime(2026, 12, 1, 4, 0), "Tuesday, December 1 at 9:30 AM IST"),
    ],
)
def test_local_time(zone: str, utc: datetime, shown: str) -> None:
    assert local_time(to_local(zone, utc.replace(tzinfo=timezone.utc))) == shown
