"""How the assistant's words sound on the phone: text made speakable for Twilio's `<Say>`.

A caller cannot glance back at a screen, and a speech engine guesses at anything that is not a
plain word: "mg/dL" comes out letter by letter, "70-99" as "seventy minus ninety-nine", "CET"
spelled out, "Dr." as "drive", a phone number as "two hundred fifty-four million...". So every
such thing is decided here, deterministically, and said in words: units in full ("milligrams
per deciliter"), numbers as words ("four point five"), ranges and comparisons ("70 to 99", "less
than 200"), dates and times the way a person says them ("Tuesday, December first at nine thirty
in the morning, Central time"), phone numbers and emergency numbers digit by digit, abbreviations
expanded. What comes out has no digits left for the engine to guess at.

`speak(text)` makes any of the bot's replies speakable (URLs and markdown dropped); `speech(text)`
keeps the line breaks as `Pause`s, which `to_ssml` turns into `<break>` for the voices that
support SSML (`supports_ssml`). `lab_result_speech` reads a lab result as sentences. Pure
functions: no database, no Rasa.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from portal_core.clock import utcnow
from portal_core.records import LabResultView

MAX_INPUT_CHARS = 20_000  # far more than any reply; beyond this is not something to read aloud
DEFAULT_PAUSE_MS = 500
MAX_CARDINAL = 10**15 - 1  # larger numbers are read digit by digit

# --------------------------------------------------------------------------- numbers

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}  # fmt: skip
_DIGIT_WORDS = dict(zip("0123456789", _ONES[:10], strict=True))


def cardinal(n: int) -> str:
    """1250 -> "one thousand two hundred fifty" (American style, no "and")."""
    if n < 0:
        return f"minus {cardinal(-n)}"
    if n > MAX_CARDINAL:
        return digits(str(n))
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {cardinal(rest)}" if rest else "")
    for scale, name in _SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return f"{cardinal(high)} {name}" + (f" {cardinal(rest)}" if rest else "")
    raise AssertionError("unreachable")  # pragma: no cover


def ordinal(n: int) -> str:
    """21 -> "twenty-first", 12 -> "twelfth", 100 -> "one hundredth"."""
    words = cardinal(n)
    head, sep, last = words.rpartition(" ")
    first, hyphen, last = last.rpartition("-")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}{sep}{first}{hyphen}{last}"


def digits(text: str) -> str:
    """ "0110" -> "zero one one zero": for phone numbers, codes and identifiers."""
    return " ".join(_DIGIT_WORDS[c] for c in text if c in _DIGIT_WORDS)


_NUMBER_TEXT = re.compile(r"([-+−]?)(\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d+))?")


def number_words(text: str) -> str:
    """A written number in words: "4.5", "1,250", "-3", ".5", "007".

    Decimals are read digit by digit after "point" ("1.02" -> "one point zero two"), the way
    clinicians read values aloud; a whole number with a leading zero is read as digits.
    """
    match = _NUMBER_TEXT.fullmatch(text.strip())
    if not match or not (match[2] or match[3]):
        raise ValueError(f"not a number: {text!r}")
    sign, whole, fraction = match[1], match[2].replace(",", ""), match[3]
    if not whole:
        words = "zero"
    elif len(whole) > 1 and whole.startswith("0"):
        words = digits(whole)
    else:
        words = cardinal(int(whole))
    if fraction:
        words += f" point {digits(fraction)}"
    if sign in ("-", "−"):
        return f"minus {words}"
    return f"plus {words}" if sign == "+" else words


def year_words(year: int) -> str:
    """1985 -> "nineteen eighty-five", 2005 -> "two thousand five", 2024 -> "twenty twenty-four"."""
    if not 1000 <= year <= 9999 or 2000 <= year <= 2009:
        return cardinal(year)
    high, low = divmod(year, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    if low < 10:
        return f"{cardinal(high)} oh {cardinal(low)}"
    return f"{cardinal(high)} {cardinal(low)}"


# --------------------------------------------------------------------------- dates and times

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_NIGHT_STARTS = time(21, 0)
_AFTERNOON_STARTS = time(12, 0)  # as portal_core.clinics.time_of_day
_EVENING_STARTS = time(17, 0)


def spoken_date(day: date, *, weekday: bool = True, year: bool = False) -> str:
    """ "Tuesday, December first", optionally ", twenty twenty-four"."""
    text = f"{MONTHS[day.month - 1]} {ordinal(day.day)}"
    if weekday:
        text = f"{WEEKDAYS[day.weekday()]}, {text}"
    if year:
        text += f", {year_words(day.year)}"
    return text


def spoken_time(at: time | datetime) -> str:
    """ "nine thirty in the morning", "two oh five in the afternoon", "noon", "midnight"."""
    hour, minute = at.hour, at.minute
    if minute == 0 and hour in (0, 12):
        return "midnight" if hour == 0 else "noon"
    clock = cardinal(hour % 12 or 12)
    if minute:
        clock += f" oh {cardinal(minute)}" if minute < 10 else f" {cardinal(minute)}"
    return f"{clock} {_part_of_day(time(hour, minute))}"


def _part_of_day(at: time) -> str:
    if at < _AFTERNOON_STARTS:
        return "in the morning"
    if at < _EVENING_STARTS:
        return "in the afternoon"
    return "in the evening" if at < _NIGHT_STARTS else "at night"


# The zones the military health system's clinics keep, as people name them. Zones that are not
# listed fall back to their abbreviation, then to their city ("Asia/Bahrain" -> "Bahrain time").
ZONE_NAMES: dict[str, str] = {
    "America/New_York": "Eastern time", "America/Detroit": "Eastern time",
    "America/Indiana/Indianapolis": "Eastern time", "America/Kentucky/Louisville": "Eastern time",
    "America/Chicago": "Central time", "America/Denver": "Mountain time",
    "America/Boise": "Mountain time", "America/Phoenix": "Arizona time",
    "America/Los_Angeles": "Pacific time", "America/Anchorage": "Alaska time",
    "Pacific/Honolulu": "Hawaii time", "America/Puerto_Rico": "Atlantic time",
    "Pacific/Guam": "Guam time", "Pacific/Saipan": "Guam time",
    "Europe/London": "UK time", "Europe/Lisbon": "Portugal time", "Atlantic/Azores": "Azores time",
    "Europe/Berlin": "Central European time", "Europe/Rome": "Central European time",
    "Europe/Madrid": "Central European time", "Europe/Brussels": "Central European time",
    "Europe/Amsterdam": "Central European time", "Europe/Paris": "Central European time",
    "Europe/Oslo": "Central European time", "Europe/Warsaw": "Central European time",
    "Europe/Stockholm": "Central European time", "Europe/Copenhagen": "Central European time",
    "Europe/Vienna": "Central European time", "Europe/Zurich": "Central European time",
    "Europe/Athens": "Eastern European time", "Europe/Bucharest": "Eastern European time",
    "Europe/Istanbul": "Turkey time", "Asia/Tokyo": "Japan time", "Asia/Seoul": "Korea time",
    "Asia/Bahrain": "Bahrain time", "Asia/Qatar": "Qatar time", "Asia/Kuwait": "Kuwait time",
    "Asia/Riyadh": "Saudi Arabia time", "Asia/Dubai": "Gulf time",
    "Africa/Djibouti": "Djibouti time",
    "Asia/Singapore": "Singapore time", "Australia/Darwin": "Darwin time",
    "Indian/Chagos": "Diego Garcia time", "America/Havana": "Cuba time", "UTC": "U T C",
    "Etc/UTC": "U T C",
}  # fmt: skip
ZONE_ABBREVIATIONS: dict[str, str] = {
    "EST": "Eastern time", "EDT": "Eastern time", "CST": "Central time", "CDT": "Central time",
    "MST": "Mountain time", "MDT": "Mountain time", "PST": "Pacific time", "PDT": "Pacific time",
    "AKST": "Alaska time", "AKDT": "Alaska time", "HST": "Hawaii time", "AST": "Atlantic time",
    "ChST": "Guam time", "GMT": "UK time", "BST": "UK time", "WET": "Western European time",
    "WEST": "Western European time", "CET": "Central European time",
    "CEST": "Central European time", "EET": "Eastern European time",
    "EEST": "Eastern European time", "JST": "Japan time", "KST": "Korea time", "UTC": "U T C",
}  # fmt: skip
_OFFSET = re.compile(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?")


def zone_name(zone: str | tzinfo, at: datetime | None = None) -> str:
    """How a zone is said: "Central time", "Japan time", "U T C plus three".

    `zone` is an IANA name ("America/Chicago"), an abbreviation ("CET", "UTC+3") or a tzinfo.
    """
    key = zone.key if isinstance(zone, ZoneInfo) else zone if isinstance(zone, str) else None
    if key in ZONE_NAMES:
        return ZONE_NAMES[key]
    if key in ZONE_ABBREVIATIONS:
        return ZONE_ABBREVIATIONS[key]
    offset = _OFFSET.fullmatch(key) if key else None
    if offset:
        return _offset_words(offset)
    tz: tzinfo | None = zone if isinstance(zone, tzinfo) else None
    if tz is None and key and "/" in key:
        try:
            tz = ZoneInfo(key)
        except (ValueError, KeyError, OSError):
            tz = None
    if tz is not None:
        name = (at.replace(tzinfo=tz) if at else utcnow().astimezone(tz)).tzname() or ""
        if name in ZONE_ABBREVIATIONS:
            return ZONE_ABBREVIATIONS[name]
    if key and "/" in key:
        return key.rsplit("/", 1)[1].replace("_", " ") + " time"
    return "local time"


def _offset_words(match: re.Match[str]) -> str:
    sign, hours, minutes = match.groups()
    text = f"U T C {'plus' if sign == '+' else 'minus'} {cardinal(int(hours))}"
    return f"{text} {cardinal(int(minutes))}" if minutes and minutes != "00" else text


def spoken_datetime(local: datetime, *, weekday: bool = True, year: bool = False) -> str:
    """An aware local datetime: "Tuesday, December first at nine thirty in the morning, ..."."""
    text = f"{spoken_date(local.date(), weekday=weekday, year=year)} at {spoken_time(local)}"
    if local.tzinfo is not None:
        text += f", {zone_name(local.tzinfo, local)}"
    return text


def spoken_local(clinic_tz: str, utc_dt: datetime) -> str:
    """The spoken twin of `wording.formats.local_time`: a UTC instant on the clinic's clock."""
    return spoken_datetime(utc_dt.astimezone(ZoneInfo(clinic_tz)))


