"""Clinics, appointment types, booking policies, and clinic-local time.

People name clinics and visits the way they speak ("the peds clinic at Landstuhl", "a sick call"),
so matching is forgiving about case, punctuation, plurals and small typos, but it never guesses
between two real candidates: an ambiguous name comes back as a question listing the choices.

Every time a patient sees or hears is shown in the clinic's own time zone, because that is where
they will be standing; the helpers at the bottom of this module are the one place that happens.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_core.clock import as_utc
from portal_core.database import Database
from portal_core.errors import InvalidInput, NotFound
from portal_core.ids import valid_id
from portal_core.models import AppointmentType, BookingPolicy, Clinic
from understanding.text import normalise

MAX_QUERY_CHARS = 200
MAX_CHOICES_SHOWN = 5

# No policy row means nobody decided online booking is fine for that visit at that clinic, so a
# patient may only ask the clinic to schedule it; their team can still say yes.
DEFAULT_BOOKING_MODE = "request_only"

# Local clock hours that start each part of the day; "evening" runs to midnight.
AFTERNOON_STARTS = time(12, 0)
EVENING_STARTS = time(17, 0)

# What people call a visit -> the appointment type's code. Phrases are matched as whole words
# after the same normalisation as the query (lower case, punctuation as spaces, plurals folded),
# longest phrase first, so "behavioral health follow up" wins over "follow up". Codes missing from
# the database fall back to the type whose name holds the code's words.
APPOINTMENT_TYPE_SYNONYMS: dict[str, str] = {
    # wellness
    "wellness": "wellness",
    "wellness visit": "wellness",
    "wellness exam": "wellness",
    "checkup": "wellness",
    "check up": "wellness",
    "annual": "wellness",
    "annual exam": "wellness",
    "annual checkup": "wellness",
    "annual check up": "wellness",
    "yearly checkup": "wellness",
    "yearly check up": "wellness",
    "routine visit": "wellness",
    "preventive visit": "wellness",
    "well visit": "wellness",
    # children and sports
    "well child": "well_child",
    "well child check": "well_child",
    "well baby": "well_child",
    "baby checkup": "well_child",
    "sports physical": "sports_physical",
    "school physical": "sports_physical",
    "camp physical": "sports_physical",
    # women's health
    "womens health": "womens_health",
    "well woman": "womens_health",
    "pap smear": "womens_health",
    # acute
    "acute": "acute",
    "acute visit": "acute",
    "acute care": "acute",
    "sick": "acute",
    "sick call": "acute",
    "sick visit": "acute",
    "same day": "acute",
    "same day appointment": "acute",
    "feeling sick": "acute",
    "not feeling well": "acute",
    # follow-up
    "follow up": "follow_up",
    "followup": "follow_up",
    "recheck": "follow_up",
    "re check": "follow_up",
    "check back": "follow_up",
    # periodic health assessment
    "physical": "pha",
    "physical exam": "pha",
    "pha": "pha",
    "periodic health assessment": "pha",
    "deployment physical": "pha",
    # behavioral health intake
    "behavioral health": "behavioral_health_intake",
    "behavioral health intake": "behavioral_health_intake",
    "behavioural health": "behavioral_health_intake",
    "bh intake": "behavioral_health_intake",
    "mental health": "behavioral_health_intake",
    "mental health intake": "behavioral_health_intake",
    "counseling": "behavioral_health_intake",
    "counselling": "behavioral_health_intake",
    "therapy": "behavioral_health_intake",
    "therapist": "behavioral_health_intake",
    # behavioral health follow-up
    "behavioral health follow up": "behavioral_health_follow_up",
    "bh follow up": "behavioral_health_follow_up",
    "therapy follow up": "behavioral_health_follow_up",
    "counseling follow up": "behavioral_health_follow_up",
    # other visits
    "telehealth": "telehealth",
    "video visit": "telehealth",
    "virtual visit": "telehealth",
    "medication review": "medication_review",
    "med review": "medication_review",
    "medication check": "medication_review",
    # immunizations
    "immunization": "immunization",
    "vaccine": "immunization",
    "vaccination": "immunization",
    "shot": "immunization",
    "flu shot": "immunization",
}

# Spoken shorthand for clinic names, expanded before matching (normalised phrase -> words).
CLINIC_ALIASES: dict[str, str] = {
    "peds": "pediatrics",
    "pedes": "pediatrics",
    "kids": "pediatrics",
    "children": "pediatrics",
    "fm": "family medicine",
    "family practice": "family medicine",
    "family doctor": "family medicine",
    "obgyn": "obstetrics gynecology",
    "ob gyn": "obstetrics gynecology",
    "ob": "obstetrics",
    "gyn": "gynecology",
    "women": "womens health",
    "mental health": "behavioral health",
    "bh": "behavioral health",
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Countries people name instead of a base ("the clinic in Germany"), by ISO country code.
COUNTRY_NAMES: dict[str, str] = {
    "BH": "bahrain",
    "BE": "belgium",
    "CU": "cuba guantanamo",
    "DE": "germany",
    "ES": "spain",
    "GB": "england britain uk",
    "GU": "guam",
    "IT": "italy",
    "JP": "japan",
    "KR": "korea south korea",
    "TR": "turkey",
}

_CLINIC_FILLER = _words(
    "the a an clinic at in on of my our for to please i want need go see with hospital "
    "base facility mtf medical center centre department dept"
)
_TYPE_FILLER = _words(
    "the a an my our for to please i want need book schedule make get set up appointment "
    "appt visit exam one new"
)


class ClinicNotFound(NotFound):
    """No clinic matches; `choices` holds a few the person might have meant."""

    default_message = "Sorry, I couldn't find that clinic."

    def __init__(self, user_message: str | None = None, *, choices: Sequence[ClinicView] = ()):
        super().__init__(user_message)
        self.choices = tuple(choices)


class AmbiguousClinic(InvalidInput):
    """Several clinics match; the bot should ask which one, offering `choices`."""

    default_message = "Which clinic do you mean?"

    def __init__(self, user_message: str | None = None, *, choices: Sequence[ClinicView] = ()):
        super().__init__(user_message)
        self.choices = tuple(choices)


class AppointmentTypeNotFound(NotFound):
    default_message = "Sorry, I couldn't find that kind of appointment."

    def __init__(
        self, user_message: str | None = None, *, choices: Sequence[AppointmentTypeView] = ()
    ):
        super().__init__(user_message)
        self.choices = tuple(choices)


class AmbiguousAppointmentType(InvalidInput):
    default_message = "What kind of appointment do you need?"

    def __init__(
        self, user_message: str | None = None, *, choices: Sequence[AppointmentTypeView] = ()
    ):
        super().__init__(user_message)
        self.choices = tuple(choices)


class AppointmentTypeNotOffered(NotFound):
    default_message = "Sorry, that clinic doesn't offer that kind of appointment."


@dataclass(frozen=True)
class ClinicView:
    id: int
    code: str
    name: str
    facility: str
    city: str
    country: str
    time_zone: str
    phone: str
    service: str

    @property
    def label(self) -> str:
        """How to name the clinic when several share a name at different facilities."""
        return f"{self.name} at {self.facility}"


@dataclass(frozen=True)
class AppointmentTypeView:
    id: int
    code: str
    name: str
    duration_minutes: int
    questionnaire: str | None


# ---------------------------------------------------------------------------------------------
# Services


def list_clinics(db: Database) -> list[ClinicView]:
    with db.transaction() as session:
        return [clinic_view(c) for c in _all_clinics(session)]


def find_clinic(db: Database, name_or_code: str) -> ClinicView:
    """The one clinic `name_or_code` names, or a typed error the bot can turn into a question."""
    with db.transaction() as session:
        return match_clinic(session, name_or_code)


def appointment_types(db: Database) -> list[AppointmentTypeView]:
    with db.transaction() as session:
        return [appointment_type_view(t) for t in _all_types(session)]


def find_appointment_type(db: Database, text: str) -> AppointmentTypeView:
    with db.transaction() as session:
        return match_appointment_type(session, text)


def booking_mode(db: Database, clinic_id: int, type_id: int) -> str:
    """'direct' or 'request_only'; raises AppointmentTypeNotOffered if the clinic doesn't do it."""
    with db.transaction() as session:
        clinic = load_clinic(session, clinic_id)
        appointment_type = load_appointment_type(session, type_id)
        return resolve_booking_mode(session, clinic, appointment_type)


