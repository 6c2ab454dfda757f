"""Medications, refills, renewals and pickup pharmacies.

The refill rules live in `refill_eligibility`, a pure function of the prescription, the open
refill (if any) and the patient's local date, so the bot, the tests and any future channel get
the same answer. Service functions wrap it in one transaction each, behind the access gate, with
an audit entry for every disclosure or change.

A refill consumes one of the remaining refills when it is requested (so two requests can't spend
the same refill) and gives it back if it is cancelled; the prescription's fill date moves when
the medication is picked up, which is when the new supply starts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from difflib import get_close_matches
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from portal_core import access, audit, free_text, safety
from portal_core.actors import Actor
from portal_core.clock import now_or as _now
from portal_core.config import Settings, load_settings
from portal_core.database import Database
from portal_core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PortalError,
    RefillNotAllowed,
    RenewalNotAllowed,
    WithChoices,
)
from portal_core.ids import require_id as _require_id
from portal_core.messaging import EmergencyInMessage
from portal_core.models import (
    Clinic,
    Patient,
    Pharmacy,
    Prescription,
    RefillRequest,
    RefillStatusEvent,
    RenewalRequest,
)
from portal_core.proxy import Capability
from understanding import medications
from understanding.text import normalise

OPEN_REFILL_STATUSES = ("requested", "in_progress", "ready")
REFILL_TRANSITIONS: dict[str, frozenset[str]] = {
    "requested": frozenset({"in_progress", "cancelled"}),
    "in_progress": frozenset({"ready", "cancelled"}),
    "ready": frozenset({"picked_up", "cancelled"}),
    "picked_up": frozenset(),
    "cancelled": frozenset(),
}
REFILL_STATUS_TEXT = {
    "requested": "requested",
    "in_progress": "being filled",
    "ready": "ready for pickup",
    "picked_up": "picked up",
    "cancelled": "cancelled",
}
MAX_QUERY_CHARS = 200
MAX_NOTE_CHARS = 2000


# ----------------------------------------------------------------------------------------- errors


class PrescriptionNotFound(NotFound):
    default_message = "Sorry, I couldn't find that prescription on the record."


class PharmacyNotFound(NotFound):
    default_message = "Sorry, I couldn't find that pharmacy. Which pharmacy would you like?"


class RefillNotFound(NotFound):
    default_message = "Sorry, I couldn't find that refill request."


class MedicationNotFound(NotFound):
    default_message = "Sorry, I couldn't find that medication on the record."


class AmbiguousMedication(WithChoices, InvalidInput):
    """More than one prescription fits; `choices` lets the bot ask which one was meant."""

    default_message = "Which medication do you mean?"
    choices: tuple[MedicationView, ...]


class AmbiguousPharmacy(WithChoices, InvalidInput):
    default_message = "Which pharmacy do you mean?"
    choices: tuple[PharmacyView, ...]


class NoPickupPharmacy(InvalidInput):
    default_message = (
        "Which pharmacy would you like to pick it up from? There's no pharmacy on file for "
        "this prescription yet."
    )


class RefillRefused(RefillNotAllowed):
    """A refusal by the refill rules, carrying the full check (reason code, earliest date)."""

    def __init__(self, check: RefillCheck) -> None:
        super().__init__(check.reason, renewal_possible=check.renewal_possible)
        self.check = check


class IllegalRefillTransition(Conflict):
    default_message = "That refill can't move to that status from where it is now."


class DuplicateRenewal(Conflict):
    default_message = "A renewal request for that prescription is already waiting."


# ------------------------------------------------------------------------------------------ views


@dataclass(frozen=True)
class PharmacyView:
    id: int
    name: str
    phone: str
    time_zone: str
    military: bool

    def local(self, moment: datetime) -> datetime:
        """A UTC moment on the pharmacy's wall clock."""
        return moment.astimezone(ZoneInfo(self.time_zone))


@dataclass(frozen=True)
class MedicationView:
    prescription_id: int
    name: str
    strength: str
    instructions: str
    prescriber: str
    refills_remaining: int
    days_supply: int
    expires_on: date
    expired: bool
    last_filled_on: date | None
    controlled: bool
    active: bool
    pickup_pharmacy: PharmacyView | None
    latest_refill_status: str | None

    @property
    def label(self) -> str:
        return f"{self.name} {self.strength}".strip()