# --------------------------------------------------------------------------- units

_PREFIXES = {
    "mc": "micro", "µ": "micro", "u": "micro", "m": "milli", "n": "nano", "p": "pico",
    "f": "femto", "d": "deci", "c": "centi", "k": "kilo",
}  # fmt: skip
# Base units: (singular, plural)
_BASES: dict[str, tuple[str, str]] = {
    "g": ("gram", "grams"), "L": ("liter", "liters"), "l": ("liter", "liters"),
    "mol": ("mole", "moles"), "Eq": ("equivalent", "equivalents"),
    "eq": ("equivalent", "equivalents"), "IU": ("international unit", "international units"),
    "U": ("unit", "units"), "Osm": ("osmole", "osmoles"), "m": ("meter", "meters"),
}  # fmt: skip
# Units read as a whole, wherever they stand.
_WHOLE: dict[str, tuple[str, str]] = {
    "%": ("percent", "percent"), "mmHg": ("millimeter of mercury", "millimeters of mercury"),
    "mm Hg": ("millimeter of mercury", "millimeters of mercury"),
    "bpm": ("beat per minute", "beats per minute"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°C": ("degree Celsius", "degrees Celsius"), "° F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "° C": ("degree Celsius", "degrees Celsius"), "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"), "hr": ("hour", "hours"), "hrs": ("hour", "hours"),
    "h": ("hour", "hours"), "sec": ("second", "seconds"), "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"), "oz": ("ounce", "ounces"), "cells": ("cell", "cells"),
    "copies": ("copy", "copies"), "mcL": ("microliter", "microliters"),
}  # fmt: skip
# Only after a slash: "/d" is "per day", but "5 d" is not a unit.
_DENOMINATOR_ONLY: dict[str, str] = {
    "d": "day", "day": "day", "wk": "week", "week": "week", "hpf": "high-power field",
    "lpf": "low-power field", "s": "second", "kg": "kilogram", "yr": "year",
}  # fmt: skip
_POWERS = {"2": "square", "^2": "square", "3": "cubic", "^3": "cubic"}
_EXPONENT_WORDS = {3: "thousand", 6: "million", 9: "billion", 12: "trillion"}
_MULTIPLIER = re.compile(r"(?:[x×*]\s?)?10\s?(?:\^|\*\*?|E)\s?(\d{1,2})|([KM])")
_SIMPLE = re.compile(r"([A-Za-zµ]+?)(\^?[23])?")
_DENOMINATOR = re.compile(r"(\d+(?:\.\d+)?)?\s?(.+)")
# Where a unit may start after a number; validated by `unit_words` before it is consumed.
_PER = r"/(?:\d+(?:\.\d+)?\s?)?[A-Za-zµμ][A-Za-zµμ0-9^]*"
_UNIT_CANDIDATE = re.compile(
    r"[ \u00a0]?((?:(?:[x×]\s?10\s?\^\s?\d{1,2}|10\^\d{1,2}|%|°\s?[FC]|mm Hg"
    rf"|[A-Za-zµμ][A-Za-zµμ0-9^]*)(?:{_PER})*|(?:{_PER})+))"
    r"(?![\w/])"
)
# Nouns a quantity describes: "a 0.4 milligram capsule", not "milligrams capsule".
_ATTRIBUTIVE = frozenset((
    "tablet", "tablets", "tab", "tabs", "capsule", "capsules", "cap", "caps", "patch", "patches",
    "pen", "pens", "vial", "vials", "syringe", "syringes", "dose", "doses", "injection",
    "injections", "inhaler", "inhalers", "spray", "sprays", "pill", "pills", "suppository",
    "suppositories", "packet", "packets", "bottle", "bottles", "chewable", "ER", "XR", "XL", "SR",
    "DR", "ODT", "extended", "delayed", "oral",
))  # fmt: skip


