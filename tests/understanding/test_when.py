"""How spoken and typed time phrases become a search window in the clinic's time zone."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from portal_core.errors import InvalidInput
from understanding.when import parse_when, with_time_of_day
from wording.catalogue import say_error

# Wednesday 25 November 2026, 16:00 UTC: 10:00 in Texas, 01:00 Thursday in Japan.
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "start", "end", "tod"),
    [
        ("next tuesday afternoon", date(2026, 12, 1), date(2026, 12, 1), "afternoon"),
        ("tmrw morning", date(2026, 11, 26), date(2026, 11, 26), "morning"),
        ("the 3rd", date(2026, 12, 3), date(2026, 12, 3), None),
        ("december 1st at 9", date(2026, 12, 1), date(2026, 12, 1), "morning"),
        ("Tuesday at 2", date(2026, 12, 1), date(2026, 12, 1), "afternoon"),
        ("next week", date(2026, 11, 30), date(2026, 12, 4), None),
        ("asap", date(2026, 11, 25), date(2026, 12, 23), None),
        ("um any time after work", date(2026, 11, 25), date(2026, 12, 23), "evening"),
        ("monday or tuesday", date(2026, 11, 30), date(2026, 12, 1), None),
        ("12/3", date(2026, 12, 3), date(2026, 12, 3), None),
        ("saturday", date(2026, 11, 30), date(2026, 12, 4), None),
        ("sometime next month", date(2026, 12, 1), date(2026, 12, 31), None),
    ],
)
def test_phrases(text: str, start: date, end: date, tod: str | None) -> None:
    when = parse_when(text, "America/Chicago", now=NOW)
    assert (when.start, when.end, when.time_of_day) == (start, end, tod)


def test_today_is_the_clinics_today() -> None:
    # It is already Thursday in Tokyo, so "tomorrow" there is Friday.
    assert parse_when("tomorrow", "Asia/Tokyo", now=NOW).start == date(2026, 11, 27)
    assert parse_when("tomorrow", "America/Chicago", now=NOW).start == date(2026, 11, 26)


@pytest.mark.parametrize(
    "text", ["feb 30", "2/30", "13/45", "yesterday", "blah blah", "", "x" * 10_000, "'; DROP TABLE"]
)
def test_bad_phrases_get_a_polite_error(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_when(text, "America/Chicago", now=NOW)
    said = say_error(err.value)
    assert said.endswith(("?", ".", "'.")) and not said.startswith("Sorry, I couldn't understand")


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("", "Please tell me a day or a time, for example 'next Tuesday morning'."),
        (
            "this weekend",
            "Clinics book weekdays only. Which weekday works for you, for example Monday?",
        ),
        (
            "blah blah",
            "Sorry, I didn't catch the day. You can say something like 'tomorrow', "
            "'next Tuesday' or 'December 3rd'.",
        ),
        ("feb 30", "That date doesn't exist. Which day works for you, for example 'December 3rd'?"),
        ("yesterday", "That date has already passed. Which upcoming day works for you?"),
        ("june 9 2028", "I can only look about six months ahead. Could you pick an earlier day?"),
        # Weekend days too: a Saturday far ahead, and a Saturday gone.
        ("june 3 2028", "I can only look about six months ahead. Could you pick an earlier day?"),
        ("november 21 2026", "That date has already passed. Which upcoming day works for you?"),
        ("the 32nd", "That isn't a day of the month. Which date works for you?"),
    ],
)
def test_each_kind_of_unreadable_day_is_told_what_to_say_instead(text: str, answer: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_when(text, "America/Chicago", now=NOW)
    assert say_error(err.value) == answer
    assert say_error(err.value, "sms") == say_error(err.value, "voice") == answer


@pytest.mark.parametrize(
    ("value", "said", "kept"),
    [
        ("next week", "next week, afternoon if possible", "next week afternoon"),
        ("next week", "book sofia in next week in the morning", "next week morning"),
        ("tuesday afternoon", "tuesday afternoon please", "tuesday afternoon"),
        ("next week", "next week", "next week"),
    ],
)
def test_the_part_of_the_day_asked_for_is_kept(value: str, said: str, kept: str) -> None:
    assert with_time_of_day(value, said) == kept
