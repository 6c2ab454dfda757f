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
