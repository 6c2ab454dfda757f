"""Which of the offered times a reply picks, read the way a person means it.

A patient shown three times answers "2", "the second one", "the 10 o'clock one on Wednesday",
"2 pm please", "Thursday's fine", "the one with Dr Kim", "the later one", or "no, I said 10". Every
part of the reply that names something (its place in the list, a weekday or date, a clock time,
morning or afternoon, a clinician) must hold for the time chosen: one time fits and it is chosen;
several fit and the patient is asked which; none fits and the patient is told so. Nothing is
guessed, because a wrong guess books the wrong time.

A bare number is a place in the list ("2"); a number outside the list is answered with the
range to pick from, never with the nearest time. A clock without "am"/"pm" means the clinic's
day ("at 2" is two in the afternoon), and a clock without minutes means the hour itself: "2 pm"
is not 2:30.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from understanding import numbers
from understanding.text import fold

CHOSEN = "chosen"
AMBIGUOUS = "ambiguous"
OUT_OF_RANGE = "out_of_range"
NONE_OF_THESE = "none_of_these"
NO_MATCH = "no_match"
NOT_A_CHOICE = "not_a_choice"

_NUMBER_WORDS = numbers.cardinals(1, 12)  # a place in the list, or an hour on the clock
_MINUTE_WORDS = {"fifteen": 15, "thirty": 30, "forty five": 45, "forty-five": 45, "half": 30}
_ORDINALS = {word: n - 1 for word, n in numbers.ordinals(5, typed=True).items()} | {"top": 0}
_LATEST = re.compile(r"\b(?:last|latest|later|late one|bottom)\b")
_EARLIEST = re.compile(r"\b(?:earliest|earlier|soonest|sooner)\b")
_WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "weds": 2, "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4,
}  # fmt: skip
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_NONE = re.compile(
    r"\b(?:none|neither|other times?|something else|different (?:day|time)|request|"
    r"(?:doesn'?t|don'?t|won'?t|can'?t make) (?:any|those|these|work))\b"
)
_BARE_NUMBER = re.compile(r"^(?:number|option|no\.?|#)?\s*(\d{1,2}|[a-z]+)\s*(?:please|pls)?$")
_MERIDIEM = r"(a\.?m\.?|p\.?m\.?|in the morning|in the afternoon|o'?clock)"
_HOUR_WORD = "|".join(_NUMBER_WORDS)
_CLOCKS = (
    # 10:30, 10:30 am
    re.compile(r"\b(\d{1,2}):(\d{2})\s*" + _MERIDIEM + "?"),
    # 10 am, 10am, 10 o'clock, ten o'clock, two pm
    re.compile(r"\b(\d{1,2}|" + _HOUR_WORD + r")()\s*" + _MERIDIEM),
    # two thirty, ten fifteen
    re.compile(r"\b(" + _HOUR_WORD + r")\s+(fifteen|thirty|forty[ -]five)()\b"),
    # half past two
    re.compile(r"\bhalf past (\d{1,2}|" + _HOUR_WORD + r")()()\b"),
    # the 10 one, the ten o'clock one (o'clock is caught above)
    re.compile(r"\bthe\s+(\d{1,2}|" + _HOUR_WORD + r")()()\s+one\b"),
)
# "at 10", "said 10", "meant 2": a clock unless it is a place in the list that no time fits.
_WEAK_CLOCK = re.compile(
    r"\b(?:at|around|said|meant|want|wanted|take|like|prefer)\s+(\d{1,2}|"
    + _HOUR_WORD
    + r")\b(?!\s*(?:st|nd|rd|th)\b)(?!:)"
)
_DOCTOR = re.compile(r"\b(?:dr|doctor|nurse practitioner)\.?\s+[a-z]{3,}")
_NOON = re.compile(r"\bnoon\b")
_DAY_OF_MONTH = re.compile(r"\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b")
_MONTH_DAY = re.compile(r"\b(" + "|".join(_MONTHS) + r")[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b")
_NOT_NAMES = frozenset({"md", "do", "np", "pa", "pa-c", "rn", "dr", "phd", "lcsw", "the", "one"})


@dataclass(frozen=True)
class Option:
    """One offered time: its id, when it starts on the clinic's clock, and with whom."""

    id: int
    local: datetime
    provider: str = ""


@dataclass(frozen=True)
class Pick:
    """What a reply did with the offer (`kind`), and the options it fits."""

    kind: str
    option_ids: tuple[int, ...] = ()
    count: int = 0  # how many were offered

    @property
    def chosen(self) -> int | None:
        return self.option_ids[0] if self.kind == CHOSEN else None


@dataclass(frozen=True)
class _Clock:
    hour: int  # 0-23 when `exact`, else 1-12
    minute: int | None
    exact: bool