@dataclass(frozen=True)
class RefillCheck:
    """The refill rules' answer; `reason` is fit to show the patient whatever the outcome."""

    prescription_id: int
    medication: str
    allowed: bool
    code: str  # ok | inactive | open_refill | expired | no_refills | too_soon
    reason: str
    renewal_possible: bool = False
    earliest_refill_on: date | None = None
    open_refill_status: str | None = None


@dataclass(frozen=True)
class StatusEventView:
    status: str
    status_text: str
    at: datetime  # UTC
    local_at: datetime  # the pharmacy's wall clock


@dataclass(frozen=True)
class RefillView:
    refill_id: int
    prescription_id: int
    medication: str
    status: str
    status_text: str
    requested_at: datetime
    updated_at: datetime
    pharmacy: PharmacyView
    history: tuple[StatusEventView, ...]
    refills_remaining: int

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REFILL_STATUSES


@dataclass(frozen=True)
class RenewalView:
    renewal_id: int
    prescription_id: int
    medication: str
    prescriber: str
    status: str
    note: str | None
    requested_at: datetime


# ------------------------------------------------------------------------------- pure rules/helpers


def refill_eligibility(
    rx: Prescription,
    *,
    today: date,
    min_share_used: float = 0.75,
    open_refill_status: str | None = None,
) -> RefillCheck:
    """The refill rules, in the order a pharmacist would explain them."""
    label = _label(rx)
    prescriber = rx.prescriber.display_name if rx.prescriber is not None else "your prescriber"

    def refuse(
        code: str, reason: str, *, earliest: date | None = None, open_status: str | None = None
    ) -> RefillCheck:
        return RefillCheck(
            rx.id, label, False, code, reason, earliest_refill_on=earliest,
            open_refill_status=open_status,
        )  # fmt: skip

    if not rx.active:
        return refuse(
            "inactive",
            f"{label} is no longer an active prescription, so it can't be refilled. If you "
            "still need it, please message your care team.",
        )
    if open_refill_status in OPEN_REFILL_STATUSES:
        return refuse(
            "open_refill",
            f"A refill of {label} is already {REFILL_STATUS_TEXT[open_refill_status]}, so "
            "there's no need to request another one.",
            open_status=open_refill_status,
        )
    if rx.expires_on < today:
        return _needs_new_prescription(
            rx, label, prescriber, f"The prescription for {label} expired on "
            f"{_day(rx.expires_on)}, so it can't be refilled.", "expired"
        )  # fmt: skip
    if rx.refills_remaining <= 0:
        return _needs_new_prescription(
            rx, label, prescriber, f"There are no refills left on {label}.", "no_refills"
        )
    earliest = earliest_refill_on(rx.last_filled_on, rx.days_supply, min_share_used)
    if earliest is not None and today < earliest:
        return refuse(
            "too_soon",
            f"It's too soon to refill {label}: it was last filled on {_day(rx.last_filled_on)}. "
            f"You can request a refill on or after {_day(earliest)}.",
            earliest=earliest,
        )
    left = rx.refills_remaining
    return RefillCheck(
        rx.id,
        label,
        True,
        "ok",
        f"{label} can be refilled. {left} refill{'s' if left != 1 else ''} left.",
    )


def earliest_refill_on(
    last_filled_on: date | None, days_supply: int, min_share_used: float
) -> date | None:
    """The first day on which at least `min_share_used` of the last fill's supply has passed.

    Decimal keeps e.g. 0.7 x 10 days at exactly 7 rather than 7.000000000000001 (which would
    round up to a day too late).
    """
    if last_filled_on is None:
        return None
    days = math.ceil(Decimal(str(min_share_used)) * days_supply)
    return last_filled_on + timedelta(days=days)


def _needs_new_prescription(
    rx: Prescription, label: str, prescriber: str, opening: str, code: str
) -> RefillCheck:
    if rx.controlled:
        reason = (
            f"{opening} Because it's a controlled medication, it can't be renewed online; "
            f"{prescriber} needs to see you for a visit first. I can help you book one."
        )
        return RefillCheck(rx.id, label, False, code, reason, renewal_possible=False)
    reason = f"{opening} I can send a renewal request to {prescriber}."
    return RefillCheck(rx.id, label, False, code, reason, renewal_possible=True)


