"""Open slots, booking, cancelling, rescheduling, and requests for the clinic to schedule.

No double booking is the database's job: a partial unique index allows one active ('booked')
appointment per slot, so of two concurrent bookings exactly one commits whatever the checks
before it saw. The checks here exist to give a clear answer in the ordinary case.

A reason for the visit longer than MAX_REASON_CHARS is rejected, not truncated: cutting what a
patient wrote about their symptoms could drop the part that matters, so they are asked to
shorten it (and can tell their care team the rest at the visit).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from portal_core import access, audit, clinics, free_text
from portal_core.actors import Actor
from portal_core.business_days import add_business_days
from portal_core.clinics import (
    load_appointment_type,
    load_clinic,
    local_at,
    local_days_to_utc,
    local_today,
    resolve_booking_mode,
    to_local,
)
from portal_core.clock import now_or as _now
from portal_core.config import Settings, load_settings
from portal_core.database import Database
from portal_core.errors import (
    AccessDenied,
    Conflict,
    InvalidInput,
    NotFound,
    PortalError,
    PremiumRequired,
    SlotUnavailable,
)
from portal_core.ids import get_by_id, valid_id
from portal_core.models import (
    Appointment,
    AppointmentRequest,
    AppointmentType,
    Clinic,
    Patient,
    Provider,
    Slot,
)
from portal_core.proxy import Capability

# A search with no dates looks this far ahead; nothing is offered or searched beyond the horizon.
DEFAULT_WINDOW_DAYS = 28
MAX_AHEAD_DAYS = 180
TIMES_OF_DAY = ("morning", "afternoon", "evening")
# Nobody can get to the clinic for a slot that starts in ten minutes; the clinic's front desk
# handles anything sooner.
BOOKING_LEAD_TIME = timedelta(hours=1)
MAX_REASON_CHARS = 500
MAX_SLOTS_OFFERED = 20
MAX_PREFERRED_WINDOWS = 5
# Appointments never run longer than this; it bounds the search for overlapping visits.
MAX_APPOINTMENT_LENGTH = timedelta(hours=12)
# A request's contact-by date means by close of business on that day, clinic time.
CLOSE_OF_BUSINESS = time(17, 0)

ACTIVE = "booked"
CANCELLED = "cancelled"
_SEARCH_BATCH = 200
_ACTIVE_SLOT_INDEX = "uq_appointments_active_slot"


class RequestOnly(PortalError):
    """The clinic schedules this type itself: offer to file a request instead of booking."""

    default_key = "scheduling.request_only"

    def __init__(
        self, *, clinic_id: int | None = None, type_id: int | None = None, **keyed: Any
    ) -> None:
        super().__init__(**keyed)
        self.clinic_id = clinic_id
        self.type_id = type_id


class SlotNotFound(NotFound):
    default_key = "scheduling.slot_not_found"


class SlotTooSoon(SlotUnavailable):
    default_key = "scheduling.slot_too_soon"


class OverlappingAppointment(Conflict):
    default_key = "scheduling.overlap"


class RequestAlreadyPending(Conflict):
    """A second request for the same visit would only make the clinic call twice."""

    default_key = "scheduling.request_pending"


class AppointmentNotFound(NotFound):
    """Also raised for someone else's appointment, so its existence is never revealed."""

    default_key = "scheduling.appointment_not_found"


class AppointmentNotChangeable(PortalError):
    default_key = "scheduling.not_changeable"


class AppointmentAlreadyCancelled(AppointmentNotChangeable):
    default_key = "scheduling.already_cancelled"


class AppointmentAlreadyPast(AppointmentNotChangeable):
    default_key = "scheduling.already_past"


class SameSlot(InvalidInput):
    default_key = "scheduling.same_slot"


class DifferentAppointmentType(InvalidInput):
    default_key = "scheduling.different_type"


class ClinicNeeded(InvalidInput):
    default_key = "scheduling.clinic_needed"


class ProviderNotFound(NotFound):
    default_key = "scheduling.provider_not_found"