def pick_option(text: str, options: Sequence[Option]) -> Pick:
    """Which of `options` (in the order they were offered) the reply `text` picks."""
    count = len(options)
    words = _normal(text)
    if not words or not options:
        return Pick(NOT_A_CHOICE, count=count)
    bare = _bare_number(words)
    if bare is not None:
        if 1 <= bare <= count:
            return Pick(CHOSEN, (options[bare - 1].id,), count)
        return Pick(OUT_OF_RANGE, count=count)
    if _NONE.search(words):
        return Pick(NONE_OF_THESE, count=count)

    found = False
    fits = list(options)
    clock = _clock(words)
    weak = _WEAK_CLOCK.search(words) if clock is None else None
    if weak:
        number = _number(weak.group(1))
        clock = _Clock(number, None, False)
        if not any(_at(o.local, clock) for o in options) and 1 <= number <= count:
            return Pick(CHOSEN, (options[number - 1].id,), count)
    if clock is not None:
        found = True
        fits = [o for o in fits if _at(o.local, clock)]
    weekdays = {day for word, day in _WEEKDAYS.items() if re.search(rf"\b{word}\b", words)}
    if weekdays:
        found = True
        fits = [o for o in fits if o.local.weekday() in weekdays]
    days = _days_of_month(words)
    if days:
        found = True
        fits = [o for o in fits if (o.local.month, o.local.day) in days or (0, o.local.day) in days]
    part = _part_of_day(words) if clock is None else None
    if part:
        found = True
        fits = [o for o in fits if (o.local.hour < 12) == (part == "morning")]
    named = [o for o in fits if _names_provider(words, o.provider)]
    if any(_names_provider(words, o.provider) for o in options) or _DOCTOR.search(words):
        found = True
        fits = named
    ordinal = _ordinal(words)
    if ordinal is not None:
        found = True
        if ordinal == "latest":
            fits = [max(fits, key=lambda o: o.local)] if fits else []
        elif ordinal == "earliest":
            fits = [min(fits, key=lambda o: o.local)] if fits else []
        else:
            fits = [fits[ordinal]] if 0 <= ordinal < len(fits) else []
    if not found:
        return Pick(NOT_A_CHOICE, count=count)
    if len(fits) == 1:
        return Pick(CHOSEN, (fits[0].id,), count)
    if fits:
        return Pick(AMBIGUOUS, tuple(o.id for o in fits), count)
    return Pick(NO_MATCH, count=count)


def names_a_day(text: str) -> bool:
    """Whether a reply names a day (so a time that wasn't offered means "search that day")."""
    words = _normal(text)
    return bool(
        any(re.search(rf"\b{word}\b", words) for word in _WEEKDAYS)
        or _days_of_month(words)
        or re.search(r"\b(?:tomorrow|today|week|month|monday|friday)\b", words)
    )


def _normal(text: str) -> str:
    lowered = fold(text)  # not `normalise`: "10:30", "#2", "a.m." and "pa-c" keep their marks
    lowered = re.sub(r"[^\w\s:'#.-]", " ", lowered)
    return " ".join(lowered.replace(" .", " ").split()).strip(" .")


def _bare_number(words: str) -> int | None:
    match = _BARE_NUMBER.match(words)
    if not match:
        return None
    token = match.group(1)
    if token.isdigit():
        return int(token)
    return _NUMBER_WORDS.get(token)


def _number(token: str) -> int:
    return int(token) if token.isdigit() else _NUMBER_WORDS[token]


def _clock(words: str) -> _Clock | None:
    if _NOON.search(words):
        return _Clock(12, 0, True)
    for pattern in _CLOCKS:
        match = pattern.search(words)
        if not match:
            continue
        hour = _number(match.group(1))
        minute_text = match.group(2)
        if minute_text:
            minute = int(minute_text) if minute_text.isdigit() else _MINUTE_WORDS[minute_text]
        else:
            minute = 30 if pattern.pattern.startswith(r"\bhalf") else None
        meridiem = (match.group(3) or "").replace(".", "")
        if not 1 <= hour <= 23 or (minute is not None and minute > 59):
            continue
        if meridiem in ("pm", "in the afternoon") and hour < 12:
            return _Clock(hour + 12, minute, True)
        if meridiem in ("am", "in the morning"):
            return _Clock(hour % 12, minute, True)
        if hour > 12:
            return _Clock(hour, minute, True)
        return _Clock(hour, minute, False)
    return None


def _at(local: datetime, clock: _Clock) -> bool:
    minute = 0 if clock.minute is None else clock.minute
    if local.minute != minute:
        return False
    if clock.exact:
        return local.hour == clock.hour
    return local.hour % 12 == clock.hour % 12


def _days_of_month(words: str) -> set[tuple[int, int]]:
    days = {(_MONTHS.index(m[:3]) + 1, int(d)) for m, d in _MONTH_DAY.findall(words)}
    days |= {(0, int(d)) for d in _DAY_OF_MONTH.findall(words)}
    return {d for d in days if 1 <= d[1] <= 31}


def _part_of_day(words: str) -> str | None:
    if re.search(r"\bmorning\b", words):
        return "morning"
    if re.search(r"\bafternoon\b", words):
        return "afternoon"
    return None


def _ordinal(words: str) -> int | str | None:
    for word, index in _ORDINALS.items():
        if re.search(rf"\b{word}\b", words):
            return index
    if _LATEST.search(words):
        return "latest"
    if _EARLIEST.search(words):
        return "earliest"
    return None


def _names_provider(words: str, provider: str) -> bool:
    names = [
        n for n in re.findall(r"[a-z'-]+", provider.lower()) if len(n) >= 3 and n not in _NOT_NAMES
    ]
    return any(re.search(rf"\b{re.escape(name)}\b", words) for name in names)