# ---------------------------------------------------------------------------------------------
# Session-level building blocks (scheduling uses these inside its own transaction)


def clinic_view(clinic: Clinic) -> ClinicView:
    return ClinicView(
        id=clinic.id,
        code=clinic.code,
        name=clinic.name,
        facility=clinic.facility,
        city=clinic.city,
        country=clinic.country,
        time_zone=clinic.time_zone,
        phone=clinic.phone,
        service=clinic.service,
    )


def appointment_type_view(appointment_type: AppointmentType) -> AppointmentTypeView:
    return AppointmentTypeView(
        id=appointment_type.id,
        code=appointment_type.code,
        name=appointment_type.name,
        duration_minutes=appointment_type.duration_minutes,
        questionnaire=appointment_type.questionnaire,
    )


def load_clinic(session: Session, clinic_id: int) -> Clinic:
    key = valid_id(clinic_id)
    clinic = session.get(Clinic, key) if key else None
    if clinic is None:
        raise ClinicNotFound()
    return clinic


def load_appointment_type(session: Session, type_id: int) -> AppointmentType:
    key = valid_id(type_id)
    appointment_type = session.get(AppointmentType, key) if key else None
    if appointment_type is None:
        raise AppointmentTypeNotFound()
    return appointment_type


def resolve_booking_mode(
    session: Session, clinic: Clinic, appointment_type: AppointmentType
) -> str:
    policy = session.scalar(
        select(BookingPolicy).where(
            BookingPolicy.clinic_id == clinic.id,
            BookingPolicy.appointment_type_id == appointment_type.id,
        )
    )
    if policy is None:
        return DEFAULT_BOOKING_MODE
    if not policy.offered:
        raise AppointmentTypeNotOffered(
            f"Sorry, the {clinic.name} doesn't offer {article(appointment_type.name)} "
            f"{appointment_type.name.lower()} appointment. You can call them at {clinic.phone} "
            "to ask where to go."
        )
    return policy.mode