class InvalidWindow(InvalidInput):
    default_key = "scheduling.window_unusable"


class ReasonTooLong(InvalidInput):
    default_key = "scheduling.reason_too_long"


@dataclass(frozen=True, kw_only=True)
class VisitView:
    """What a slot says about a visit (where, with whom, what, when): the same for a free slot
    and for an appointment booked into it."""

    clinic_id: int
    clinic_name: str
    provider_name: str
    appointment_type_id: int
    type_name: str
    starts_at: datetime
    duration_minutes: int
    time_zone: str
    local_start: datetime  # starts_at on the clinic's clock (aware): what the patient is told


@dataclass(frozen=True, kw_only=True)
class SlotView(VisitView):
    id: int
    provider_id: int


@dataclass(frozen=True, kw_only=True)
class AppointmentView(VisitView):
    id: int
    patient_id: int
    patient_first_name: str
    status: str
    slot_id: int
    clinic_phone: str
    reason: str | None
    questionnaire: str | None
    questionnaire_status: str | None
    booked_by_id: int
    channel: str
    cancelled_at: datetime | None


@dataclass(frozen=True)
class PreferredWindow:
    """Clinic-local dates, inclusive, and optionally a part of the day."""

    start: date
    end: date
    time_of_day: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "time_of_day": self.time_of_day,
        }


@dataclass(frozen=True)
class AppointmentRequestView:
    id: int
    patient_id: int
    clinic_id: int
    clinic_name: str
    clinic_phone: str
    appointment_type_id: int
    type_name: str
    preferred_windows: tuple[PreferredWindow, ...]
    reason: str | None
    status: str
    contact_by: date


WindowInput = Mapping[str, object] | Sequence[object]


# ---------------------------------------------------------------------------------------------
# Services


def find_open_slots(
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    clinic_id: int | None = None,
    type_id: int,
    provider_id: int | None = None,
    window_start: date | None = None,
    window_end: date | None = None,
    time_of_day: str | None = None,
    limit: int = 3,
    spread_days: bool = False,
    now: datetime | None = None,
) -> list[SlotView]:
    """The earliest bookable slots, judged on the clinic's clock; the home clinic by default.

    Raises RequestOnly up front when the clinic schedules this type itself, so the bot never
    offers times it cannot book. With `spread_days`, the earliest slot of each day comes first
    (then the next earliest), so "next week" is answered with a choice of days rather than three
    times on Monday morning; the times offered are still the earliest of their days.
    """
    now = _now(now)
    limit = _checked_limit(limit)
    part = _checked_time_of_day(time_of_day)
    with db.transaction() as session:
        patient = access.require(session, actor, patient_id, Capability.APPOINTMENTS, now=now)
        appointment_type = load_appointment_type(session, type_id)
        provider = _load_provider(session, provider_id) if provider_id is not None else None
        clinic = _search_clinic(session, patient, clinic_id, provider)
        _require_direct(session, clinic, appointment_type)
        first, last = _checked_window(clinic.time_zone, window_start, window_end, now)
        start, end = local_days_to_utc(clinic.time_zone, first, last)
        start = max(start, now + BOOKING_LEAD_TIME)
        busy = _busy_periods(session, patient.id, start, end)
        candidates = _open_slots(
            session, clinic.id, appointment_type.id, provider.id if provider else None, start, end
        )
        suitable = (s for s in candidates if _suits(s, clinic.time_zone, part, busy))
        if spread_days:
            chosen = _spread_over_days(suitable, clinic.time_zone, limit)
        else:
            chosen = list(islice(suitable, limit))
        found = [slot_view(s) for s in chosen]
        audit.record(
            session,
            actor,
            subject_id=patient.id,
            action="search",
            resource="open_slots",
            detail=f"clinic {clinic.id}, type {appointment_type.id}, {len(found)} offered",
            now=now,
        )
        return found