def unit_words(unit: str, *, plural: bool = True) -> str | None:
    """A unit in words, or None if it isn't one this module knows.

    "mg/dL" -> "milligrams per deciliter", "x10^3/uL" -> "thousand per microliter",
    "mL/min/1.73m2" -> "milliliters per minute per one point seven three square meters".
    """
    text = unit.strip().replace("μ", "µ").replace("×", "x")
    if not text or len(text) > 40:
        return None
    if text in _WHOLE:
        return _WHOLE[text][plural]
    head, *rest = text.split("/")
    multiplier = _MULTIPLIER.fullmatch(head)
    if multiplier and (multiplier[1] or rest):
        exponent = int(multiplier[1]) if multiplier[1] else (3 if multiplier[2] == "K" else 6)
        numerator = _EXPONENT_WORDS.get(exponent) or f"times ten to the {ordinal(exponent)}"
    elif head:
        numerator = _simple_unit(head, plural)
        if numerator is None:
            return None
    else:
        numerator = ""
    per = []
    for part in rest:
        words = _denominator(part)
        if words is None:
            return None
        per.append(words)
    return " per ".join([numerator, *per]).strip() if per else numerator


def _simple_unit(text: str, plural: bool) -> str | None:
    if text in _WHOLE:
        return _WHOLE[text][plural]
    match = _SIMPLE.fullmatch(text)
    if not match:
        return None
    body, power = match[1], match[2]
    if body in _BASES:
        words = _BASES[body][plural]
    else:
        words = None
        for size in (2, 1):
            prefix, base = body[:size], body[size:]
            if prefix in _PREFIXES and base in _BASES:
                joiner = "-" if " " in _BASES[base][0] else ""
                words = f"{_PREFIXES[prefix]}{joiner}{_BASES[base][plural]}"
                break
        if words is None:
            return None
    return f"{_POWERS[power]} {words}" if power else words