def match_clinic(session: Session, name_or_code: str) -> ClinicView:
    raw = _checked_query(
        name_or_code, "Which clinic would you like? For example 'family medicine'."
    )
    clinics = [clinic_view(c) for c in _all_clinics(session)]
    if not clinics:
        raise ClinicNotFound("Sorry, there are no clinics set up yet.")
    wanted = normalise(raw)
    exact = [
        c for c in clinics if wanted in (normalise(c.code), normalise(c.name), normalise(c.label))
    ]
    if len(exact) == 1:
        return exact[0]
    tokens = _clinic_query_tokens(raw)
    if not tokens:
        return _one_or_ask(clinics, raw)
    haystacks = {c.id: _clinic_tokens(c) for c in clinics}
    vocabulary = set().union(*haystacks.values())
    for attempt in (tokens, _corrected(tokens, vocabulary)):
        found = [c for c in clinics if attempt <= haystacks[c.id]]
        if found:
            named = [c for c in found if attempt == _content_tokens(c.name, _CLINIC_FILLER)]
            return _one_or_ask(named if len(named) == 1 else found, raw)
    nearest = _closest(clinics, raw)
    raise ClinicNotFound(
        f'Sorry, I couldn\'t find a clinic called "{raw}". Clinics include '
        f"{_or_list(c.label for c in nearest)}.",
        choices=nearest,
    )