def _spread_over_days(slots: Iterator[Slot], clinic_tz: str, limit: int) -> list[Slot]:
    """The first slot of each of the first `limit` days, topped up with the earliest others."""
    firsts: list[Slot] = []
    others: list[Slot] = []
    seen: set[date] = set()
    for slot in islice(slots, _SEARCH_BATCH):
        day = to_local(clinic_tz, slot.starts_at).date()
        if day not in seen and len(firsts) < limit:
            seen.add(day)
            firsts.append(slot)
        else:
            others.append(slot)
        if len(firsts) == limit:
            break
    picked = firsts + others[: limit - len(firsts)]
    return sorted(picked, key=lambda s: (s.starts_at, s.id))


def offered_slots(db: Database, slot_ids: Sequence[int]) -> list[SlotView]:
    """The slots once offered, in the order given (gone ones left out): clinic schedule data,
    no patient's, so nothing to check or audit. The bot words its choices and confirmations from
    these instead of searching again."""
    checked = (valid_id(int(i)) if str(i).isdigit() else None for i in slot_ids)
    wanted = [i for i in checked if i is not None][:MAX_SLOTS_OFFERED]
    if not wanted:
        return []
    with db.transaction() as session:
        rows = {
            s.id: slot_view(s)
            for s in session.scalars(
                select(Slot).options(joinedload(Slot.provider)).where(Slot.id.in_(wanted))
            )
        }
    return [rows[i] for i in wanted if i in rows]


def book(
    db: Database,
    actor: Actor,
    patient_id: int,
    slot_id: int,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> AppointmentView:
    """Book a slot; repeating the same booking returns the existing appointment."""
    now = _now(now)
    reason = clean_reason(reason)
    with db.transaction() as session:
        access.require(session, actor, patient_id, Capability.APPOINTMENTS, now=now)
        _lock_patient(session, patient_id)
        slot = _load_slot(session, slot_id)
        _require_direct(session, slot.clinic, slot.appointment_type)
        _require_bookable(slot, now)
        holder = session.scalar(
            select(Appointment).where(Appointment.slot_id == slot.id, Appointment.status == ACTIVE)
        )
        if holder is not None and holder.patient_id == patient_id:
            _audit(session, actor, holder, "book", now, "repeat request; already booked")
            return appointment_view(holder)
        if holder is not None:
            raise SlotUnavailable()
        _require_no_overlap(session, patient_id, slot)
        appointment = _insert_appointment(session, actor, patient_id, slot, reason, now)
        _audit(session, actor, appointment, "book", now)
        return appointment_view(appointment)


def cancel(
    db: Database, actor: Actor, appointment_id: int, *, now: datetime | None = None
) -> AppointmentView:
    now = _now(now)
    with db.transaction() as session:
        appointment = _load_own_appointment(session, actor, appointment_id, now)
        _require_changeable(appointment, now)
        appointment.status = CANCELLED
        appointment.cancelled_at = now
        session.flush()
        _audit(session, actor, appointment, "cancel", now)
        return appointment_view(appointment)


def reschedule(
    db: Database,
    actor: Actor,
    appointment_id: int,
    new_slot_id: int,
    *,
    now: datetime | None = None,
) -> AppointmentView:
    """Cancel and book in one transaction: if the new slot is gone, the old booking stands."""
    now = _now(now)
    with db.transaction() as session:
        old = _load_own_appointment(session, actor, appointment_id, now)
        _require_changeable(old, now)
        _lock_patient(session, old.patient_id)
        slot = _load_slot(session, new_slot_id)
        if slot.id == old.slot_id:
            raise SameSlot()
        if slot.appointment_type_id != old.slot.appointment_type_id:
            raise DifferentAppointmentType()
        _require_direct(session, slot.clinic, slot.appointment_type)
        _require_bookable(slot, now)
        old.status = CANCELLED
        old.cancelled_at = now
        session.flush()
        _require_no_overlap(session, old.patient_id, slot)
        kept = (
            old.questionnaire_status
            if old.questionnaire == slot.appointment_type.questionnaire
            else None
        )
        new = _insert_appointment(
            session, actor, old.patient_id, slot, old.reason, now, questionnaire_status=kept
        )
        _audit(session, actor, old, "cancel", now, f"rescheduled to appointment {new.id}")
        _audit(session, actor, new, "reschedule", now, f"from appointment {old.id}")
        return appointment_view(new)


def upcoming(
    db: Database, actor: Actor, patient_id: int, *, now: datetime | None = None
) -> list[AppointmentView]:
    """Booked appointments that have not ended yet, soonest first."""
    now = _now(now)
    with db.transaction() as session:
        access.require(session, actor, patient_id, Capability.APPOINTMENTS, now=now)
        rows = session.scalars(
            select(Appointment)
            .join(Appointment.slot)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.status == ACTIVE,
                Slot.starts_at >= now - MAX_APPOINTMENT_LENGTH,
            )
            .order_by(Slot.starts_at, Appointment.id)
        )
        views = [appointment_view(a) for a in rows if _slot_end(a.slot) > now]
        audit.record(
            session,
            actor,
            subject_id=patient_id,
            action="read",
            resource="appointments",
            detail=f"{len(views)} upcoming",
            now=now,
        )
        return views


