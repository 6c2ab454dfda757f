"""Reading numbers said or typed: one table of words for lists, menus, dates and digits."""

from __future__ import annotations

import pytest

from understanding import numbers


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("1234", "1234"),
        ("it's 0 5 9 9", "0599"),
        ("one two three four", "1234"),
        ("oh five double nine", "0599"),
        ("twelve thirty-four", "1234"),
        ("My last four are 4821", "4821"),
        ("last 4: nine nine one two", "9912"),
        ("no idea", ""),
        ("9" * 10_000, "9" * 200),
    ],
)
def test_spoken_digits(said: str, digits: str) -> None:
    assert numbers.spoken_digits(said) == digits


def test_one_table_of_cardinals_and_ordinals() -> None:
    assert numbers.CARDINALS["zero"] == 0
    assert numbers.CARDINALS["nineteen"] == 19
    assert numbers.CARDINALS["ninety"] == 90
    assert numbers.ORDINALS["first"] == 1
    assert numbers.ORDINALS["nineteenth"] == 19
    assert numbers.ORDINALS["thirtieth"] == 30


def test_a_list_reads_up_to_twelve_and_a_phone_menu_to_nine() -> None:
    assert list(numbers.cardinals(1, 12)) == [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve",
    ]  # fmt: skip
    assert max(numbers.cardinals(1, 9).values()) == 9


def test_ordinals_typed_follow_their_word() -> None:
    assert list(numbers.ordinals(3, typed=True)) == [
        "first",
        "1st",
        "second",
        "2nd",
        "third",
        "3rd",
    ]
    assert list(numbers.ordinals(2)) == ["first", "second"]


@pytest.mark.parametrize(
    ("n", "ending"),
    [
        (1, "st"),
        (2, "nd"),
        (3, "rd"),
        (4, "th"),
        (11, "th"),
        (12, "th"),
        (13, "th"),
        (21, "st"),
        (22, "nd"),
        (30, "th"),
    ],
)
def test_suffix(n: int, ending: str) -> None:
    assert numbers.suffix(n) == ending


MONTHS = ("january", "september", "may")


@pytest.mark.parametrize(
    ("said", "read"),
    [
        ("september eleventh nineteen eighty four", "september 11 1984"),
        ("the eleventh of september nineteen eighty four", "september 11 1984"),
        ("may twenty first nineteen oh five", "may 21 1905"),
        ("january first two thousand and seven", "january 1 2007"),
        ("september 11 1984", "september 11 1984"),  # no number words: unchanged
        ("eleventh nineteen eighty four", "eleventh nineteen eighty four"),  # no month
    ],
)
def test_spoken_date(said: str, read: str) -> None:
    assert numbers.spoken_date(said, MONTHS) == read
