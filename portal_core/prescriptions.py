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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from difflib import get_close_matches
from functools import partial
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
MAX_QUERY_CHARS = 200
MAX_REFILLS_LISTED = 100
MAX_NOTE_CHARS = 2000


# ----------------------------------------------------------------------------------------- errors


# Each is raised with a message id of `wording.catalogue` and the data it names, never with a
# sentence: what the patient reads is the wording floor's.


class PrescriptionNotFound(NotFound):
    pass


class PharmacyNotFound(NotFound):
    pass


class RefillNotFound(NotFound):
    pass


class MedicationNotFound(NotFound):
    pass


class AmbiguousMedication(WithChoices, InvalidInput):
    """More than one prescription fits; `choices` lets the bot ask which one was meant."""

    choices: tuple[MedicationView, ...]


class AmbiguousPharmacy(WithChoices, InvalidInput):
    choices: tuple[PharmacyView, ...]


class NoPickupPharmacy(InvalidInput):
    pass


class RefillRefused(RefillNotAllowed):
    """A refusal by the refill rules, carrying the full check (reason code, earliest date)."""

    def __init__(self, check: RefillCheck) -> None:
        super().__init__(key=check.key, data=check.data, renewal_possible=check.renewal_possible)
        self.check = check


class IllegalRefillTransition(Conflict):
    pass


class DuplicateRenewal(Conflict):
    pass


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
    """The refill rules' answer; `key` (a message id of `wording.catalogue`) and `data` say why
    to the patient whatever the outcome."""

    prescription_id: int
    medication: str
    allowed: bool
    code: str  # ok | inactive | open_refill | expired | no_refills | too_soon
    key: str
    data: Mapping[str, Any] = field(default_factory=dict)
    renewal_possible: bool = False
    earliest_refill_on: date | None = None
    open_refill_status: str | None = None


@dataclass(frozen=True)
class StatusEventView:
    status: str  # a refill status; `wording.catalogue.refill_status` says it
    at: datetime  # UTC
    local_at: datetime  # the pharmacy's wall clock