def _label(rx: Prescription) -> str:
    return f"{rx.medication} {rx.strength}".strip()


def _day(day: date | None) -> str:
    return "" if day is None else f"{day:%A, %B} {day.day}"


def _local_today(patient: Patient, now: datetime, fallback_zone: str | None = None) -> date:
    """The patient's calendar date: expiry and "too soon" are counted in local days."""
    zone = patient.home_clinic.time_zone if patient.home_clinic is not None else fallback_zone
    return now.astimezone(ZoneInfo(zone)).date() if zone else now.date()


def _clean_text(text: object, *, limit: int, what: str) -> str:
    """The text without control characters (`free_text.clean`), trimmed, at most `limit`."""
    if not isinstance(text, str):
        raise InvalidInput(f"Sorry, I couldn't read that {what}.")
    kept = free_text.clean(text).strip()
    if len(kept) > limit:
        raise InvalidInput(
            f"Sorry, that {what} is too long ({len(kept):,} characters). Please keep it under "
            f"{limit:,} characters."
        )
    return kept


def _whose(actor: Actor, patient: Patient) -> str:
    return "your" if actor.patient_id == patient.id else f"{patient.first_name}'s"


def _pharmacy_view(pharmacy: Pharmacy) -> PharmacyView:
    return PharmacyView(
        id=pharmacy.id,
        name=pharmacy.name,
        phone=pharmacy.phone,
        time_zone=pharmacy.time_zone,
        military=bool(pharmacy.military),
    )


def _medication_view(
    rx: Prescription, patient: Patient, today: date, latest_status: str | None
) -> MedicationView:
    pharmacy = rx.pharmacy or patient.preferred_pharmacy
    return MedicationView(
        prescription_id=rx.id,
        name=rx.medication,
        strength=rx.strength,
        instructions=rx.instructions,
        prescriber=rx.prescriber.display_name,
        refills_remaining=rx.refills_remaining,
        days_supply=rx.days_supply,
        expires_on=rx.expires_on,
        expired=rx.expires_on < today,
        last_filled_on=rx.last_filled_on,
        controlled=bool(rx.controlled),
        active=bool(rx.active),
        pickup_pharmacy=_pharmacy_view(pharmacy) if pharmacy is not None else None,
        latest_refill_status=latest_status,
    )


def _refill_view(refill: RefillRequest) -> RefillView:
    pharmacy = _pharmacy_view(refill.pharmacy)
    history = tuple(
        StatusEventView(
            status=e.status,
            status_text=REFILL_STATUS_TEXT[e.status],
            at=e.at,
            local_at=pharmacy.local(e.at),
        )
        for e in sorted(refill.events, key=lambda e: (e.at, e.id))
    )
    return RefillView(
        refill_id=refill.id,
        prescription_id=refill.prescription_id,
        medication=_label(refill.prescription),
        status=refill.status,
        status_text=REFILL_STATUS_TEXT[refill.status],
        requested_at=refill.requested_at,
        updated_at=refill.updated_at,
        pharmacy=pharmacy,
        history=history,
        refills_remaining=refill.prescription.refills_remaining,
    )


def _prescriptions(session: Session, patient_id: int) -> list[Prescription]:
    return list(
        session.scalars(
            select(Prescription)
            .where(Prescription.patient_id == patient_id)
            .order_by(Prescription.active.desc(), Prescription.medication, Prescription.id)
        )
    )


def _latest_refill_statuses(session: Session, patient_id: int) -> dict[int, str]:
    rows = session.execute(
        select(RefillRequest.prescription_id, RefillRequest.status)
        .where(RefillRequest.patient_id == patient_id)
        .order_by(RefillRequest.requested_at.desc(), RefillRequest.id.desc())
    )
    latest: dict[int, str] = {}
    for prescription_id, status in rows:
        latest.setdefault(prescription_id, status)
    return latest


def _open_refill(session: Session, prescription_id: int) -> RefillRequest | None:
    return session.scalar(
        select(RefillRequest)
        .where(
            RefillRequest.prescription_id == prescription_id,
            RefillRequest.status.in_(OPEN_REFILL_STATUSES),
        )
        .order_by(RefillRequest.requested_at.desc(), RefillRequest.id.desc())
        .limit(1)
    )


