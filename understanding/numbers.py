"""The one table of number words, and the readers of numbers said or typed.

Picking "the second one" from a list, pressing or saying "one" on a call, saying a date of birth
("september eleventh nineteen eighty four") and reading out the last four digits of an ID ("oh
five double nine") all read numbers; they used to do it with four tables of their own. Each
reader still accepts exactly the words it did (a list of times offered is read up to "twelve", a
phone menu up to "nine"), but all of them take those words from here. Saying numbers aloud is
the speech wording's business, not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Collection

_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = (
    "ten", "eleven", "twelve", "thirteen", "fourteen",
    "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINAL_WORDS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth",
)  # fmt: skip

# "zero" .. "nineteen", "twenty", "thirty" .. "ninety".
CARDINALS: dict[str, int] = {
    **{w: i for i, w in enumerate(_UNITS)},
    **{w: i + 10 for i, w in enumerate(_TEENS)},
    **{w: (i + 2) * 10 for i, w in enumerate(_TENS)},
}
# "first" .. "nineteenth", "twentieth", "thirtieth" (the days of a month need no more).
ORDINALS: dict[str, int] = {
    **{w: i + 1 for i, w in enumerate(_ORDINAL_WORDS)},
    "twentieth": 20,
    "thirtieth": 30,
}
# A digit read out one at a time: "oh" and "o" are zero, and speech engines hear "won".
DIGIT_WORDS: dict[str, int] = {
    **{w: i for i, w in enumerate(_UNITS)},
    "oh": 0,
    "o": 0,
    "won": 1,
}
# "double nine" is "99".
REPEATS = {"double": 2, "triple": 3}


def cardinals(low: int, high: int) -> dict[str, int]:
    """The number words from `low` to `high` ("one" .. "twelve"), in counting order."""
    return {word: n for word, n in CARDINALS.items() if low <= n <= high}


def ordinals(high: int, *, typed: bool = False) -> dict[str, int]:
    """ "first" .. the `high`th, each followed by its typed form ("1st") when `typed`."""
    found: dict[str, int] = {}
    for word, n in ORDINALS.items():
        if n <= high:
            found[word] = n
            if typed:
                found[f"{n}{suffix(n)}"] = n
    return found


def suffix(n: int) -> str:
    """The ending of a typed ordinal: "st" for 1 and 21, "th" for 11 and 12."""
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def spoken_digits(text: str) -> str:
    """The digits in what someone typed or said: "1234", "one two three four", "oh five
    double nine", "twelve thirty-four". Everything else is ignored; the caller checks the count.
    """
    if not isinstance(text, str):
        return ""
    out: list[str] = []
    repeat = 1
    said = re.sub(r"\blast\s+(?:four|4)\b", " ", text[:200].lower())  # "my last four are ..."
    tokens = re.findall(r"[a-z]+|\d+", said)
    for i, token in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        value = CARDINALS.get(token)
        if token in REPEATS:
            repeat = REPEATS[token]
            continue
        if token.isdigit():
            out.append(token)
        elif token in DIGIT_WORDS:
            out.append(str(DIGIT_WORDS[token]) * repeat)
        elif value is not None and 10 <= value <= 19:
            out.append(str(value))
        elif value is not None and value >= 20:
            unit = following if following in DIGIT_WORDS and following not in ("oh", "o") else ""
            out.append(str(value // 10) + ("" if unit else "0"))
        elif token == "hundred":
            out.append("00")
        repeat = 1
    return "".join(out)


def spoken_date(text: str, months: Collection[str]) -> str:
    """'september eleventh nineteen eighty four' -> 'september 11 1984', as a caller says it.

    Speech engines transcribe dates in words; the day is the first number said and the year is
    the rest ('nineteen eighty four', 'nineteen oh five', 'two thousand and seven'). `months` are
    the month names the caller's reader knows; text without one, or without number words, is
    returned as it was.
    """
    words = text.replace("-", " ").split()
    month_at = next((i for i, w in enumerate(words) if w in months), None)
    if month_at is None or not any(w in CARDINALS or w in ORDINALS for w in words):
        return text
    before = _atoms(words[:month_at])
    after = _atoms(words[month_at + 1 :])
    if before:  # "the eleventh of september nineteen eighty four"
        day, year = before[0], _year(after)
    elif after:
        day, year = after[0], _year(after[1:])
    else:
        return text
    if not isinstance(day, int) or year is None:
        return text
    return f"{words[month_at]} {day} {year}"


def _atoms(words: list[str]) -> list[int | str]:
    """Number words as values, tens and units merged ('twenty one' -> 21); 'oh' and 'thousand'
    kept as markers; anything else ('the', 'of', 'and', digits aside) dropped."""
    atoms: list[int | str] = []
    for word in words:
        if word.isdigit():
            atoms.append(int(word))
        elif word in ("oh", "thousand", "hundred"):
            atoms.append(word)
        elif word in CARDINALS or word in ORDINALS:
            value = CARDINALS[word] if word in CARDINALS else ORDINALS[word]
            last = atoms[-1] if atoms else None
            if isinstance(last, int) and last >= 20 and last % 10 == 0 and value < 10:
                atoms[-1] = last + value
            else:
                atoms.append(value)
    return atoms


def _year(atoms: list[int | str]) -> int | None:
    numbers = [a for a in atoms if isinstance(a, int)]
    if "thousand" in atoms and numbers:
        return numbers[0] * 1000 + sum(numbers[1:])
    if "hundred" in atoms and numbers:
        return numbers[0] * 100 + sum(numbers[1:])
    if len(numbers) == 1 and numbers[0] >= 1000:
        return numbers[0]
    if len(numbers) == 2 and 10 <= numbers[0] <= 99 and numbers[1] <= 99:
        return numbers[0] * 100 + numbers[1]
    return None