@dataclass(frozen=True)
class RefillView:
    refill_id: int
    prescription_id: int
    medication: str
    status: str  # see `StatusEventView.status`
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
    """The refill rules, in the order a pharmacist would explain them.

    Each answer names its message id with the data that message needs, written out in full, so
    the catalogue's tests can check one against the other.
    """
    label = _label(rx)
    if not rx.active:
        return RefillCheck(
            rx.id, label, False, "inactive", key="refill.inactive", data={"medication": label}
        )
    if open_refill_status in OPEN_REFILL_STATUSES:
        return RefillCheck(
            rx.id, label, False, "open_refill", key="refill.already_open",
            data={"medication": label, "status": open_refill_status},
            open_refill_status=open_refill_status,
        )  # fmt: skip
    if rx.expires_on < today or rx.refills_remaining <= 0:
        return _needs_new_prescription(rx, label, expired=rx.expires_on < today)
    earliest = earliest_refill_on(rx.last_filled_on, rx.days_supply, min_share_used)
    if earliest is not None and today < earliest:
        return RefillCheck(
            rx.id, label, False, "too_soon", key="refill.too_soon",
            data={"medication": label, "last_filled_on": rx.last_filled_on, "earliest": earliest},
            earliest_refill_on=earliest,
        )  # fmt: skip
    left = rx.refills_remaining
    if left == 1:
        return RefillCheck(
            rx.id, label, True, "ok", key="refill.allowed_one",
            data={"medication": label, "left": left},
        )  # fmt: skip
    return RefillCheck(
        rx.id, label, True, "ok", key="refill.allowed", data={"medication": label, "left": left}
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


def _needs_new_prescription(rx: Prescription, label: str, *, expired: bool) -> RefillCheck:
    """Expired (said first) or out of refills: a renewal can help, unless the medication is
    controlled (then only a visit can)."""
    prescriber = rx.prescriber.display_name
    controlled = bool(rx.controlled)
    refuse = partial(
        RefillCheck, rx.id, label, False, "expired" if expired else "no_refills",
        renewal_possible=not controlled,
    )  # fmt: skip
    if expired and controlled:
        return refuse(
            key="refill.expired_needs_visit",
            data={"medication": label, "prescriber": prescriber, "expired_on": rx.expires_on},
        )
    if expired:
        return refuse(
            key="refill.expired_renewable",
            data={"medication": label, "prescriber": prescriber, "expired_on": rx.expires_on},
        )
    if controlled:
        return refuse(
            key="refill.no_refills_needs_visit",
            data={"medication": label, "prescriber": prescriber},
        )
    return refuse(
        key="refill.no_refills_renewable", data={"medication": label, "prescriber": prescriber}
    )


def _label(rx: Prescription) -> str:
    return f"{rx.medication} {rx.strength}".strip()


def _local_today(patient: Patient, now: datetime, fallback_zone: str | None = None) -> date:
    """The patient's calendar date: expiry and "too soon" are counted in local days."""
    zone = patient.home_clinic.time_zone if patient.home_clinic is not None else fallback_zone
    return now.astimezone(ZoneInfo(zone)).date() if zone else now.date()


def _clean_text(text: object) -> str | None:
    """The text without control characters (`free_text.clean`), trimmed; None if not text.

    Each caller refuses what it can't read, or what is longer than its limit, in its own words.
    """
    if not isinstance(text, str):
        return None
    return free_text.clean(text).strip()


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
        raise PrescriptionNotFound(key="medications.prescription_not_found")
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
    query = _clean_text(text)
    if query is None:
        raise InvalidInput(key="medications.name_unreadable")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(
            key="medications.name_too_long", data={"length": len(query), "limit": MAX_QUERY_CHARS}
        )
    if not query:
        raise InvalidInput(key="medications.which")
    failure: PortalError | None = None
    with db.transaction() as session:
        patient = access.require(session, actor, patient_id, Capability.PRESCRIPTIONS, now=now)
        today = _local_today(patient, now)
        latest = _latest_refill_statuses(session, patient_id)
        prescriptions = _prescriptions(session, patient_id)
        matches = medications.match_medications(query, prescriptions)
        views = [_medication_view(rx, patient, today, latest.get(rx.id)) for rx in matches]
        if not views:
            yours = actor.patient_id == patient.id
            failure = _not_found(query, prescriptions, None if yours else patient.first_name)
        elif len(views) > 1:
            failure = AmbiguousMedication(
                key="medications.which_one",
                data={"choices": [v.label for v in views]},
                choices=views,
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


def _not_found(
    query: str, prescriptions: Sequence[Prescription], first_name: str | None
) -> NotFound:
    """No match: the patient's own list (or, `first_name`, a family member's) is named."""
    active = [_label(rx) for rx in prescriptions if rx.active]
    if first_name is None:
        if not active:
            return MedicationNotFound(key="medications.none_active_yours")
        return MedicationNotFound(
            key="medications.not_listed_yours", data={"query": query, "medications": active}
        )
    if not active:
        return MedicationNotFound(
            key="medications.none_active_theirs", data={"first_name": first_name}
        )
    return MedicationNotFound(
        key="medications.not_listed_theirs",
        data={"query": query, "first_name": first_name, "medications": active},
    )


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
            raise PharmacyNotFound(key="pharmacy.not_found")
        return chosen
    pharmacy = rx.pharmacy or patient.preferred_pharmacy
    if pharmacy is None:
        raise NoPickupPharmacy(key="pharmacy.none_on_file")
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
        raise InvalidInput(key="refill.unknown_status", data={"status": str(new_status)[:20]})
    with db.transaction() as session:
        claimed = update(RefillRequest).where(RefillRequest.id == refill_id)
        _claim(session, claimed, RefillRequest.status)
        refill = session.get(RefillRequest, refill_id)
        if refill is None:
            raise RefillNotFound(key="refill.not_found")
        if new_status not in REFILL_TRANSITIONS[refill.status]:
            raise IllegalRefillTransition(
                key="refill.illegal_transition",
                data={"status": refill.status, "new_status": new_status},
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
    usable = isinstance(limit, int) and not isinstance(limit, bool)
    if not usable or not 1 <= limit <= MAX_REFILLS_LISTED:
        raise InvalidInput(key="refill.limit", data={"most": MAX_REFILLS_LISTED})
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
        return RenewalNotAllowed(key="renewal.inactive", data={"medication": label})
    if controlled:
        return RenewalNotAllowed(
            key="renewal.controlled",
            data={"medication": label, "prescriber": prescriber},
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
    cleaned_note = _clean_note(note) if note else ""
    if cleaned_note:
        _refuse_emergency(cleaned_note)
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
            raise DuplicateRenewal(
                key="renewal.already_waiting",
                data={
                    "medication": label,
                    "prescriber": prescriber,
                    "asked_on": _local_today(patient, pending.requested_at),
                },
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


def _clean_note(note: object) -> str:
    cleaned = _clean_text(note)
    if cleaned is None:
        raise InvalidInput(key="renewal.note_unreadable")
    if len(cleaned) > MAX_NOTE_CHARS:
        raise InvalidInput(
            key="renewal.note_too_long", data={"length": len(cleaned), "limit": MAX_NOTE_CHARS}
        )
    return cleaned


def _refuse_emergency(text: str) -> None:
    """A note read later by a prescriber must not be where an emergency is said."""
    finding = safety.detect(text)
    if finding is not None:
        raise EmergencyInMessage(finding)


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
    query = _clean_text(text)
    if query is None:
        raise InvalidInput(key="pharmacy.name_unreadable")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(
            key="pharmacy.name_too_long", data={"length": len(query), "limit": MAX_QUERY_CHARS}
        )
    words = [
        w
        for w in normalise(query, possessives=True).split()
        if w not in _PHARMACY_FILLER and len(w) >= 3
    ]
    if not words:
        raise InvalidInput(key="pharmacy.which")
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
            key="pharmacy.not_found_among", data={"pharmacies": [view.name for view, _ in scored]}
        )
    found = [view for view, score in scored if score >= best - 0.01]
    if len(found) > 1:
        raise AmbiguousPharmacy(
            key="pharmacy.which_one", data={"choices": [v.name for v in found]}, choices=found
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