def match_appointment_type(session: Session, text: str) -> AppointmentTypeView:
    raw = _checked_query(text, "What kind of appointment do you need? For example 'a checkup'.")
    types = [appointment_type_view(t) for t in _all_types(session)]
    if not types:
        raise AppointmentTypeNotFound("Sorry, no appointment types are set up yet.")
    wanted = normalise(raw)
    exact = [t for t in types if wanted in (normalise(t.code), normalise(t.name))]
    if len(exact) == 1:
        return exact[0]
    words = _tokens(raw)
    codes = _synonym_codes(words)
    if codes:
        found = [t for code in codes for t in _types_for_code(types, code)]
        if found:
            return _one_type_or_ask(found)
    content = {w for w in words if w not in _TYPE_FILLER}
    haystacks = {t.id: _type_tokens(t) for t in types}
    vocabulary = set().union(*haystacks.values())
    for attempt in (content, _corrected(content, vocabulary)) if content else ():
        found = [t for t in types if attempt <= haystacks[t.id]]
        if found:
            return _one_type_or_ask(found)
    raise AppointmentTypeNotFound(
        f'Sorry, I don\'t know the appointment type "{raw}". I can book '
        f"{_or_list(t.name.lower() for t in types)}.",
        choices=types,
    )


def _all_clinics(session: Session) -> list[Clinic]:
    return list(session.scalars(select(Clinic).order_by(Clinic.name, Clinic.facility, Clinic.id)))


def _all_types(session: Session) -> list[AppointmentType]:
    return list(session.scalars(select(AppointmentType).order_by(AppointmentType.name)))


# ---------------------------------------------------------------------------------------------
# Text matching