def request_appointment(
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    clinic_id: int,
    type_id: int,
    preferred_windows: Sequence[WindowInput | PreferredWindow],
    reason: str | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> AppointmentRequestView:
    """Ask the clinic's scheduling team to call, with the days that suit; they reply by a date.

    Each window is a mapping {"start", "end", "time_of_day"} or a tuple (start[, end[, part]])
    of clinic-local dates (date objects or ISO strings); an empty list means any time.
    """
    now = _now(now)
    settings = settings or load_settings()
    reason = clean_reason(reason)
    with db.transaction() as session:
        access.require(session, actor, patient_id, Capability.APPOINTMENTS, now=now)
        clinic = load_clinic(session, clinic_id)
        appointment_type = load_appointment_type(session, type_id)
        resolve_booking_mode(session, clinic, appointment_type)  # raises if not offered at all
        windows = _checked_windows(preferred_windows, clinic.time_zone, now)
        _lock_patient(session, patient_id)
        _require_no_pending_request(session, patient_id, clinic, appointment_type)
        contact_day = add_business_days(
            local_today(clinic.time_zone, now), settings.appointment_request_business_days
        )
        request = AppointmentRequest(
            patient_id=patient_id,
            clinic_id=clinic.id,
            appointment_type_id=appointment_type.id,
            preferred_windows=json.dumps([w.as_json() for w in windows]),
            reason=reason,
            status="pending",
            requested_by_id=actor.patient_id,
            channel=actor.channel,
            created_at=now,
            contact_by=local_at(clinic.time_zone, contact_day, CLOSE_OF_BUSINESS),
        )
        session.add(request)
        session.flush()
        audit.record(
            session,
            actor,
            subject_id=patient_id,
            action="request",
            resource="appointment_request",
            resource_id=request.id,
            now=now,
        )
        return _request_view(request, clinic, appointment_type, windows, contact_day)


# ---------------------------------------------------------------------------------------------
# Views


def _visit(slot: Slot) -> dict[str, Any]:
    """`VisitView`'s fields, read from `slot`."""
    clinic = slot.clinic
    return {
        "clinic_id": clinic.id,
        "clinic_name": clinic.name,
        "provider_name": slot.provider.display_name,
        "appointment_type_id": slot.appointment_type_id,
        "type_name": slot.appointment_type.name,
        "starts_at": slot.starts_at,
        "duration_minutes": slot.duration_minutes,
        "time_zone": clinic.time_zone,
        "local_start": to_local(clinic.time_zone, slot.starts_at),
    }


def slot_view(slot: Slot) -> SlotView:
    return SlotView(id=slot.id, provider_id=slot.provider_id, **_visit(slot))


def appointment_view(appointment: Appointment) -> AppointmentView:
    slot = appointment.slot
    return AppointmentView(
        id=appointment.id,
        patient_id=appointment.patient_id,
        patient_first_name=appointment.patient.first_name,
        status=appointment.status,
        slot_id=slot.id,
        clinic_phone=slot.clinic.phone,
        **_visit(slot),
        reason=appointment.reason,
        questionnaire=appointment.questionnaire,
        questionnaire_status=appointment.questionnaire_status,
        booked_by_id=appointment.booked_by_id,
        channel=appointment.channel,
        cancelled_at=appointment.cancelled_at,
    )


def _request_view(
    request: AppointmentRequest,
    clinic: Clinic,
    appointment_type: AppointmentType,
    windows: list[PreferredWindow],
    contact_day: date,
) -> AppointmentRequestView:
    return AppointmentRequestView(
        id=request.id,
        patient_id=request.patient_id,
        clinic_id=clinic.id,
        clinic_name=clinic.name,
        clinic_phone=clinic.phone,
        appointment_type_id=appointment_type.id,
        type_name=appointment_type.name,
        preferred_windows=tuple(windows),
        reason=request.reason,
        status=request.status,
        contact_by=contact_day,
    )


# ---------------------------------------------------------------------------------------------
# Rules


def clean_reason(reason: object) -> str | None:
    """Single-spaced text without control characters (`free_text.clean`) of at most
    MAX_REASON_CHARS; blank means no reason."""
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise InvalidInput(key="scheduling.reason_unreadable")
    if len(reason) > MAX_REASON_CHARS * 4:
        raise ReasonTooLong()
    text = " ".join(free_text.clean(reason).split())
    if len(text) > MAX_REASON_CHARS:
        raise ReasonTooLong()
    return text or None


def _checked_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SLOTS_OFFERED:
        raise InvalidInput(key="scheduling.limit", data={"most": MAX_SLOTS_OFFERED})
    return limit


def _checked_time_of_day(value: object) -> str | None:
    if value is None:
        return None
    part = value.strip().lower() if isinstance(value, str) else None
    if part not in TIMES_OF_DAY:
        raise InvalidInput(key="scheduling.time_of_day")
    return part


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        raise InvalidWindow(key="scheduling.days_not_times")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidWindow(key="scheduling.date_unreadable")


def _checked_window(clinic_tz: str, start: object, end: object, now: datetime) -> tuple[date, date]:
    """Clinic-local first and last day to search: not in the past, at most six months ahead."""
    today = local_today(clinic_tz, now)
    horizon = today + timedelta(days=MAX_AHEAD_DAYS)
    first = _as_date(start) if start is not None else today
    if end is not None:
        last = _as_date(end)
    else:
        last = min(max(first, today) + timedelta(days=DEFAULT_WINDOW_DAYS), horizon)
    if first > horizon or last > horizon:
        raise InvalidWindow(key="scheduling.too_far_ahead")
    if last < first:
        raise InvalidWindow(key="scheduling.range_reversed")
    if last < today:
        raise InvalidWindow(key="scheduling.dates_passed")
    return max(first, today), last


def _checked_windows(windows: object, clinic_tz: str, now: datetime) -> list[PreferredWindow]:
    if windows is None:
        return []
    if isinstance(windows, (str, bytes, Mapping)) or not isinstance(windows, Sequence):
        raise InvalidWindow()
    if len(windows) > MAX_PREFERRED_WINDOWS:
        raise InvalidWindow(key="scheduling.too_many_windows", data={"most": MAX_PREFERRED_WINDOWS})
    checked = []
    for window in windows:
        start, end, part = _window_parts(window)
        first, last = _checked_window(clinic_tz, start, end if end is not None else start, now)
        checked.append(PreferredWindow(first, last, _checked_time_of_day(part)))
    return checked


def _window_parts(window: object) -> tuple[object, object, object]:
    if isinstance(window, Mapping):
        unknown = set(window) - {"start", "end", "time_of_day"}
        if unknown or "start" not in window:
            raise InvalidWindow()
        return window["start"], window.get("end"), window.get("time_of_day")
    if isinstance(window, (tuple, list)) and 1 <= len(window) <= 3:
        padded = [*window, None, None]
        return padded[0], padded[1], padded[2]
    if all(hasattr(window, name) for name in ("start", "end", "time_of_day")):
        return window.start, window.end, window.time_of_day  # type: ignore[attr-defined]
    raise InvalidWindow()


def _search_clinic(
    session: Session, patient: Patient, clinic_id: int | None, provider: Provider | None
) -> Clinic:
    if clinic_id is not None:
        return load_clinic(session, clinic_id)
    if provider is not None:
        return provider.clinic
    if patient.home_clinic_id is not None:
        return load_clinic(session, patient.home_clinic_id)
    if patient.pcm is not None:
        return patient.pcm.clinic
    raise ClinicNeeded()


def _load_provider(session: Session, provider_id: int) -> Provider:
    return get_by_id(session, Provider, provider_id, ProviderNotFound)


def _load_slot(session: Session, slot_id: int) -> Slot:
    return get_by_id(session, Slot, slot_id, SlotNotFound)


def _lock_patient(session: Session, patient_id: int) -> None:
    """Serialise one patient's bookings (PostgreSQL), so the overlap check cannot race.

    FOR NO KEY UPDATE still lets other transactions insert rows that reference the patient.
    """
    session.execute(
        select(Patient.id).where(Patient.id == patient_id).with_for_update(key_share=True)
    )


def _load_own_appointment(
    session: Session, actor: Actor, appointment_id: int, now: datetime
) -> Appointment:
    """The appointment if the actor may manage it; otherwise the same 'not found' as a bad id."""
    access.require(session, actor, actor.patient_id, Capability.APPOINTMENTS, now=now)
    key = valid_id(appointment_id)
    appointment = (
        session.scalar(select(Appointment).where(Appointment.id == key).with_for_update())
        if key
        else None
    )
    if appointment is None:
        raise AppointmentNotFound()
    if appointment.patient_id != actor.patient_id:
        try:
            access.require(session, actor, appointment.patient_id, Capability.APPOINTMENTS, now=now)
        except PremiumRequired:
            raise
        except AccessDenied:
            raise AppointmentNotFound() from None
    return appointment


def _require_direct(session: Session, clinic: Clinic, appointment_type: AppointmentType) -> None:
    if resolve_booking_mode(session, clinic, appointment_type) != "direct":
        raise RequestOnly(
            key="scheduling.request_only_at",
            data={"clinic": clinic.name, "kind": appointment_type.name},
            clinic_id=clinic.id,
            type_id=appointment_type.id,
        )


def _require_no_pending_request(
    session: Session, patient_id: int, clinic: Clinic, appointment_type: AppointmentType
) -> None:
    pending = session.scalars(
        select(AppointmentRequest)
        .where(
            AppointmentRequest.patient_id == patient_id,
            AppointmentRequest.clinic_id == clinic.id,
            AppointmentRequest.appointment_type_id == appointment_type.id,
            AppointmentRequest.status == "pending",
        )
        .order_by(AppointmentRequest.created_at)
    ).first()
    if pending is None:
        return
    raise RequestAlreadyPending(
        key="scheduling.request_pending_since",
        data={
            "kind": appointment_type.name,
            "clinic": clinic.name,
            "sent": local_today(clinic.time_zone, pending.created_at),
            "contact_by": local_today(clinic.time_zone, pending.contact_by),
            "phone": clinic.phone,
        },
    )


def _require_bookable(slot: Slot, now: datetime) -> None:
    if slot.starts_at < now + BOOKING_LEAD_TIME:
        raise SlotTooSoon()


def _require_changeable(appointment: Appointment, now: datetime) -> None:
    if appointment.status == CANCELLED:
        raise AppointmentAlreadyCancelled()
    if appointment.status != ACTIVE or appointment.slot.starts_at <= now:
        raise AppointmentAlreadyPast()


def _require_no_overlap(session: Session, patient_id: int, slot: Slot) -> None:
    start, end = slot.starts_at, _slot_end(slot)
    for other in _active_appointments_between(session, patient_id, start, end):
        if _overlap(other.slot.starts_at, _slot_end(other.slot), start, end):
            clinic = other.slot.clinic
            raise OverlappingAppointment(
                key="scheduling.overlap_at",
                data={
                    "clinic": clinic.name,
                    "at": to_local(clinic.time_zone, other.slot.starts_at),
                },
            )


def _busy_periods(
    session: Session, patient_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    return [
        (a.slot.starts_at, _slot_end(a.slot))
        for a in _active_appointments_between(session, patient_id, start, end)
    ]


def _active_appointments_between(
    session: Session, patient_id: int, start: datetime, end: datetime
) -> list[Appointment]:
    return list(
        session.scalars(
            select(Appointment)
            .join(Appointment.slot)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.status == ACTIVE,
                Slot.starts_at < end,
                Slot.starts_at > start - MAX_APPOINTMENT_LENGTH,
            )
        )
    )


def _open_slots(
    session: Session,
    clinic_id: int,
    type_id: int,
    provider_id: int | None,
    start: datetime,
    end: datetime,
) -> Iterator[Slot]:
    """Unbooked slots in [start, end), earliest first, fetched a page at a time."""
    taken = (
        select(Appointment.id)
        .where(Appointment.slot_id == Slot.id, Appointment.status == ACTIVE)
        .exists()
    )
    query = (
        select(Slot)
        .options(joinedload(Slot.provider))
        .where(
            Slot.clinic_id == clinic_id,
            Slot.appointment_type_id == type_id,
            Slot.starts_at >= start,
            Slot.starts_at < end,
            ~taken,
        )
        .order_by(Slot.starts_at, Slot.id)
        .limit(_SEARCH_BATCH)
    )
    if provider_id is not None:
        query = query.where(Slot.provider_id == provider_id)
    page = query
    while True:
        rows = list(session.scalars(page))
        yield from rows
        if len(rows) < _SEARCH_BATCH:
            return
        last = rows[-1]
        page = query.where(
            or_(
                Slot.starts_at > last.starts_at,
                and_(Slot.starts_at == last.starts_at, Slot.id > last.id),
            )
        )


def _suits(
    slot: Slot, clinic_tz: str, part: str | None, busy: list[tuple[datetime, datetime]]
) -> bool:
    """In the wanted part of the clinic's day, and clear of the patient's own appointments."""
    if part and clinics.time_of_day(to_local(clinic_tz, slot.starts_at)) != part:
        return False
    return not any(_overlap(start, end, slot.starts_at, _slot_end(slot)) for start, end in busy)


def _insert_appointment(
    session: Session,
    actor: Actor,
    patient_id: int,
    slot: Slot,
    reason: str | None,
    now: datetime,
    *,
    questionnaire_status: str | None = None,
) -> Appointment:
    """Insert and flush now, so the unique index speaks before anything else is written."""
    questionnaire = slot.appointment_type.questionnaire
    appointment = Appointment(
        patient_id=patient_id,
        slot_id=slot.id,
        status=ACTIVE,
        reason=reason,
        booked_by_id=actor.patient_id,
        channel=actor.channel,
        created_at=now,
        questionnaire=questionnaire,
        questionnaire_status=(questionnaire_status or "pending") if questionnaire else None,
    )
    session.add(appointment)
    try:
        session.flush()
    except IntegrityError as exc:
        if _is_slot_taken(exc):
            raise SlotUnavailable() from None
        raise
    return appointment


def _is_slot_taken(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return _ACTIVE_SLOT_INDEX in text or "appointments.slot_id" in text


def _audit(
    session: Session,
    actor: Actor,
    appointment: Appointment,
    action: str,
    now: datetime,
    detail: str | None = None,
) -> None:
    audit.record(
        session,
        actor,
        subject_id=appointment.patient_id,
        action=action,
        resource="appointment",
        resource_id=appointment.id,
        detail=detail,
        now=now,
    )


def _slot_end(slot: Slot) -> datetime:
    return slot.starts_at + timedelta(minutes=slot.duration_minutes)


def _overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end