def _owned_prescription(
    session: Session, patient_id: int, prescription_id: int, *, lock: bool = False
) -> Prescription:
    """The patient's prescription; someone else's is reported exactly like a missing one.

    With `lock`, concurrent changes to the same prescription wait for this transaction.
    """
    mine = (Prescription.id == prescription_id, Prescription.patient_id == patient_id)
    if lock:
        _claim(session, update(Prescription).where(*mine), Prescription.refills_remaining)
    rx = session.scalar(select(Prescription).where(*mine))
    if rx is None:
        raise PrescriptionNotFound()
    return rx


def _claim(session: Session, statement: Update, column: Any) -> None:
    """Lock the rows `statement` selects before reading them, on SQLite as on PostgreSQL.

    SELECT ... FOR UPDATE is not enough: SQLite ignores it, and its driver only opens a
    transaction at the first write, so the reads before it can be stale and two requests could
    both spend the last refill. A no-op UPDATE first takes PostgreSQL's row lock and SQLite's
    write lock, so what is read afterwards is current until this transaction ends.
    """
    session.execute(statement.values({column: column}).execution_options(synchronize_session=False))


# ---------------------------------------------------------------------------- medication services


def list_medications(
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    include_inactive: bool = False,
    now: datetime | None = None,
) -> list[MedicationView]:
    """The patient's medication list, active prescriptions first, alphabetical."""
    now = _now(now)
    patient_id = _require_id(patient_id, "patient")
    with db.transaction() as session:
        patient = access.require(session, actor, patient_id, Capability.PRESCRIPTIONS, now=now)
        today = _local_today(patient, now)
        latest = _latest_refill_statuses(session, patient_id)
        views = [
            _medication_view(rx, patient, today, latest.get(rx.id))
            for rx in _prescriptions(session, patient_id)
            if include_inactive or rx.active
        ]
        audit.record_disclosure(
            session, actor, patient_id, "list_medications", "prescription",
            [v.prescription_id for v in views], now,
        )  # fmt: skip
    return views


def find_medication(
    db: Database, actor: Actor, patient_id: int, text: str, *, now: datetime | None = None
) -> MedicationView:
    """The one prescription that `text` names, however the person said or spelled it.

    Names (generic or brand, misspellings included) win over descriptions ("my inhaler",
    "blood pressure pill"); a description that fits several prescriptions is ambiguous, and the
    error lists the choices so the bot can ask.
    """
    now = _now(now)
    patient_id = _require_id(patient_id, "patient")
    query = _clean_text(text, limit=MAX_QUERY_CHARS, what="medication name")
    if not query:
        raise InvalidInput("Which medication do you mean? You can say its name.")
    failure: PortalError | None = None
    with db.transaction() as session:
        patient = access.require(session, actor, patient_id, Capability.PRESCRIPTIONS, now=now)
        today = _local_today(patient, now)
        latest = _latest_refill_statuses(session, patient_id)
        prescriptions = _prescriptions(session, patient_id)
        matches = medications.match_medications(query, prescriptions)
        views = [_medication_view(rx, patient, today, latest.get(rx.id)) for rx in matches]
        if not views:
            failure = _not_found(query, prescriptions, _whose(actor, patient))
        elif len(views) > 1:
            failure = AmbiguousMedication(
                "Which one do you mean: " + _or_list([v.label for v in views]) + "?", choices=views
            )
        # The refusal messages list medications too, so every outcome is a disclosure.
        audit.record_disclosure(
            session, actor, patient_id, "find_medication", "prescription",
            [v.prescription_id for v in views], now,
            resource_id=views[0].prescription_id if len(views) == 1 else None,
            outcome="ok" if failure is None else "no_match",
        )  # fmt: skip
    if failure is not None:
        raise failure
    return views[0]


def _not_found(query: str, prescriptions: Sequence[Prescription], whose: str) -> NotFound:
    active = [_label(rx) for rx in prescriptions if rx.active]
    if not active:
        return MedicationNotFound(f"I don't see any active prescriptions on {whose} record.")
    return MedicationNotFound(
        f'I couldn\'t find "{query[:60]}" on {whose} medication list. {whose.capitalize()} '
        f"current medications are: {', '.join(active)}."
    )