def _denominator(text: str) -> str | None:
    match = _DENOMINATOR.fullmatch(text.strip())
    if not match:
        return None
    count, unit = match[1], match[2]
    plural = count is not None and count != "1"
    words = _DENOMINATOR_ONLY.get(unit)
    if words is not None and plural:
        words += "s"
    if words is None:
        words = _simple_unit(unit, plural)
    if words is None:
        return None
    return f"{number_words(count)} {words}" if count else words


# --------------------------------------------------------------------------- abbreviations

# Said as letters, or as the words they stand for. Case matters ("ER" is not "er").
_LETTERS = (
    "PCM", "PCP", "CBC", "CMP", "BMP", "TSH", "LDL", "HDL", "BUN", "ALT", "AST", "PSA", "MCV",
    "MCH", "MCHC", "RBC", "WBC", "INR", "BMI", "MRI", "CT", "EKG", "ECG", "UA", "UTI", "STI",
    "HIV", "HPV", "RSV", "MMR", "PPD", "TB", "ADHD", "PTSD", "TBI", "ICU", "ENT", "MD", "NP",
    "RN", "LPN", "FNP", "DNP", "DDS", "DMD", "LCSW", "MSW", "PA-C", "ID", "DoD", "DS", "CAC",
    "PIV", "MHS", "MTF", "GSC", "HIE", "PHA", "OTC", "SMS", "SSN", "FAQ", "ER", "XR", "XL", "SR",
    "ODT", "IV", "EHR", "VA", "USA", "BP", "IUD", "OB/GYN", "GI", "hCG", "eGFR", "PhD",
)  # fmt: skip
ABBREVIATIONS: dict[str, str] = {
    **{a: " ".join(c.upper() for c in a if c.isalpha()) for a in _LETTERS},
    "PharmD": "Pharm D", "PsyD": "Psy D", "DTaP": "D tap", "Tdap": "T dap",
    "A1c": "A one C", "A1C": "A one C", "a1c": "A one C", "HbA1c": "hemoglobin A one C",
    "HbA1C": "hemoglobin A one C", "HBA1C": "hemoglobin A one C", "CO2": "C O two",
    "24/7": "twenty-four seven", "Rx": "prescription", "ASAP": "as soon as possible",
    "Dr.": "Doctor", "Dr": "Doctor", "Drs.": "Doctors", "Mr.": "Mister", "Mrs.": "Missus",
    "Ms.": "Miz", "Jr.": "Junior", "Sr.": "Senior", "Lt.": "Lieutenant", "Capt.": "Captain",
    "Maj.": "Major", "Col.": "Colonel", "Gen.": "General", "Sgt.": "Sergeant",
    "SSgt.": "Staff Sergeant", "Cpl.": "Corporal", "Pvt.": "Private", "Cmdr.": "Commander",
    "Adm.": "Admiral", "Ft.": "Fort", "Mt.": "Mount", "Ave.": "Avenue", "Blvd.": "Boulevard",
    "Bldg.": "Building", "Rm.": "Room", "Ste.": "Suite", "Apt.": "Apartment",
    "ext.": "extension", "Ext.": "extension", "e.g.": "for example", "i.e.": "that is",
    "etc.": "and so on", "vs.": "versus", "vs": "versus", "approx.": "about", "appt": "appointment",
    "appts": "appointments", "w/": "with", "w/o": "without", "U.S.": "U S", "U.S.A.": "U S A",
    "milConnect": "mil Connect", "PRN": "as needed", "BID": "twice a day",
    "TID": "three times a day", "QID": "four times a day", "QHS": "at bedtime",
    "DOB": "date of birth",
}  # fmt: skip

# --------------------------------------------------------------------------- the scanner

_NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+"
_INT = r"\d+"
_MONTH_NAMES = MONTHS + (
    "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sept", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
_DAY_NAMES = WEEKDAYS + ("Mon", "Tues", "Tue", "Wed", "Thurs", "Thur", "Thu", "Fri", "Sat", "Sun")
_ZONE_TOKEN = "|".join(sorted(map(re.escape, ZONE_ABBREVIATIONS), key=len, reverse=True))
_ABBREVIATION_TOKEN = "|".join(sorted(map(re.escape, ABBREVIATIONS), key=len, reverse=True))
_COMPARATORS = {
    "<": "less than", ">": "more than", "<=": "at most", "=<": "at most", "≤": "at most",
    ">=": "at least", "=>": "at least", "≥": "at least", "~": "about", "≈": "about",
}  # fmt: skip
_CMP = "|".join(sorted(map(re.escape, _COMPARATORS), key=len, reverse=True))
_DIGITS_AFTER = re.compile(
    r"(?:\b(?:dial|call|text|texting|press|extension|number|code|ID|option)|#|No\.)\s*$",
    re.IGNORECASE,
)
_SPOKEN_AS_DIGITS = frozenset({"911", "988", "311", "411", "211"})

_RULES: tuple[tuple[str, str], ...] = (
    ("url", r"(?:https?://|www\.)[^\s<>\"')\]]*[^\s<>\"')\].,;:!?]"),
    ("email", r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
    ("link", r"\[(?P<link_label>[^\]\n]{1,200})\]\([^)\s]{1,500}\)"),
    (
        "phone",
        r"(?<![\w.])(?:\+\d{8,15}(?!\d)"
        r"|(?:\+?1[-. ])?\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}(?!\d)"
        r"|\+\d{1,3}(?:[-. ]\(?\d{1,5}\)?){2,5}(?![\d-]))",
    ),
    ("iso_date", r"(?<![\w.])(?P<iso_y>\d{4})-(?P<iso_m>\d{2})-(?P<iso_d>\d{2})(?![\d-])"),
    (
        "us_date",
        r"(?<![\w./])(?P<us_m>\d{1,2})/(?P<us_d>\d{1,2})/(?P<us_y>\d{4}|\d{2})(?![\d/])",
    ),
    (
        "written_date",
        rf"(?:(?P<wd_day>{'|'.join(_DAY_NAMES)})\.?,?\s+)?"
        rf"(?P<wd_month>{'|'.join(_MONTH_NAMES)})\.?\s+(?P<wd_date>\d{{1,2}})(?:st|nd|rd|th)?"
        r"(?![\w:])(?:,?\s+(?P<wd_year>\d{4})(?!\d))?",
    ),
    ("month_year", rf"(?P<my_month>{'|'.join(MONTHS)})\s+(?P<my_year>\d{{4}})(?![\d:])"),
    (
        "clock",
        r"(?<![\w:.])(?P<ck_h>\d{1,2})(?::(?P<ck_m>\d{2}))?\s?"
        r"(?P<ck_ap>[AaPp]\.?\s?[Mm]\.?(?![A-Za-z]))"
        rf"(?:\s+(?P<ck_zone>{_ZONE_TOKEN}|(?:UTC|GMT)[+-]\d{{1,2}}(?::?\d{{2}})?)(?![\w+-]))?"
        r"|(?<![\w:.])(?P<ck_h24>\d{1,2}):(?P<ck_m24>\d{2})(?![\d:])"
        rf"(?:\s+(?P<ck_zone24>{_ZONE_TOKEN}|(?:UTC|GMT)[+-]\d{{1,2}}(?::?\d{{2}})?)(?![\w+-]))?",
    ),
    ("abbreviation", rf"(?<![\w.])(?:{_ABBREVIATION_TOKEN})(?![\w/])"),
    ("ordinal", r"(?<![\w.])(?P<ord_n>\d+)(?:st|nd|rd|th)(?!\w)"),
    ("money", rf"\$\s?(?P<amount>{_NUM})"),
    ("number_sign", r"(?:#|\bNo\.)\s?(?=\d)"),
    ("ratio", rf"(?<![\w./])(?P<ratio_a>{_INT})/(?P<ratio_b>{_INT})(?![\w/]|\.\d)"),
    (
        "quantity",
        rf"(?<![\w.,])(?:(?P<q_cmp>{_CMP})\s?)?(?P<q_sign>(?<![\w])[-−+](?=\.?\d))?(?P<q_a>{_NUM})"
        rf"(?:(?:\s?[-–—]\s?|\s+to\s+)(?:(?P<q_cmp2>{_CMP})\s?)?(?P<q_b>{_NUM}))?",
    ),
    ("mixed", r"(?<![\w])[A-Za-z]+\d[A-Za-z\d]*(?![\w])"),
)
# ASCII: only 0-9 are numbers to read; other scripts' digits are left as they are written.
_SCANNER = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _RULES), re.ASCII)


def _say_match(text: str, m: re.Match[str]) -> tuple[str, int]:
    """The words for one match, and where the text after it resumes."""
    kind = m.lastgroup
    end = m.end()
    if kind == "url":
        return "", end
    if kind == "email":
        local, _, domain = m[0].partition("@")
        return f"{_dotted(local)} at {_dotted(domain)}", end
    if kind == "link":
        return _speak_line(m["link_label"]), end
    if kind == "phone":
        return _phone_words(m[0]), end
    if kind == "iso_date":
        return _date_words(int(m["iso_y"]), int(m["iso_m"]), int(m["iso_d"]), m[0]), end
    if kind == "us_date":
        return _us_date_words(m["us_m"], m["us_d"], m["us_y"], m[0]), end
    if kind == "written_date":
        return _written_date_words(m), end
    if kind == "month_year":
        return f"{m['my_month']} {year_words(int(m['my_year']))}", end
    if kind == "clock":
        return _clock_words(m), end
    if kind == "abbreviation":
        return ABBREVIATIONS[m[0]], end
    if kind == "ordinal":
        return ordinal(int(m["ord_n"])) if len(m["ord_n"]) <= 15 else digits(m["ord_n"]), end
    if kind == "money":
        return _money_words(m["amount"]), end
    if kind == "number_sign":
        return "number ", end
    if kind == "ratio":
        return _ratio_words(text, m)
    if kind == "quantity":
        return _quantity_words(text, m)
    if kind == "mixed":
        return _mixed_words(m[0]), end
    raise AssertionError(kind)  # pragma: no cover


def _dotted(text: str) -> str:
    return " dot ".join(part for part in text.split(".") if part)


