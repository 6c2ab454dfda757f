"""Medication lists, fuzzy names, the refill rules, pharmacy-side progress and renewals."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal_core import audit, prescriptions, safety
from portal_core.actors import Actor
from portal_core.config import Settings
from portal_core.database import Database
from portal_core.errors import (
    AccessDenied,
    InvalidInput,
    NotFound,
    PortalError,
    RefillNotAllowed,
    RenewalNotAllowed,
)
from portal_core.messaging import EmergencyInMessage
from portal_core.models import (
    Patient,
    Pharmacy,
    Prescription,
    RefillRequest,
    RefillStatusEvent,
    RenewalRequest,
)
from portal_core.prescriptions import (
    AmbiguousMedication,
    AmbiguousPharmacy,
    DuplicateRenewal,
    IllegalRefillTransition,
    MedicationNotFound,
    NoPickupPharmacy,
    PharmacyNotFound,
    PrescriptionNotFound,
    RefillNotFound,
    RefillRefused,
)
from tests.factories import (
    make_clinic,
    make_family,
    make_patient,
    make_pharmacy,
    make_provider,
    stored,
)
from wording.catalogue import render, say_error

# Wednesday 25 November 2026, 15:00 UTC: 09:00 at the clinic in Texas.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 25)
SETTINGS = Settings()


@dataclass
class World:
    patient: int
    other_patient: int
    prescriber_name: str
    pharmacy: int
    preferred_pharmacy: int
    rx: dict[str, int]


def add_rx(
    session: Session,
    patient: Patient,
    medication: str,
    *,
    strength: str = "10 mg",
    instructions: str = "Take 1 tablet by mouth daily",
    prescriber_id: int | None = None,
    days_supply: int = 30,
    refills: int = 3,
    expires_on: date = date(2027, 6, 1),
    last_filled_on: date | None = date(2026, 10, 20),
    controlled: bool = False,
    active: bool = True,
    pharmacy_id: int | None = None,
) -> int:
    rx = Prescription(
        patient_id=patient.id,
        medication=medication,
        strength=strength,
        instructions=instructions,
        prescriber_id=prescriber_id or patient.pcm_id,
        days_supply=days_supply,
        refills_remaining=refills,
        expires_on=expires_on,
        last_filled_on=last_filled_on,
        controlled=controlled,
        active=active,
        pharmacy_id=pharmacy_id,
    )
    return stored(session, rx).id


@pytest.fixture
def world(db: Database) -> World:
    with db.transaction() as s:
        clinic = make_clinic(s)
        pcm = make_provider(s, clinic, name="Dr. Maria Alvarez")
        pharmacy = make_pharmacy(s, clinic)
        preferred = make_pharmacy(s, clinic)
        patient = make_patient(s, pcm=pcm, clinic=clinic)
        patient.preferred_pharmacy_id = preferred.id
        other = make_patient(s, first_name="Other", pcm=pcm, clinic=clinic)
        rx = {
            "lisinopril": add_rx(s, patient, "Lisinopril", pharmacy_id=pharmacy.id),
            "amlodipine": add_rx(s, patient, "Amlodipine", strength="5 mg"),
            "albuterol": add_rx(
                s,
                patient,
                "Albuterol HFA",
                strength="90 mcg/actuation",
                instructions="Inhale 2 puffs every 4 to 6 hours as needed for wheezing",
            ),
            "oxycodone": add_rx(
                s, patient, "Oxycodone", strength="5 mg", controlled=True, refills=0
            ),
            "old": add_rx(s, patient, "Metformin", strength="500 mg", active=False),
            "others": add_rx(s, other, "Sertraline", strength="50 mg"),
        }
        return World(patient.id, other.id, pcm.display_name, pharmacy.id, preferred.id, rx)


def set_rx(db: Database, rx_id: int, **values: object) -> None:
    with db.transaction() as s:
        rx = s.get(Prescription, rx_id)
        for name, value in values.items():
            setattr(rx, name, value)


def refills_left(db: Database, rx_id: int) -> int:
    with db.transaction() as s:
        return s.get(Prescription, rx_id).refills_remaining


def refill(db: Database, world: World, name: str, **kwargs: object) -> prescriptions.RefillView:
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("settings", SETTINGS)
    return prescriptions.request_refill(
        db,
        Actor(world.patient, "sms"),
        world.patient,
        world.rx[name],
        **kwargs,  # type: ignore[arg-type]
    )


def actions(db: Database, patient_id: int) -> list[tuple[str, str]]:
    with db.transaction() as s:
        return [(e.action, e.outcome) for e in audit.entries_for(s, patient_id)]


# ------------------------------------------------------------------------------ medication list


def test_list_shows_active_medications_with_details_and_is_audited(
    db: Database, world: World
) -> None:
    meds = prescriptions.list_medications(db, Actor(world.patient), world.patient, now=NOW)
    names = [m.name for m in meds]
    assert names == ["Albuterol HFA", "Amlodipine", "Lisinopril", "Oxycodone"]
    lisinopril = meds[2]
    assert lisinopril.strength == "10 mg"
    assert lisinopril.prescriber == world.prescriber_name
    assert lisinopril.refills_remaining == 3
    assert lisinopril.expires_on == date(2027, 6, 1) and not lisinopril.expired
    assert lisinopril.pickup_pharmacy is not None
    assert lisinopril.pickup_pharmacy.id == world.pharmacy
    assert meds[1].pickup_pharmacy is not None
    assert meds[1].pickup_pharmacy.id == world.preferred_pharmacy  # no pharmacy on the Rx
    assert meds[3].controlled and not meds[0].controlled
    assert all(m.latest_refill_status is None for m in meds)

    entries = actions(db, world.patient)
    assert entries == [("list_medications", "ok")]
    with db.transaction() as s:
        detail = audit.entries_for(s, world.patient)[0].detail
    assert detail == "ids=" + ",".join(str(m.prescription_id) for m in meds)


def test_list_can_include_discontinued_and_shows_latest_refill_status(
    db: Database, world: World
) -> None:
    refill(db, world, "lisinopril")
    meds = prescriptions.list_medications(
        db, Actor(world.patient), world.patient, include_inactive=True, now=NOW
    )
    by_name = {m.name: m for m in meds}
    assert not by_name["Metformin"].active
    assert by_name["Lisinopril"].latest_refill_status == "requested"
    assert by_name["Lisinopril"].refills_remaining == 2


# ---------------------------------------------------------------------------------- fuzzy names


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("lisinipril", "lisinopril"),
        ("Lisinopril", "lisinopril"),
        ("can I get a refill on my lisinopril please", "lisinopril"),
        ("amlodapine", "amlodipine"),
        ("inhaler", "albuterol"),
        ("my inhailer", "albuterol"),
        ("Ventolin", "albuterol"),
        ("albut", "albuterol"),
        ("Norvasc", "amlodipine"),
    ],
)
def test_find_medication_understands_what_people_say(
    db: Database, world: World, said: str, expected: str
) -> None:
    found = prescriptions.find_medication(db, Actor(world.patient), world.patient, said, now=NOW)
    assert found.prescription_id == world.rx[expected]


def test_a_vague_description_lists_the_choices(db: Database, world: World) -> None:
    with pytest.raises(AmbiguousMedication) as err:
        prescriptions.find_medication(
            db, Actor(world.patient), world.patient, "my blood pressure pill", now=NOW
        )
    choices = {c.prescription_id for c in err.value.choices}
    assert choices == {world.rx["lisinopril"], world.rx["amlodipine"]}
    assert "Lisinopril 10 mg" in say_error(err.value)
    assert "Amlodipine 5 mg" in say_error(err.value)
    assert actions(db, world.patient) == [("find_medication", "no_match")]


def test_strength_settles_between_two_of_the_same_medication(db: Database, world: World) -> None:
    with db.transaction() as s:
        twenty = add_rx(s, s.get(Patient, world.patient), "Lisinopril", strength="20 mg")
    actor = Actor(world.patient)
    with pytest.raises(AmbiguousMedication):
        prescriptions.find_medication(db, actor, world.patient, "lisinopril", now=NOW)
    found = prescriptions.find_medication(db, actor, world.patient, "lisinopril 20", now=NOW)
    assert found.prescription_id == twenty


def test_active_prescription_wins_over_a_discontinued_one(db: Database, world: World) -> None:
    with db.transaction() as s:
        current = add_rx(s, s.get(Patient, world.patient), "Metformin", strength="1000 mg")
    found = prescriptions.find_medication(
        db, Actor(world.patient), world.patient, "metformin", now=NOW
    )
    assert found.prescription_id == current


def test_unknown_medication_lists_what_is_on_file(db: Database, world: World) -> None:
    with pytest.raises(MedicationNotFound) as err:
        prescriptions.find_medication(db, Actor(world.patient), world.patient, "xyzzy", now=NOW)
    assert "Lisinopril 10 mg" in say_error(err.value)
    assert "Sertraline" not in say_error(err.value)  # someone else's


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_000])
def test_find_medication_rejects_empty_or_huge_text(db: Database, world: World, text: str) -> None:
    with pytest.raises(InvalidInput):
        prescriptions.find_medication(db, Actor(world.patient), world.patient, text, now=NOW)


def test_sql_metacharacters_are_only_text(db: Database, world: World) -> None:
    with pytest.raises(MedicationNotFound):
        prescriptions.find_medication(
            db, Actor(world.patient), world.patient, "'; DROP TABLE prescriptions; --", now=NOW
        )
    with db.transaction() as s:
        assert s.scalar(select(func.count(Prescription.id))) == 6


# ------------------------------------------------------------------------------- refill rules


def test_refill_is_requested_at_the_prescriptions_pharmacy(db: Database, world: World) -> None:
    view = refill(db, world, "lisinopril")
    assert view.status == "requested" and view.is_open
    assert view.pharmacy.id == world.pharmacy
    assert view.refills_remaining == 2
    assert [e.status for e in view.history] == ["requested"]
    assert view.history[0].at == NOW
    assert refills_left(db, world.rx["lisinopril"]) == 2
    with db.transaction() as s:
        row = s.get(RefillRequest, view.refill_id)
        assert (row.requested_by_id, row.channel) == (world.patient, "sms")
        assert s.scalar(select(func.count(RefillStatusEvent.id))) == 1
    assert actions(db, world.patient) == [("request_refill", "ok")]


def test_pickup_pharmacy_chosen_else_prescription_else_preferred(
    db: Database, world: World
) -> None:
    assert refill(db, world, "amlodipine").pharmacy.id == world.preferred_pharmacy
    chosen = refill(db, world, "albuterol", pharmacy_id=world.pharmacy)
    assert chosen.pharmacy.id == world.pharmacy


def test_no_pharmacy_anywhere_asks_for_one(db: Database, world: World) -> None:
    with db.transaction() as s:
        s.get(Patient, world.patient).preferred_pharmacy_id = None
    with pytest.raises(NoPickupPharmacy) as err:
        refill(db, world, "amlodipine")
    assert say_error(err.value) == (
        "Which pharmacy would you like to pick it up from? There's no pharmacy on file for this "
        "prescription yet."
    )
    assert refills_left(db, world.rx["amlodipine"]) == 3


def test_unknown_pickup_pharmacy(db: Database, world: World) -> None:
    with pytest.raises(PharmacyNotFound) as err:
        refill(db, world, "lisinopril", pharmacy_id=987_654)
    assert say_error(err.value) == (
        "Sorry, I couldn't find that pharmacy. Which pharmacy would you like?"
    )
    assert refills_left(db, world.rx["lisinopril"]) == 3


def test_discontinued_prescription_is_refused_without_renewal(db: Database, world: World) -> None:
    with pytest.raises(RefillNotAllowed) as err:
        refill(db, world, "old")
    assert not err.value.renewal_possible
    assert "no longer an active prescription" in say_error(err.value)


def test_no_refills_left_offers_a_renewal(db: Database, world: World) -> None:
    set_rx(db, world.rx["lisinopril"], refills_remaining=0)
    with pytest.raises(RefillNotAllowed) as err:
        refill(db, world, "lisinopril")
    assert err.value.renewal_possible
    assert "Dr. Maria Alvarez" in say_error(err.value)
    # A refusal changes nothing but is audited: it told the person about their prescription.
    with db.transaction() as s:
        assert s.scalar(select(func.count(RefillRequest.id))) == 0
    assert actions(db, world.patient) == [("request_refill", "refused")]


def test_controlled_without_refills_needs_a_visit(db: Database, world: World) -> None:
    with pytest.raises(RefillRefused) as err:
        refill(db, world, "oxycodone")
    assert not err.value.renewal_possible
    assert err.value.check.code == "no_refills"
    assert "visit" in say_error(err.value)


def test_expired_prescription_offers_a_renewal_unless_controlled(
    db: Database, world: World
) -> None:
    set_rx(db, world.rx["lisinopril"], expires_on=date(2026, 11, 24))
    with pytest.raises(RefillRefused) as err:
        refill(db, world, "lisinopril")
    assert err.value.check.code == "expired" and err.value.renewal_possible
    assert "Tuesday, November 24" in say_error(err.value)

    set_rx(db, world.rx["oxycodone"], expires_on=date(2026, 11, 24), refills_remaining=2)
    with pytest.raises(RefillRefused) as err:
        refill(db, world, "oxycodone")
    assert err.value.check.code == "expired" and not err.value.renewal_possible


def test_a_prescription_expiring_today_can_still_be_refilled(db: Database, world: World) -> None:
    set_rx(db, world.rx["lisinopril"], expires_on=TODAY)
    assert refill(db, world, "lisinopril").status == "requested"


def test_expiry_is_judged_on_the_clinics_date(db: Database, world: World) -> None:
    # 03:00 UTC on the 26th is still the evening of the 25th in Texas.
    set_rx(db, world.rx["lisinopril"], expires_on=TODAY)
    late = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)
    assert refill(db, world, "lisinopril", now=late).status == "requested"


def test_too_soon_says_the_earliest_date(db: Database, world: World) -> None:
    # 30 days' supply, 75% must pass: 22.5 days, so the 23rd day after 1 November.
    set_rx(db, world.rx["lisinopril"], last_filled_on=date(2026, 11, 1))
    day_before = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)
    with pytest.raises(RefillRefused) as err:
        refill(db, world, "lisinopril", now=day_before)
    assert err.value.check.code == "too_soon"
    assert err.value.check.earliest_refill_on == date(2026, 11, 24)
    assert not err.value.renewal_possible
    assert "Tuesday, November 24" in say_error(err.value)
    on_the_day = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
    assert refill(db, world, "lisinopril", now=on_the_day).status == "requested"


def test_share_used_comes_from_settings(db: Database, world: World) -> None:
    set_rx(db, world.rx["lisinopril"], last_filled_on=date(2026, 11, 10))
    with pytest.raises(RefillRefused):
        refill(db, world, "lisinopril")  # 15 of 30 days
    assert refill(db, world, "lisinopril", settings=Settings(refill_min_share_used=0.5))


def test_an_open_refill_blocks_another(db: Database, world: World) -> None:
    first = refill(db, world, "lisinopril")
    prescriptions.advance_refill(db, first.refill_id, "in_progress", now=NOW)
    with pytest.raises(RefillRefused) as err:
        refill(db, world, "lisinopril")
    assert err.value.check.code == "open_refill"
    assert err.value.check.open_refill_status == "in_progress"
    assert "being filled" in say_error(err.value)
    assert refills_left(db, world.rx["lisinopril"]) == 2


def test_check_refill_changes_nothing(db: Database, world: World) -> None:
    check = prescriptions.check_refill(
        db, Actor(world.patient), world.patient, world.rx["lisinopril"], now=NOW, settings=SETTINGS
    )
    assert check.allowed and check.code == "ok"
    assert "3 refills left" in render(check.key, **check.data)
    assert refills_left(db, world.rx["lisinopril"]) == 3
    assert actions(db, world.patient) == [("check_refill", "ok")]


@pytest.mark.parametrize(
    ("last", "supply", "share", "earliest"),
    [
        (date(2026, 11, 1), 30, 0.75, date(2026, 11, 24)),
        (date(2026, 11, 1), 90, 0.75, date(2027, 1, 8)),  # 67.5 -> 68 days, across the year
        (date(2026, 11, 1), 10, 0.7, date(2026, 11, 8)),  # exactly 7, not 7.000000000000001
        (date(2028, 2, 1), 28, 0.75, date(2028, 2, 22)),
        (None, 30, 0.75, None),
    ],
)
def test_earliest_refill_date_arithmetic(
    last: date | None, supply: int, share: float, earliest: date | None
) -> None:
    assert prescriptions.earliest_refill_on(last, supply, share) == earliest


@given(
    last=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    supply=st.integers(min_value=1, max_value=365),
    elapsed=st.integers(min_value=0, max_value=400),
)
def test_refill_allowed_exactly_when_enough_supply_has_been_used(
    last: date, supply: int, elapsed: int
) -> None:
    rx = Prescription(
        id=1,
        medication="Lisinopril",
        strength="10 mg",
        days_supply=supply,
        refills_remaining=1,
        expires_on=date(2032, 1, 1),
        last_filled_on=last,
        controlled=False,
        active=True,
    )
    check = prescriptions.refill_eligibility(rx, today=last + timedelta(days=elapsed))
    assert check.allowed == (elapsed * 4 >= supply * 3)


# ---------------------------------------------------------------------- who may refill what


def test_parent_may_refill_for_a_teen_but_not_an_adult_child(db: Database) -> None:
    with db.transaction() as s:
        fam = make_family(s, TODAY)
        pharmacy = make_pharmacy(s, fam.clinic)
        teen_rx = add_rx(s, fam.teen, "Albuterol HFA", pharmacy_id=pharmacy.id)
        adult_rx = add_rx(s, fam.adult_child, "Sertraline", pharmacy_id=pharmacy.id)
        ids = fam.sponsor.id, fam.teen.id, fam.adult_child.id
    parent = Actor(ids[0], "voice")
    view = prescriptions.request_refill(db, parent, ids[1], teen_rx, now=NOW, settings=SETTINGS)
    assert view.status == "requested"
    with db.transaction() as s:
        assert s.get(RefillRequest, view.refill_id).requested_by_id == ids[0]
    with pytest.raises(AccessDenied):
        prescriptions.request_refill(db, parent, ids[2], adult_rx, now=NOW, settings=SETTINGS)


def test_someone_elses_prescription_looks_like_a_missing_one(db: Database, world: World) -> None:
    with pytest.raises(PrescriptionNotFound):
        prescriptions.request_refill(
            db, Actor(world.patient), world.patient, world.rx["others"], now=NOW
        )
    with pytest.raises(AccessDenied):
        prescriptions.request_refill(
            db, Actor(world.patient), world.other_patient, world.rx["others"], now=NOW
        )
    assert refills_left(db, world.rx["others"]) == 3


@pytest.mark.parametrize("bad", [0, -1, 2**40, "12", True, None])
def test_bad_prescription_ids(db: Database, world: World, bad: object) -> None:
    with pytest.raises(InvalidInput):
        prescriptions.request_refill(
            db,
            Actor(world.patient),
            world.patient,
            bad,
            now=NOW,  # type: ignore[arg-type]
        )


def test_unknown_prescription_id(db: Database, world: World) -> None:
    with pytest.raises(NotFound):
        prescriptions.check_refill(db, Actor(world.patient), world.patient, 999_999, now=NOW)


# ------------------------------------------------------------------------ pharmacy progress


def test_refill_moves_through_the_pharmacy_with_timed_events(db: Database, world: World) -> None:
    view = refill(db, world, "lisinopril")
    steps = [("in_progress", 1), ("ready", 5), ("picked_up", 30)]
    for status, hours in steps:
        view = prescriptions.advance_refill(
            db, view.refill_id, status, now=NOW + timedelta(hours=hours)
        )
    assert [e.status for e in view.history] == ["requested", "in_progress", "ready", "picked_up"]
    assert [e.at for e in view.history] == [NOW] + [NOW + timedelta(hours=h) for _, h in steps]
    assert view.history[1].local_at.utcoffset() == timedelta(hours=-6)  # Central time
    assert view.history[1].local_at.hour == 10
    assert not view.is_open
    # Picked up (in Texas) on the 26th, so the next refill is counted from then.
    with db.transaction() as s:
        assert s.get(Prescription, world.rx["lisinopril"]).last_filled_on == date(2026, 11, 26)
    with pytest.raises(RefillRefused) as err:
        refill(db, world, "lisinopril", now=NOW + timedelta(days=2))
    assert err.value.check.code == "too_soon"


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ((), "ready"),
        ((), "picked_up"),
        (("in_progress",), "requested"),
        (("in_progress", "ready", "picked_up"), "cancelled"),
        (("cancelled",), "in_progress"),
        (("in_progress", "ready"), "in_progress"),
    ],
)
def test_illegal_refill_transitions(
    db: Database, world: World, path: tuple[str, ...], illegal: str
) -> None:
    view = refill(db, world, "lisinopril")
    for status in path:
        prescriptions.advance_refill(db, view.refill_id, status, now=NOW)
    with pytest.raises(IllegalRefillTransition):
        prescriptions.advance_refill(db, view.refill_id, illegal, now=NOW)
    with db.transaction() as s:
        assert s.get(RefillRequest, view.refill_id).status == (path[-1] if path else "requested")
        events = s.scalar(select(func.count(RefillStatusEvent.id)))
    assert events == 1 + len(path)


def test_cancelling_gives_the_refill_back(db: Database, world: World) -> None:
    view = refill(db, world, "lisinopril")
    prescriptions.advance_refill(db, view.refill_id, "in_progress", now=NOW)
    cancelled = prescriptions.advance_refill(db, view.refill_id, "cancelled", now=NOW)
    assert cancelled.status == "cancelled"
    assert refills_left(db, world.rx["lisinopril"]) == 3
    assert refill(db, world, "lisinopril").status == "requested"  # no longer blocked


def test_cancelled_after_ready_keeps_the_old_fill_date(db: Database, world: World) -> None:
    view = refill(db, world, "lisinopril")
    for status in ("in_progress", "ready", "cancelled"):
        prescriptions.advance_refill(db, view.refill_id, status, now=NOW)
    with db.transaction() as s:
        rx = s.get(Prescription, world.rx["lisinopril"])
        assert (rx.last_filled_on, rx.refills_remaining) == (date(2026, 10, 20), 3)


def test_concurrent_requests_spend_one_refill(db: Database, world: World) -> None:
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            refill(db, world, "lisinopril")
            outcomes.append("ok")
        except RefillRefused as err:
            outcomes.append(err.check.code)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The first to take the lock spends the refill; the others then see its open refill.
    assert sorted(outcomes) == ["ok", "open_refill", "open_refill", "open_refill"]
    assert refills_left(db, world.rx["lisinopril"]) == 2
    with db.transaction() as s:
        assert s.scalar(select(func.count(RefillRequest.id))) == 1


@pytest.mark.parametrize("status", ["shipped", "", ["ready"], None])
def test_advance_refill_bad_input(db: Database, world: World, status: object) -> None:
    view = refill(db, world, "lisinopril")
    with pytest.raises(InvalidInput):
        prescriptions.advance_refill(db, view.refill_id, status, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(RefillNotFound):
        prescriptions.advance_refill(db, 999_999, "ready", now=NOW)


def test_refill_status_newest_first_with_pharmacy(db: Database, world: World) -> None:
    first = refill(db, world, "lisinopril")
    second = refill(db, world, "amlodipine", now=NOW + timedelta(hours=1))
    actor = Actor(world.patient)
    views = prescriptions.refill_status(db, actor, world.patient, now=NOW + timedelta(hours=2))
    assert [v.refill_id for v in views] == [second.refill_id, first.refill_id]
    assert views[1].pharmacy.phone == "254-288-8888"
    assert views[1].pharmacy.time_zone == "America/Chicago"
    only = prescriptions.refill_status(
        db, actor, world.patient, prescription_id=world.rx["lisinopril"], now=NOW
    )
    assert [v.refill_id for v in only] == [first.refill_id]
    with pytest.raises(PrescriptionNotFound):
        prescriptions.refill_status(
            db, actor, world.patient, prescription_id=world.rx["others"], now=NOW
        )


# ----------------------------------------------------------------------------------- renewals


def test_control_and_bidirectional_characters_are_dropped_from_notes(
    db: Database, world: World
) -> None:
    view = prescriptions.request_renewal(
        db,
        Actor(world.patient, "web"),
        world.patient,
        world.rx["lisinopril"],
        note="\u202eplease\u202c\x00 renew\r\nthanks",
        now=NOW,
    )
    with db.transaction() as s:
        assert s.get(RenewalRequest, view.renewal_id).note == "please renew\nthanks"
    assert view.note == "please renew\nthanks"


def test_renewal_goes_to_the_prescribers_queue(db: Database, world: World) -> None:
    note = "Out of town till 12/10 😅 -- '; DROP TABLE renewal_requests; --"
    view = prescriptions.request_renewal(
        db, Actor(world.patient, "web"), world.patient, world.rx["lisinopril"], note=note, now=NOW
    )
    assert view.status == "pending" and view.prescriber == world.prescriber_name
    assert view.note == note
    with db.transaction() as s:
        row = s.get(RenewalRequest, view.renewal_id)
        pcm_id = s.get(Patient, world.patient).pcm_id
        assert row.prescriber_id == pcm_id
        assert row.note == note
    assert actions(db, world.patient) == [("request_renewal", "ok")]


def test_duplicate_renewal_is_a_friendly_error(db: Database, world: World) -> None:
    actor = Actor(world.patient)
    prescriptions.request_renewal(db, actor, world.patient, world.rx["lisinopril"], now=NOW)
    with pytest.raises(DuplicateRenewal) as err:
        prescriptions.request_renewal(db, actor, world.patient, world.rx["lisinopril"], now=NOW)
    assert "already" in say_error(err.value) and "Alvarez" in say_error(err.value)
    with db.transaction() as s:
        assert s.scalar(select(func.count(RenewalRequest.id))) == 1


def test_controlled_substances_cannot_be_renewed_online(db: Database, world: World) -> None:
    with pytest.raises(RenewalNotAllowed) as err:
        prescriptions.request_renewal(
            db, Actor(world.patient), world.patient, world.rx["oxycodone"], now=NOW
        )
    assert "visit" in say_error(err.value)
    with db.transaction() as s:
        assert s.scalar(select(func.count(RenewalRequest.id))) == 0


def test_discontinued_cannot_be_renewed(db: Database, world: World) -> None:
    with pytest.raises(RenewalNotAllowed):
        prescriptions.request_renewal(
            db, Actor(world.patient), world.patient, world.rx["old"], now=NOW
        )


def test_renewal_note_too_long(db: Database, world: World) -> None:
    with pytest.raises(InvalidInput):
        prescriptions.request_renewal(
            db, Actor(world.patient), world.patient, world.rx["lisinopril"], note="x" * 10_240
        )


def test_an_emergency_in_a_renewal_note_is_not_queued(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The detector is still a stub (another change); stand in for it in this test only.
    def detect(text: str) -> safety.Finding | None:
        return (
            safety.Finding(kind="medical", trigger="chest pain") if "chest pain" in text else None
        )

    monkeypatch.setattr(safety, "detect", detect)
    with pytest.raises(EmergencyInMessage) as err:
        prescriptions.request_renewal(
            db,
            Actor(world.patient),
            world.patient,
            world.rx["lisinopril"],
            note="I have crushing chest pain since this morning",
            now=NOW,
        )
    assert err.value.finding.kind == "medical"
    with db.transaction() as s:
        assert s.scalar(select(func.count(RenewalRequest.id))) == 0


# --------------------------------------------------------------------------------- pharmacies


def test_list_and_find_pharmacies(db: Database, world: World) -> None:
    with db.transaction() as s:
        clinic = make_clinic(s, name="Robinson Health Clinic")
        s.add(
            Pharmacy(
                code="bamc-px",
                name="BAMC Post Exchange Pharmacy",
                clinic_id=clinic.id,
                phone="210-916-0000",
                time_zone="America/Chicago",
            )
        )
    listed = prescriptions.list_pharmacies(db)
    assert len(listed) == 3
    found = prescriptions.find_pharmacy(db, "post exhange")
    assert found.name == "BAMC Post Exchange Pharmacy"
    assert prescriptions.find_pharmacy(db, "Robinson").name == found.name
    with pytest.raises(AmbiguousPharmacy) as err:
        prescriptions.find_pharmacy(db, "main outpatient")
    assert len(err.value.choices) == 2
    names = [c.name for c in err.value.choices]
    assert say_error(err.value) == f"Which pharmacy do you mean: {names[0]} or {names[1]}?"
    with pytest.raises(PharmacyNotFound) as err:
        prescriptions.find_pharmacy(db, "walgreens on 5th")
    everyone = sorted(listed, key=lambda p: (p.name, p.id))
    assert say_error(err.value) == (
        "Sorry, I couldn't find that pharmacy. The pharmacies are: "
        + ", ".join(p.name for p in everyone)
        + "."
    )
    with pytest.raises(InvalidInput) as err:
        prescriptions.find_pharmacy(db, "the pharmacy")
    assert say_error(err.value) == "Which pharmacy would you like? You can say its name."
    with pytest.raises(InvalidInput) as err:
        prescriptions.find_pharmacy(db, None)  # type: ignore[arg-type]
    assert say_error(err.value) == "Sorry, I couldn't read that pharmacy name."
    with pytest.raises(InvalidInput) as err:
        prescriptions.find_pharmacy(db, "p" * 201)
    assert say_error(err.value) == (
        "Sorry, that pharmacy name is too long (201 characters). Please keep it under 200 "
        "characters."
    )


def test_the_bots_renewal_check_is_the_services_rule(db: Database, world: World) -> None:
    """`renewal_refusal` (asked by the bot before it asks "Shall I?") refuses what
    `request_renewal` refuses, in the same words, and lets through what it accepts."""
    actor = Actor(world.patient)
    meds = {
        m.prescription_id: m
        for m in prescriptions.list_medications(
            db, actor, world.patient, include_inactive=True, now=NOW
        )
    }
    for name in ("oxycodone", "old"):
        refusal = prescriptions.renewal_refusal(meds[world.rx[name]])
        assert refusal is not None
        with pytest.raises(RenewalNotAllowed) as err:
            prescriptions.request_renewal(db, actor, world.patient, world.rx[name], now=NOW)
        assert say_error(err.value) == say_error(refusal)
        assert err.value.needs_visit == refusal.needs_visit == (name == "oxycodone")
    assert prescriptions.renewal_refusal(meds[world.rx["lisinopril"]]) is None


# --- What the patient reads: the catalogue's words for each refusal, exactly as they were ----


def _said(call: Callable[[], object]) -> str:
    try:
        call()
    except PortalError as error:
        return say_error(error)
    raise AssertionError("no refusal")


def test_every_refusal_reads_as_before(db: Database, world: World) -> None:
    """The sentences moved from the domain to the catalogue word for word (web, SMS and voice
    share them); each is checked whole, with the data the domain gives it."""
    me = Actor(world.patient)

    def find(text: object) -> Callable[[], object]:
        return lambda: prescriptions.find_medication(db, me, world.patient, text, now=NOW)  # type: ignore[arg-type]

    def renew(name: str, **kwargs: object) -> Callable[[], object]:
        return lambda: prescriptions.request_renewal(
            db,
            me,
            world.patient,
            world.rx[name],
            now=NOW,
            **kwargs,  # type: ignore[arg-type]
        )

    assert _said(find("xyzzy")) == (
        'I couldn\'t find "xyzzy" on your medication list. Your current medications are: '
        "Albuterol HFA 90 mcg/actuation, Amlodipine 5 mg, Lisinopril 10 mg, Oxycodone 5 mg."
    )
    assert _said(find("my blood pressure pill")) == (
        "Which one do you mean: Amlodipine 5 mg or Lisinopril 10 mg?"
    )
    assert _said(find("")) == "Which medication do you mean? You can say its name."
    assert _said(find(42)) == "Sorry, I couldn't read that medication name."
    assert _said(find("x" * 1234)) == (
        "Sorry, that medication name is too long (1,234 characters). Please keep it under 200 "
        "characters."
    )
    assert _said(lambda: refill(db, world, "old")) == (
        "Metformin 500 mg is no longer an active prescription, so it can't be refilled. If you "
        "still need it, please message your care team."
    )
    assert _said(lambda: refill(db, world, "oxycodone")) == (
        "There are no refills left on Oxycodone 5 mg. Because it's a controlled medication, it "
        "can't be renewed online; Dr. Maria Alvarez, MD needs to see you for a visit first. I "
        "can help you book one."
    )
    set_rx(db, world.rx["amlodipine"], refills_remaining=0)
    assert _said(lambda: refill(db, world, "amlodipine")) == (
        "There are no refills left on Amlodipine 5 mg. I can send a renewal request to Dr. Maria "
        "Alvarez, MD."
    )
    set_rx(db, world.rx["oxycodone"], expires_on=date(2026, 11, 24), refills_remaining=2)
    assert _said(lambda: refill(db, world, "oxycodone")) == (
        "The prescription for Oxycodone 5 mg expired on Tuesday, November 24, so it can't be "
        "refilled. Because it's a controlled medication, it can't be renewed online; Dr. Maria "
        "Alvarez, MD needs to see you for a visit first. I can help you book one."
    )
    set_rx(db, world.rx["amlodipine"], expires_on=date(2026, 11, 24), refills_remaining=2)
    assert _said(lambda: refill(db, world, "amlodipine")) == (
        "The prescription for Amlodipine 5 mg expired on Tuesday, November 24, so it can't be "
        "refilled. I can send a renewal request to Dr. Maria Alvarez, MD."
    )
    set_rx(db, world.rx["lisinopril"], last_filled_on=date(2026, 11, 1))
    day_before = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)
    assert _said(lambda: refill(db, world, "lisinopril", now=day_before)) == (
        "It's too soon to refill Lisinopril 10 mg: it was last filled on Sunday, November 1. You "
        "can request a refill on or after Tuesday, November 24."
    )
    set_rx(db, world.rx["lisinopril"], last_filled_on=date(2026, 10, 20))
    opened = refill(db, world, "lisinopril")
    assert _said(lambda: refill(db, world, "lisinopril")) == (
        "A refill of Lisinopril 10 mg is already requested, so there's no need to request "
        "another one."
    )
    advance = prescriptions.advance_refill
    assert _said(lambda: advance(db, opened.refill_id, "picked_up", now=NOW)) == (
        "A refill that is requested can't become picked up."
    )
    assert _said(lambda: advance(db, opened.refill_id, "lost", now=NOW)) == (
        "Unknown refill status 'lost'."
    )
    assert _said(lambda: advance(db, 987_654, "ready", now=NOW)) == (
        "Sorry, I couldn't find that refill request."
    )
    assert _said(lambda: prescriptions.refill_status(db, me, world.patient, limit=0, now=NOW)) == (
        "Please ask for between 1 and 100 refills."
    )
    assert _said(lambda: prescriptions.check_refill(db, me, world.patient, 987_654, now=NOW)) == (
        "Sorry, I couldn't find that prescription on the record."
    )
    assert _said(renew("oxycodone")) == (
        "Oxycodone 5 mg is a controlled medication, so it can't be renewed online. Dr. Maria "
        "Alvarez, MD needs to see you for a visit before writing a new prescription. I can help "
        "you book an appointment."
    )
    assert _said(renew("old")) == (
        "Metformin 500 mg is no longer an active prescription, so it can't be renewed online. "
        "Please message your care team if you still need it."
    )
    assert _said(renew("lisinopril", note=7)) == "Sorry, I couldn't read that note."
    assert _said(renew("lisinopril", note="n" * 2500)) == (
        "Sorry, that note is too long (2,500 characters). Please keep it under 2,000 characters."
    )
    renew("lisinopril")()
    assert _said(renew("lisinopril")) == (
        "You already asked for Lisinopril 10 mg to be renewed on Wednesday, November 25. It's "
        "waiting in Dr. Maria Alvarez, MD's queue, so there's no need to ask again."
    )