def _checked_query(text: object, ask: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(ask)
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput("That's a bit long for a name. " + ask)
    return " ".join(text.split())


def _stem(word: str) -> str:
    """Fold simple plurals so 'pediatric' and 'pediatrics', 'shot' and 'shots' agree."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _tokens(text: str) -> list[str]:
    return [_stem(w) for w in normalise(text).split()]


def _content_tokens(text: str, filler: frozenset[str]) -> set[str]:
    return {w for w in _tokens(text) if w not in filler}


def _expand(text: str, aliases: dict[str, str]) -> str:
    normal = f" {normalise(text)} "
    for phrase in sorted(aliases, key=len, reverse=True):
        normal = normal.replace(f" {phrase} ", f" {aliases[phrase]} ")
    return normal.strip()


def _clinic_query_tokens(raw: str) -> set[str]:
    return _content_tokens(_expand(raw, CLINIC_ALIASES), _CLINIC_FILLER)


def _initials(text: str) -> str:
    skip = {"of", "the", "and", "at"}
    return "".join(w[0] for w in normalise(text).split() if w not in skip)


def _clinic_tokens(clinic: ClinicView) -> set[str]:
    country = COUNTRY_NAMES.get(clinic.country, "")
    words = " ".join(
        (clinic.name, clinic.facility, clinic.city, clinic.code, clinic.service, country)
    )
    return set(_tokens(words)) | {
        _initials(clinic.facility),
        normalise(clinic.code).replace(" ", ""),
    }


def _type_tokens(appointment_type: AppointmentTypeView) -> set[str]:
    return set(_tokens(f"{appointment_type.name} {appointment_type.code}"))


def _corrected(tokens: set[str], vocabulary: set[str]) -> set[str]:
    """Replace each unknown word with its closest known word (typos such as 'pediatircs')."""
    fixed = set()
    for token in tokens:
        if token in vocabulary or len(token) < 4:
            fixed.add(token)
            continue
        close = difflib.get_close_matches(token, vocabulary, n=1, cutoff=0.8)
        fixed.add(close[0] if close else token)
    return fixed


# Words that name a kind of visit only when nothing more specific is said: "well child checkup" is
# a well-child visit, not "a well-child visit or a wellness exam?".
GENERIC_TYPE_PHRASES = frozenset({"checkup", "check up", "annual", "physical", "physical exam"})


def _synonym_codes(words: list[str]) -> list[str]:
    """Codes of the synonym phrases in `words`, longest phrases first, without overlaps; a
    generic phrase ("checkup") counts only when no specific one was said."""
    phrases = sorted(
        ((tuple(_tokens(p)), code) for p, code in APPOINTMENT_TYPE_SYNONYMS.items()),
        key=lambda item: len(item[0]),
        reverse=True,
    )
    generic = {tuple(_tokens(p)) for p in GENERIC_TYPE_PHRASES}
    taken = [False] * len(words)
    codes: list[str] = []
    specific: list[str] = []
    for phrase, code in phrases:
        n = len(phrase)
        for i in range(len(words) - n + 1):
            if tuple(words[i : i + n]) == phrase and not any(taken[i : i + n]):
                taken[i : i + n] = [True] * n
                if code not in codes:
                    codes.append(code)
                if phrase not in generic and code not in specific:
                    specific.append(code)
    return specific or codes


def _types_for_code(types: list[AppointmentTypeView], code: str) -> list[AppointmentTypeView]:
    by_code = [t for t in types if t.code == code]
    if by_code:
        return by_code
    words = set(_tokens(code))
    return [t for t in types if words <= _type_tokens(t)]


def _one_or_ask(clinics: list[ClinicView], raw: str) -> ClinicView:
    if len(clinics) == 1:
        return clinics[0]
    shown = clinics[:MAX_CHOICES_SHOWN]
    more = " or another clinic" if len(clinics) > len(shown) else ""
    raise AmbiguousClinic(
        f'I found more than one clinic for "{raw}". Do you mean '
        f"{_or_list(c.label for c in shown)}{more}?",
        choices=clinics,
    )


def _one_type_or_ask(types: list[AppointmentTypeView]) -> AppointmentTypeView:
    if len(types) == 1:
        return types[0]
    raise AmbiguousAppointmentType(
        f"Do you mean {_or_list(t.name.lower() for t in types)}?", choices=types
    )


def _closest(clinics: list[ClinicView], raw: str) -> list[ClinicView]:
    wanted = normalise(raw)

    def score(clinic: ClinicView) -> float:
        return max(
            difflib.SequenceMatcher(None, wanted, normalise(text)).ratio()
            for text in (clinic.name, clinic.facility, clinic.city)
        )

    return sorted(clinics, key=score, reverse=True)[:MAX_CHOICES_SHOWN]


def _or_list(items: Iterable[str]) -> str:
    names = list(items)
    if len(names) <= 2:
        return " or ".join(names)
    return ", ".join(names[:-1]) + f", or {names[-1]}"


def article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


# ---------------------------------------------------------------------------------------------
# Clinic-local time


@lru_cache(maxsize=128)
def zone(clinic_tz: str) -> ZoneInfo:
    return ZoneInfo(clinic_tz)


def to_local(clinic_tz: str, utc_dt: datetime) -> datetime:
    """The same instant on the clinic's wall clock (naive input is taken as UTC)."""
    return as_utc(utc_dt).astimezone(zone(clinic_tz))


def local_today(clinic_tz: str, now: datetime) -> date:
    return to_local(clinic_tz, now).date()


def local_day_start(clinic_tz: str, day: date) -> datetime:
    """The UTC instant the clinic's calendar day begins (DST-safe)."""
    return datetime.combine(day, time(0), tzinfo=zone(clinic_tz)).astimezone(timezone.utc)


def local_days_to_utc(clinic_tz: str, first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC covering clinic-local days `first` through `last` inclusive."""
    return local_day_start(clinic_tz, first), local_day_start(clinic_tz, last + timedelta(days=1))


def local_at(clinic_tz: str, day: date, at: time) -> datetime:
    """The UTC instant of a clinic-local wall-clock time on `day`."""
    return datetime.combine(day, at, tzinfo=zone(clinic_tz)).astimezone(timezone.utc)


def time_of_day(local_dt: datetime) -> str:
    """'morning' before noon, 'afternoon' until 5 PM, 'evening' after: on the clinic's clock."""
    moment = local_dt.time()
    if moment < AFTERNOON_STARTS:
        return "morning"
    return "afternoon" if moment < EVENING_STARTS else "evening"


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


def format_local(clinic_tz: str, utc_dt: datetime) -> str:
    """'Tuesday, December 1 at 9:30 AM CET': how every appointment time is shown or spoken."""
    local = to_local(clinic_tz, utc_dt)
    return f"{format_date(local.date())} at {format_clock(local)} {zone_abbreviation(local)}"
