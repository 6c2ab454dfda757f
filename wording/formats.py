"""How a template turns the data a domain error carries into words: lists, counts, waits, times.

The domain raises with data (names, counts, a `timedelta`, an aware datetime); the catalogue's
templates say how each is worded with a format spec after the variable, so the rule for
"Ava or Lily" or "16 hours" lives here once and the domain never builds a sentence:

- `{choices:or}`, `{people:and}`: "A, B or C" (no serial comma, as people's names are listed);
  `{clinics:serial_or}`: "A, B, or C"; `{labels:each_or}`: "A or B or C"; `{names:list}`:
  "A, B, C";
- `{kind:lower}`, `{kind:a}`: lower case, and the indefinite article (`with_article`); words
  combine left to right (`{kind:lower a}`), and apply to each item of a list before joining;
- `{others:yourself and}`: "yourself" first, then the others;
- `{wait:wait}`: a `timedelta` as the person hears it ("1 minute", "16 hours");
- `{at:local}`: an aware clinic-local datetime as every appointment time is shown
  ("Tuesday, December 1 at 9:30 AM CST");
- `{count:more try/more tries}`: an int with the singular or plural words after it;
- `{what:capability}`: a proxy capability's value as a sentence names it ("test results");
- `{status:refill_status}`: a refill's status code in the catalogue's words ("being filled"),
  the same in every channel.

Any other spec is Python's own (`{day:%A, %B %-d}`, `{length:,}`).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any


def with_article(noun: str) -> str:
    """'a wellness exam', 'an intake': English's indefinite article before a noun."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def join_names(names: Sequence[str], conjunction: str) -> str:
    """'Ava', 'Ava or Lily', 'yourself, Noah and Lily': no serial comma."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def serial_or(items: Sequence[str]) -> str:
    """'a or b', 'a, b, or c': the serial comma once there are three."""
    names = list(items)
    if len(names) <= 2:
        return " or ".join(names)
    return ", ".join(names[:-1]) + f", or {names[-1]}"


def wait_in_words(wait: timedelta) -> str:
    """The wait as the person hears it: minutes, or hours once it is over an hour and a half."""
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    if minutes <= 90:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = math.ceil(minutes / 60)
    return f"{hours} hours"


def zone_abbreviation(local_dt: datetime) -> str:
    """'CET', 'JST', 'CDT'; zones without a letter abbreviation read as 'UTC+3'."""
    name = local_dt.tzname() or "UTC"
    match = re.fullmatch(r"([+-])(\d{2})(\d{2})?", name)
    if not match:
        return name
    sign, hours, minutes = match.groups()
    text = f"UTC{sign}{int(hours)}"
    return f"{text}:{minutes}" if minutes and minutes != "00" else text


def format_date(day: date) -> str:
    """'Tuesday, December 1'."""
    return f"{day:%A, %B} {day.day}"


def format_clock(local_dt: datetime) -> str:
    """'9:30 AM'."""
    hour = local_dt.hour % 12 or 12
    return f"{hour}:{local_dt.minute:02d} {'AM' if local_dt.hour < 12 else 'PM'}"


def local_time(local: datetime) -> str:
    """'Tuesday, December 1 at 9:30 AM CET': how every appointment time is shown or spoken, for
    a datetime on the clinic's clock (as the domain's appointment views carry it)."""
    return f"{format_date(local.date())} at {format_clock(local)} {zone_abbreviation(local)}"


def _each(word: Callable[[str], str]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        if _is_list(value):
            return [word(str(item)) for item in value]
        return word(str(value))

    return apply


def _joined(join: Callable[[Sequence[str]], str]) -> Callable[[Any], str]:
    def apply(value: Any) -> str:
        return join([str(item) for item in value] if _is_list(value) else [str(value)])

    return apply


def _typed(kind: type, word: Callable[[Any], str]) -> Callable[[Any], str]:
    return lambda value: word(value) if isinstance(value, kind) else str(value)


def _refill_status(status: str) -> str:
    # Imported here: the words are catalogue messages, and the catalogue imports this module.
    from wording.catalogue import refill_status

    return refill_status(status)


def _capability(capability: str) -> str:
    from wording.catalogue import capability_words  # as `_refill_status`

    return capability_words(capability)


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


WORDS: dict[str, Callable[[Any], Any]] = {
    "lower": _each(str.lower),
    "a": _each(with_article),
    "yourself": lambda value: ["yourself", *(value if _is_list(value) else [value])],
    "or": _joined(lambda names: join_names(names, "or")),
    "and": _joined(lambda names: join_names(names, "and")),
    "serial_or": _joined(serial_or),
    "each_or": _joined(" or ".join),
    "list": _joined(", ".join),
    "wait": _typed(timedelta, wait_in_words),
    "local": _typed(datetime, local_time),
    "refill_status": _typed(str, _refill_status),
    "capability": _typed(str, _capability),
}


class Wording(string.Formatter):
    """`str.format` that also knows the spec words in `WORDS` and `singular/plural` counts."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        words = format_spec.split()
        if words and all(word in WORDS for word in words):
            for word in words:
                value = WORDS[word](value)
            return value if isinstance(value, str) else ", ".join(map(str, value))
        if "/" in format_spec and isinstance(value, int) and not isinstance(value, bool):
            singular, plural = format_spec.split("/", 1)
            return f"{value} {singular if value == 1 else plural}"
        return super().format_field(value, format_spec)


WORDING = Wording()