def _phone_words(text: str) -> str:
    plus = "plus " if text.startswith("+") else ""
    groups = re.findall(r"\d+", text)
    if len(groups) == 1:  # compact E.164: +12545550101
        number = groups[0]
        if number.startswith("1") and len(number) == 11:
            groups = [number[0], number[1:4], number[4:7], number[7:]]
        else:
            groups = [number[i : i + 3] for i in range(0, len(number), 3)]
    return plus + ", ".join(digits(g) for g in groups)


def _date_words(year: int, month: int, day: int, raw: str) -> str:
    try:
        return spoken_date(date(year, month, day), weekday=False, year=True)
    except ValueError:
        return ", ".join(number_words(part) for part in re.findall(r"\d+", raw))


def _us_date_words(month: str, day: str, year: str, raw: str) -> str:
    if len(year) == 4:
        return _date_words(int(year), int(month), int(day), raw)
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        return ", ".join(number_words(part) for part in (month, day, year))
    spoken_year = f"oh {_ONES[int(year)]}" if year.startswith("0") else cardinal(int(year))
    return f"{MONTHS[int(month) - 1]} {ordinal(int(day))}, {spoken_year}"


def _written_date_words(m: re.Match[str]) -> str:
    month = next(name for name in MONTHS if name.startswith(m["wd_month"][:3]))
    day = int(m["wd_date"])
    text = f"{month} {ordinal(day) if 1 <= day <= 31 else cardinal(day)}"
    if m["wd_day"]:
        weekday = next(name for name in WEEKDAYS if name.startswith(m["wd_day"][:3]))
        text = f"{weekday}, {text}"
    if m["wd_year"]:
        text += f", {year_words(int(m['wd_year']))}"
    return text


def _clock_words(m: re.Match[str]) -> str:
    if m["ck_h"] is not None:
        hour, minute = int(m["ck_h"]), int(m["ck_m"] or 0)
        zone = m["ck_zone"]
        if not 1 <= hour <= 12 or minute > 59:
            return m[0]  # "13 PM" is no time; leave the numbers to be read as they are
        pm = m["ck_ap"][0] in "Pp"
        text = spoken_time(time(hour % 12 + (12 if pm else 0), minute))
    else:
        hour, minute = int(m["ck_h24"]), int(m["ck_m24"])
        zone = m["ck_zone24"]
        if hour > 23 or minute > 59:
            return f"{cardinal(hour)} {cardinal(minute)}"
        if zone or hour == 0 or hour > 12:  # a 24-hour clock, or one with its zone given
            text = spoken_time(time(hour, minute))
        else:  # "9:30" alone: morning or evening is the reader's guess, so don't make it
            text = cardinal(hour) + (
                ""
                if not minute
                else f" oh {cardinal(minute)}"
                if minute < 10
                else f" {cardinal(minute)}"
            )
            text = text if minute else f"{text} o'clock"
    return f"{text}, {zone_name(zone)}" if zone else text


def _money_words(amount: str) -> str:
    whole, _, cents = amount.replace(",", "").partition(".")
    dollars = int(whole or 0)
    text = f"{cardinal(dollars)} dollar{'s' if dollars != 1 else ''}"
    if cents and int(cents[:2].ljust(2, "0")):
        count = int(cents[:2].ljust(2, "0"))
        text += f" and {cardinal(count)} cent{'s' if count != 1 else ''}"
    return text


_FRACTIONS = {2: ("half", "halves"), 3: ("third", "thirds"), 4: ("quarter", "quarters")}


def _ratio_words(text: str, m: re.Match[str]) -> tuple[str, int]:
    a, b = m["ratio_a"], m["ratio_b"]
    if int(b) in _FRACTIONS and 0 < int(a) < int(b):
        name = _FRACTIONS[int(b)][int(a) != 1]
        return f"{cardinal(int(a))} {name}", m.end()
    words = f"{number_words(a)} over {number_words(b)}"  # blood pressure: 120 over 80
    unit, end = _unit_after(text, m.end(), plural=True)
    return (f"{words} {unit}" if unit else words), end


def _quantity_words(text: str, m: re.Match[str]) -> tuple[str, int]:
    a, b = m["q_a"], m["q_b"]
    sign = (m["q_sign"] or "").replace("−", "-")
    plain = not (m["q_cmp"] or sign or b) and re.fullmatch(r"\d+", a)
    unit, end = _unit_after(text, m.end(), plural=not _is_one(a) or bool(b))
    words = _integer_words(a, text[: m.start()]) if plain and not unit else number_words(sign + a)
    if m["q_cmp"]:
        words = f"{_COMPARATORS[m['q_cmp']]} {words}"
    if b:
        second = number_words(b)
        if m["q_cmp2"]:
            second = f"{_COMPARATORS[m['q_cmp2']]} {second}"
        words = f"{words} to {second}"
    if unit:
        words = f"{words} {unit}"
    rest = text[end : end + 2]
    if rest[:1] == "+" and not rest[1:2].isdigit():  # urinalysis "2+"
        return f"{words} plus", end + 1
    if re.match(r"[xX](?![A-Za-z0-9])", rest):  # "3x daily"
        return f"{words} times", end + 1
    if rest[:1].isalpha():  # "1a": keep the words apart
        return f"{words} ", end
    return words, end


def _is_one(number: str) -> bool:
    return number == "1"


