"""Clinics, appointment types, booking policies, and clinic-local time.

People name clinics and visits the way they speak ("the peds clinic at Landstuhl", "a sick call"),
so matching is forgiving about case, punctuation, plurals and small typos, but it never guesses
between two real candidates: an ambiguous name comes back as a question listing the choices.

Every time a patient sees or hears is shown in the clinic's own time zone, because that is where
they will be standing; the helpers at the bottom of this module are the one place that happens
(`to_local`: the views carry clinic-local datetimes, and `wording.formats` words them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_core.clock import as_utc
from portal_core.database import Database
from portal_core.errors import InvalidInput, NotFound, WithChoices
from portal_core.ids import get_by_id
from portal_core.models import AppointmentType, BookingPolicy, Clinic
from understanding import clinics as clinic_words

MAX_QUERY_CHARS = 200
MAX_CHOICES_SHOWN = 5

# No policy row means nobody decided online booking is fine for that visit at that clinic, so a
# patient may only ask the clinic to schedule it; their team can still say yes.
DEFAULT_BOOKING_MODE = "request_only"

# Local clock hours that start each part of the day; "evening" runs to midnight.
AFTERNOON_STARTS = time(12, 0)
EVENING_STARTS = time(17, 0)


class ClinicNotFound(WithChoices, NotFound):
    """No clinic matches; `choices` holds a few the person might have meant."""

    default_key = "clinics.not_found"
    choices: tuple[ClinicView, ...]


class AmbiguousClinic(WithChoices, InvalidInput):
    """Several clinics match; the bot should ask which one, offering `choices`."""

    default_key = "clinics.which"
    choices: tuple[ClinicView, ...]


class AppointmentTypeNotFound(WithChoices, NotFound):
    default_key = "clinics.type_not_found"
    choices: tuple[AppointmentTypeView, ...]


class AmbiguousAppointmentType(WithChoices, InvalidInput):
    default_key = "clinics.which_type"
    choices: tuple[AppointmentTypeView, ...]


class AppointmentTypeNotOffered(NotFound):
    default_key = "clinics.type_not_offered"


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
    return get_by_id(session, Clinic, clinic_id, ClinicNotFound)


def load_appointment_type(session: Session, type_id: int) -> AppointmentType:
    return get_by_id(session, AppointmentType, type_id, AppointmentTypeNotFound)


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
            key="clinics.type_not_offered_at",
            data={"clinic": clinic.name, "kind": appointment_type.name, "phone": clinic.phone},
        )
    return policy.mode


def match_clinic(session: Session, name_or_code: str) -> ClinicView:
    raw = _checked_query(
        name_or_code,
        missing=InvalidInput(key="clinics.ask_clinic"),
        too_long=InvalidInput(key="clinics.clinic_too_long"),
    )
    clinics = [clinic_view(c) for c in _all_clinics(session)]
    if not clinics:
        raise ClinicNotFound(key="clinics.none_set_up")
    found = clinic_words.clinic_candidates(raw, clinics)
    if found:
        return _one_or_ask(found, raw)
    nearest = clinic_words.closest_clinics(clinics, raw, MAX_CHOICES_SHOWN)
    raise ClinicNotFound(
        key="clinics.no_such_clinic",
        data={"name": raw, "nearest": [c.label for c in nearest]},
        choices=nearest,
    )


def match_appointment_type(session: Session, text: str) -> AppointmentTypeView:
    raw = _checked_query(
        text,
        missing=InvalidInput(key="clinics.ask_type"),
        too_long=InvalidInput(key="clinics.type_too_long"),
    )
    types = [appointment_type_view(t) for t in _all_types(session)]
    if not types:
        raise AppointmentTypeNotFound(key="clinics.no_types_set_up")
    found = clinic_words.type_candidates(raw, types)
    if found:
        return _one_type_or_ask(found)
    raise AppointmentTypeNotFound(
        key="clinics.no_such_type",
        data={"name": raw, "types": [t.name for t in types]},
        choices=types,
    )


def _all_clinics(session: Session) -> list[Clinic]:
    return list(session.scalars(select(Clinic).order_by(Clinic.name, Clinic.facility, Clinic.id)))


def _all_types(session: Session) -> list[AppointmentType]:
    return list(session.scalars(select(AppointmentType).order_by(AppointmentType.name)))


# ---------------------------------------------------------------------------------------------
# Asking (which words name which clinic or visit: `understanding.clinics`)


def _checked_query(text: object, *, missing: InvalidInput, too_long: InvalidInput) -> str:
    """The query single-spaced; otherwise the error that asks for it again."""
    if not isinstance(text, str) or not text.strip():
        raise missing
    if len(text) > MAX_QUERY_CHARS:
        raise too_long
    return " ".join(text.split())


def _one_or_ask(clinics: list[ClinicView], raw: str) -> ClinicView:
    if len(clinics) == 1:
        return clinics[0]
    shown = clinics[:MAX_CHOICES_SHOWN]
    raise AmbiguousClinic(
        key="clinics.which_of_more" if len(clinics) > len(shown) else "clinics.which_of",
        data={"name": raw, "shown": [c.label for c in shown]},
        choices=clinics,
    )


def _one_type_or_ask(types: list[AppointmentTypeView]) -> AppointmentTypeView:
    if len(types) == 1:
        return types[0]
    raise AmbiguousAppointmentType(
        key="clinics.which_type_of", data={"types": [t.name for t in types]}, choices=types
    )


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