def _or_list(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " or ".join(items)
    return ", ".join(items[:-1]) + f", or {items[-1]}"


# ------------------------------------------------------------------------------- refill services


def check_refill(
    db: Database,
    actor: Actor,
    patient_id: int,
    prescription_id: int,
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> RefillCheck:
    """Whether a refill could be requested now, and why not; nothing is changed."""
    now = _now(now)
    settings = settings or load_settings()
    patient_id = _require_id(patient_id, "patient")
    prescription_id = _require_id(prescription_id, "prescription")
    with db.transaction() as session:
        patient = access.require(session, actor, patient_id, Capability.PRESCRIPTIONS, now=now)
        rx = _owned_prescription(session, patient_id, prescription_id)
        check = _check(session, patient, rx, now, settings)
        audit.record(
            session,
            actor,
            subject_id=patient_id,
            action="check_refill",
            resource="prescription",
            resource_id=rx.id,
            detail=check.code,
            now=now,
        )
    return check


def _check(
    session: Session, patient: Patient, rx: Prescription, now: datetime, settings: Settings
) -> RefillCheck:
    open_refill = _open_refill(session, rx.id)
    fallback_zone = rx.pharmacy.time_zone if rx.pharmacy is not None else None
    return refill_eligibility(
        rx,
        today=_local_today(patient, now, fallback_zone),
        min_share_used=settings.refill_min_share_used,
        open_refill_status=open_refill.status if open_refill is not None else None,
    )


def request_refill(
    db: Database,
    actor: Actor,
    patient_id: int,
    prescription_id: int,
    *,
    pharmacy_id: int | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> RefillView:
    """Send a refill to the pharmacy, or raise `RefillRefused` saying why not.

    A refusal is audited (it tells the person about their prescription) but changes nothing.
    """
    now = _now(now)
    settings = settings or load_settings()
    patient_id = _require_id(patient_id, "patient")
    prescription_id = _require_id(prescription_id, "prescription")
    if pharmacy_id is not None:
        pharmacy_id = _require_id(pharmacy_id, "pharmacy")
    refusal: RefillRefused | None = None
    with db.transaction() as session:
        patient = access.require(session, actor, patient_id, Capability.PRESCRIPTIONS, now=now)
        # The row lock serializes two requests for the same prescription (PostgreSQL), so one
        # refill can't be spent twice.
        rx = _owned_prescription(session, patient_id, prescription_id, lock=True)
        check = _check(session, patient, rx, now, settings)
        if not check.allowed:
            refusal = RefillRefused(check)
            audit.record(
                session,
                actor,
                subject_id=patient_id,
                action="request_refill",
                resource="prescription",
                resource_id=rx.id,
                outcome="refused",
                detail=check.code,
                now=now,
            )
        else:
            pharmacy = _pickup_pharmacy(session, patient, rx, pharmacy_id)
            rx.refills_remaining -= 1
            refill = RefillRequest(
                prescription=rx,
                patient_id=patient_id,
                pharmacy=pharmacy,
                status="requested",
                requested_by_id=actor.patient_id,
                channel=actor.channel,
                requested_at=now,
                updated_at=now,
            )
            session.add(refill)
            session.add(RefillStatusEvent(refill=refill, status="requested", at=now))
            session.flush()
            audit.record(
                session,
                actor,
                subject_id=patient_id,
                action="request_refill",
                resource="refill_request",
                resource_id=refill.id,
                detail=f"prescription={rx.id}; pharmacy={pharmacy.id}",
                now=now,
            )
            view = _refill_view(refill)
    if refusal is not None:
        raise refusal
    return view


def _pickup_pharmacy(
    session: Session, patient: Patient, rx: Prescription, pharmacy_id: int | None
) -> Pharmacy:
    """The pharmacy chosen now, else the prescription's, else the patient's preferred one."""
    if pharmacy_id is not None:
        chosen = session.get(Pharmacy, pharmacy_id)
        if chosen is None:
            raise PharmacyNotFound()
        return chosen
    pharmacy = rx.pharmacy or patient.preferred_pharmacy
    if pharmacy is None:
        raise NoPickupPharmacy()
    return pharmacy


def advance_refill(
    db: Database, refill_id: int, new_status: str, *, now: datetime | None = None
) -> RefillView:
    """Pharmacy-side progress: requested -> in_progress -> ready -> picked_up, or cancelled.

    Pickup records the fill date (the "too soon" clock restarts from when the supply is in
    hand); cancelling, even once it was ready, gives the refill back to the prescription.
    """
    now = _now(now)
    refill_id = _require_id(refill_id, "refill")
    if not isinstance(new_status, str) or new_status not in REFILL_TRANSITIONS:
        raise InvalidInput(f"Unknown refill status {str(new_status)[:20]!r}.")
    with db.transaction() as session:
        claimed = update(RefillRequest).where(RefillRequest.id == refill_id)
        _claim(session, claimed, RefillRequest.status)
        refill = session.get(RefillRequest, refill_id)
        if refill is None:
            raise RefillNotFound()
        if new_status not in REFILL_TRANSITIONS[refill.status]:
            raise IllegalRefillTransition(
                f"A refill that is {REFILL_STATUS_TEXT[refill.status]} can't become "
                f"{REFILL_STATUS_TEXT[new_status]}."
            )
        rx = refill.prescription
        if new_status == "picked_up":
            rx.last_filled_on = _pharmacy_today(refill, now)
        elif new_status == "cancelled":
            rx.refills_remaining += 1
        refill.status = new_status
        refill.updated_at = now
        session.add(RefillStatusEvent(refill=refill, status=new_status, at=now))
        session.flush()
        audit.record(
            session,
            None,
            subject_id=refill.patient_id,
            action="advance_refill",
            resource="refill_request",
            resource_id=refill.id,
            detail=new_status,
            now=now,
        )
        view = _refill_view(refill)
    return view


def _pharmacy_today(refill: RefillRequest, now: datetime) -> date:
    return now.astimezone(ZoneInfo(refill.pharmacy.time_zone)).date()


def refill_status(
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    prescription_id: int | None = None,
    limit: int = 20,
    now: datetime | None = None,
) -> list[RefillView]:
    """Refill requests newest first, each with its status history and pickup pharmacy."""
    now = _now(now)
    patient_id = _require_id(patient_id, "patient")
    if prescription_id is not None:
        prescription_id = _require_id(prescription_id, "prescription")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise InvalidInput("Please ask for between 1 and 100 refills.")
    with db.transaction() as session:
        access.require(session, actor, patient_id, Capability.PRESCRIPTIONS, now=now)
        query = select(RefillRequest).where(RefillRequest.patient_id == patient_id)
        if prescription_id is not None:
            _owned_prescription(session, patient_id, prescription_id)
            query = query.where(RefillRequest.prescription_id == prescription_id)
        refills = session.scalars(
            query.order_by(RefillRequest.requested_at.desc(), RefillRequest.id.desc()).limit(limit)
        )
        views = [_refill_view(refill) for refill in refills]
        audit.record_disclosure(
            session, actor, patient_id, "refill_status", "refill_request",
            [v.refill_id for v in views], now,
        )  # fmt: skip
    return views


# ------------------------------------------------------------------------------ renewal service


def renewal_refusal(med: MedicationView) -> RenewalNotAllowed | None:
    """Why `med` can't be renewed online (None when it can): the rule `request_renewal` applies,
    for the bot to ask before it has the patient confirm a request that would be refused."""
    return _renewal_refusal(med.label, med.prescriber, active=med.active, controlled=med.controlled)


def _renewal_refusal(
    label: str, prescriber: str, *, active: bool, controlled: bool
) -> RenewalNotAllowed | None:
    if not active:
        return RenewalNotAllowed(
            f"{label} is no longer an active prescription, so it can't be renewed online. "
            "Please message your care team if you still need it."
        )
    if controlled:
        return RenewalNotAllowed(
            f"{label} is a controlled medication, so it can't be renewed online. "
            f"{prescriber} needs to see you for a visit before writing a new prescription. "
            "I can help you book an appointment.",
            needs_visit=True,
        )
    return None


def request_renewal(
    db: Database,
    actor: Actor,
    patient_id: int,
    prescription_id: int,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> RenewalView:
    """Put a renewal in the prescriber's queue (never for controlled substances)."""
    now = _now(now)
    patient_id = _require_id(patient_id, "patient")
    prescription_id = _require_id(prescription_id, "prescription")
    cleaned_note = _clean_text(note, limit=MAX_NOTE_CHARS, what="note") if note else ""
    if cleaned_note:
        _refuse_emergency(cleaned_note, actor.channel)
    with db.transaction() as session:
        patient = access.require(session, actor, patient_id, Capability.PRESCRIPTIONS, now=now)
        rx = _owned_prescription(session, patient_id, prescription_id, lock=True)
        label, prescriber = _label(rx), rx.prescriber.display_name
        refusal = _renewal_refusal(
            label, prescriber, active=bool(rx.active), controlled=bool(rx.controlled)
        )
        if refusal is not None:
            raise refusal
        pending = session.scalar(
            select(RenewalRequest).where(
                RenewalRequest.prescription_id == rx.id, RenewalRequest.status == "pending"
            )
        )
        if pending is not None:
            asked_on = _local_today(patient, pending.requested_at)
            raise DuplicateRenewal(
                f"You already asked for {label} to be renewed on {_day(asked_on)}. It's waiting "
                f"in {prescriber}'s queue, so there's no need to ask again."
            )
        renewal = RenewalRequest(
            prescription=rx,
            patient_id=patient_id,
            prescriber_id=rx.prescriber_id,
            status="pending",
            note=cleaned_note or None,
            requested_by_id=actor.patient_id,
            channel=actor.channel,
            requested_at=now,
        )
        session.add(renewal)
        session.flush()
        audit.record(
            session,
            actor,
            subject_id=patient_id,
            action="request_renewal",
            resource="renewal_request",
            resource_id=renewal.id,
            detail=f"prescription={rx.id}; prescriber={rx.prescriber_id}",
            now=now,
        )
        view = RenewalView(
            renewal_id=renewal.id,
            prescription_id=rx.id,
            medication=label,
            prescriber=prescriber,
            status=renewal.status,
            note=renewal.note,
            requested_at=renewal.requested_at,
        )
    return view


def _refuse_emergency(text: str, channel: str) -> None:
    """A note read later by a prescriber must not be where an emergency is said."""
    finding = safety.detect(text)
    if finding is not None:
        raise EmergencyInMessage.for_channel(finding, channel)


# --------------------------------------------------------------------------------- pharmacies


def list_pharmacies(db: Database) -> list[PharmacyView]:
    """Every pickup pharmacy, military ones first (public directory data, not PHI)."""
    with db.transaction() as session:
        pharmacies = session.scalars(
            select(Pharmacy).order_by(Pharmacy.military.desc(), Pharmacy.name, Pharmacy.id)
        )
        return [_pharmacy_view(p) for p in pharmacies]


def find_pharmacy(db: Database, text: str) -> PharmacyView:
    """The pharmacy `text` names ("main pharmacy", "the one at Darnall", its code)."""
    query = _clean_text(text, limit=MAX_QUERY_CHARS, what="pharmacy name")
    words = [
        w
        for w in normalise(query, possessives=True).split()
        if w not in _PHARMACY_FILLER and len(w) >= 3
    ]
    if not words:
        raise InvalidInput("Which pharmacy would you like? You can say its name.")
    with db.transaction() as session:
        places = {
            clinic.id: f"{clinic.name} {clinic.facility} {clinic.city}"
            for clinic in session.scalars(select(Clinic))
        }
        scored = [
            (_pharmacy_view(p), _pharmacy_score(words, p, places.get(p.clinic_id or 0, "")))
            for p in session.scalars(select(Pharmacy).order_by(Pharmacy.name, Pharmacy.id))
        ]
    best = max((score for _, score in scored), default=0.0)
    if best < 0.5:
        raise PharmacyNotFound(
            "Sorry, I couldn't find that pharmacy. The pharmacies are: "
            + ", ".join(view.name for view, _ in scored)
            + "."
        )
    found = [view for view, score in scored if score >= best - 0.01]
    if len(found) > 1:
        raise AmbiguousPharmacy(
            "Which pharmacy do you mean: " + _or_list([v.name for v in found]) + "?",
            choices=found,
        )
    return found[0]


_PHARMACY_FILLER = frozenset({"pharmacy", "the", "one", "at", "on", "in", "near", "base", "my"})


def _pharmacy_score(words: Sequence[str], pharmacy: Pharmacy, place: str) -> float:
    """Share of the spoken words found (allowing typos) in the pharmacy's name, code or place."""
    haystack = normalise(f"{pharmacy.name} {pharmacy.code} {place}", possessives=True).split()
    hits = 0.0
    for word in words:
        close = get_close_matches(word, haystack, n=1, cutoff=0.8)
        if close:
            hits += 1.0 if close[0] == word else 0.9
    return hits / len(words)