def _integer_words(number: str, before: str) -> str:
    """A whole number said as people say that kind: "911" and codes digit by digit, years."""
    if number in _SPOKEN_AS_DIGITS or (len(number) >= 3 and _DIGITS_AFTER.search(before[-30:])):
        return digits(number)
    if len(number) > 1 and number.startswith("0"):
        return digits(number)
    if len(number) >= 7:  # identifiers, not amounts: read in groups
        return ", ".join(digits(number[i : i + 3]) for i in range(0, len(number), 3))
    if len(number) == 4 and 1900 <= int(number) <= 2099:
        return year_words(int(number))
    return cardinal(int(number))


def _unit_after(text: str, start: int, *, plural: bool) -> tuple[str | None, int]:
    """The unit written right after a number, in words, and where it ends."""
    candidate = _UNIT_CANDIDATE.match(text, start)
    if not candidate:
        return None, start
    following = re.match(r"\s+([A-Za-z]+)", text[candidate.end() : candidate.end() + 30])
    if following and following[1] in _ATTRIBUTIVE:
        plural = False
    words = unit_words(candidate[1], plural=plural)
    return (words, candidate.end()) if words else (None, start)


def _mixed_words(token: str) -> str:
    """ "B12" -> "B twelve", "T4" -> "T four", "COVID19" -> "COVID nineteen"."""
    words = []
    for run in re.findall(r"[A-Za-z]+|\d+", token):
        if run.isdigit():
            words.append(number_words(run) if len(run) <= 15 else digits(run))
        elif run.isupper() and len(run) <= 4:
            words.append(" ".join(run))
        else:
            words.append(run)
    return " ".join(words)


# --------------------------------------------------------------------------- plain text

_PLAIN_REPLACEMENTS = (
    (re.compile(r"(\w)\(s\)"), r"\1s"),  # "refill(s)"
    (re.compile(r"\band/or\b"), "and or"),
    (re.compile(r"(?<=\w)/(?=\w+ ratio\b)"), " to "),  # "albumin/creatinine ratio"
    (re.compile(r"(?<=\w)/(?=\w)"), " or "),
    (re.compile(r"\s+[-–—]+\s+|—|\s*->\s*|\s*→\s*"), ", "),
    (re.compile(r"(?<=\w)–(?=\w)"), " to "),
    (re.compile(r"[()\[\]{}|]"), ", "),
    (re.compile(r"&"), " and "),
    (re.compile(r"@"), " at "),
    (re.compile(r"\+"), " plus "),
    (re.compile(r"="), " equals "),
    (re.compile(r"%"), " percent"),
    (re.compile(r"°"), " degrees"),
    (re.compile(r"±"), " plus or minus "),
    (re.compile(r"…"), "..."),
    (re.compile(r"[*_`#^~<>\\\"“”«»]"), " "),
)
_DROP_CATEGORIES = frozenset({"So", "Sk", "Cf", "Co", "Cs", "Cn", "Mn", "Me"})


def _plain(text: str) -> str:
    """Text between the recognised things: symbols said or dropped, emoji and controls gone."""
    for pattern, replacement in _PLAIN_REPLACEMENTS:
        text = pattern.sub(replacement, text)
    text = _DECIMAL_POINT.sub(" point ", text)
    text = _LEFTOVER_DIGITS.sub(_leftover_words, text)
    return "".join(_plain_char(c) for c in text)


_LEFTOVER_DIGITS = re.compile(r"[0-9]+")
_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")


def _leftover_words(m: re.Match[str]) -> str:
    """Digits in a shape nothing above recognised ("v1.2.3"): never left for the engine."""
    run = m[0]
    words = cardinal(int(run)) if len(run) <= 15 and not run.startswith("0") else digits(run)
    return f" {words} "


def _plain_char(c: str) -> str:
    if c.isascii():
        return c if c.isprintable() else " "
    category = unicodedata.category(c)
    if category == "Cc" or category == "Zs" or category in ("Zl", "Zp"):
        return " "
    if category in _DROP_CATEGORIES:
        return ""
    return c


_TIDY = (
    (re.compile(r"\s+"), " "),
    (re.compile(r"\s+([,.;:!?])"), r"\1"),
    (re.compile(r",(?:\s*,)+"), ","),
    (re.compile(r",\s*([.;:!?])"), r"\1"),
    (re.compile(r"([;:])\s*[,.]"), r"\1"),
    (re.compile(r"(?<!\.)\.\.(?!\.)"), "."),
    (re.compile(r"^[\s,;:.]+"), ""),
    (re.compile(r"[\s,;]+$"), ""),
)


def _tidy(text: str) -> str:
    for pattern, replacement in _TIDY:
        text = pattern.sub(replacement, text)
    return text.strip()


_BULLET = re.compile(r"^\s*(?:[-*+•·▪◦‣]|\d{1,2}[.)]|#{1,6}|>)\s+")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1|(?<!\w)([*_])(?!\s)(.+?)(?<!\s)\3(?!\w)")


def _speak_line(line: str) -> str:
    line = _BULLET.sub("", line)
    line = _EMPHASIS.sub(lambda m: m[2] or m[4], line)
    out: list[str] = []
    pos = 0
    while (m := _SCANNER.search(line, pos)) is not None:
        out.append(_plain(line[pos : m.start()]))
        words, pos = _say_match(line, m)  # may reach past the match (a unit after a number)
        out.append(words)
        if pos == m.start():  # an empty match: step over one character
            out.append(_plain(line[pos : pos + 1]))
            pos += 1
    out.append(_plain(line[pos:]))
    return _tidy("".join(out))


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class Pause:
    """A pause between spoken parts; only voices that support SSML hear it as silence."""

    ms: int = DEFAULT_PAUSE_MS


Speech = tuple[str | Pause, ...]


def speech(text: str) -> Speech:
    """The text as spoken sentences, a `Pause` wherever it had a line break or a list item."""
    if not isinstance(text, str):
        return ()
    parts: list[str | Pause] = []
    for line in text[:MAX_INPUT_CHARS].splitlines():
        spoken = _speak_line(line)
        if not spoken:
            continue
        if spoken[-1].isalnum():
            spoken += "."
        if parts:
            parts.append(Pause())
        parts.append(spoken)
    return tuple(parts)


def speak(text: str) -> str:
    """The text made speakable, as one string: what a voice without SSML reads."""
    return plain_text(speech(text))


def plain_text(parts: Iterable[str | Pause]) -> str:
    return " ".join(p for p in parts if isinstance(p, str))


def join(*speeches: Speech, pause_ms: int = DEFAULT_PAUSE_MS) -> Speech:
    """Several spoken messages one after another, a pause between each."""
    parts: list[str | Pause] = []
    for item in speeches:
        if not item:
            continue
        if parts:
            parts.append(Pause(pause_ms))
        parts.extend(item)
    return tuple(parts)


def to_ssml(parts: Iterable[str | Pause]) -> str:
    """The body of an SSML `<speak>`: escaped text and `<break time="500ms"/>`."""
    out = []
    for part in parts:
        if isinstance(part, Pause):
            out.append(f'<break time="{int(part.ms)}ms"/>')
        else:
            out.append(escape(part))
    return " ".join(out)


def supports_ssml(voice: str | None) -> bool:
    """Twilio reads SSML only with Amazon Polly and Google voices, not "man"/"woman"/"alice"."""
    return bool(voice) and str(voice).startswith(("Polly.", "Google."))


# --------------------------------------------------------------------------- lab results

_ACRONYM_ASIDE = re.compile(r"\s*\((?:[A-Z0-9][A-Z0-9a-z]*[A-Z0-9]|[A-Z])(?:[ /-][A-Z0-9]+)*\)")


def lab_name_words(name: str) -> str:
    """ "Complete blood count (CBC)" -> "complete blood count": the aside repeats the name."""
    stripped = _ACRONYM_ASIDE.sub("", name)
    return speak(stripped or name).rstrip(".")


def lab_value_words(value: str, unit: str | None) -> str:
    """ "212" with "mg/dL" -> "two hundred twelve milligrams per deciliter"; "Positive" as is."""
    if not re.search(r"\d", value):  # "Positive", "Not detected": a word, said as one
        return speak(value).rstrip(".").lower()
    text = f"{value} {unit}" if unit else value
    spoken = speak(text).rstrip(".")
    if unit and unit_words(unit) is None:
        spoken = speak(value).rstrip(".") + " " + speak(unit).rstrip(".")
    return spoken


def _range_words(reference: str, unit: str | None) -> str:
    text = reference
    if unit and re.search(r"\d\s*$", reference):  # "70 to 99": the unit is the value's
        text = f"{reference} {unit}"
    return speak(text).rstrip(".")


def lab_result_speech(result: LabResultView, *, today: date | None = None) -> str:
    """One lab result as sentences a caller can follow.

    "Total cholesterol: two hundred twelve milligrams per deciliter. That is high. The normal
    range is less than two hundred milligrams per deciliter. Collected on December first. This
    result has not yet been reviewed by your care team."
    """
    name = lab_name_words(result.test_name)
    sentences = [f"{name[:1].upper()}{name[1:]}: {lab_value_words(result.value, result.unit)}."]
    reference = result.reference_range
    numeric = bool(reference and re.search(r"\d", reference))
    if result.flag == "normal":
        if reference and numeric:
            sentences.append(
                f"That is in the normal range, {_range_words(reference, result.unit)}."
            )
        else:
            sentences.append("That is normal.")
    else:
        # Imported here: the catalogue imports this module (numbers in words) at load time.
        from wording.catalogue import result_flag

        sentences.append(f"That is {speak(result_flag(result.flag, 'voice')).rstrip('.')}.")
        if reference and numeric:
            sentences.append(f"The normal range is {_range_words(reference, result.unit)}.")
    if reference and not numeric:
        sentences.append(f"The expected result is {speak(reference).rstrip('.').lower()}.")
    with_year = today is None or today.year != result.collected_on.year
    sentences.append(
        f"Collected on {spoken_date(result.collected_on, weekday=False, year=with_year)}."
    )
    if result.source_org:
        sentences.append(f"This result came from {speak(result.source_org).rstrip('.')}.")
    from wording.catalogue import review_note

    note = review_note(result, "voice") if result.reviewed else None
    if note:
        sentences.append(f"It was {speak(note).rstrip('.')}.")
    elif not result.reviewed:
        sentences.append("This result has not yet been reviewed by your care team.")
    return " ".join(sentences)


def lab_results_speech(results: Sequence[LabResultView], *, today: date | None = None) -> Speech:
    """Several results, a pause between each so the caller can tell them apart."""
    return join(*((lab_result_speech(r, today=today),) for r in results))
