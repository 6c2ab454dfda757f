"""The demo population: deterministic, anchored on its date, and covering every case.

Most checks read one seeded database per backend (built once for this module, in databases of
its own); the tests that seed themselves use `db` or fresh SQLite files.
"""

from __future__ import annotations

import math
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from portal_core.business_days import is_business_day
from portal_core.clock import age_on
from portal_core.config import Settings
from portal_core.database import Database
from portal_core.models import (
    Appointment,
    AppointmentType,
    Base,
    BookingPolicy,
    CareTeamMember,
    Clinic,
    Guardianship,
    Immunization,
    LabResult,
    Patient,
    Pharmacy,
    Prescription,
    Provider,
    ProxyGrant,
    RefillRequest,
    RefillStatusEvent,
    Report,
    Slot,
)
from portal_core.models.pharmacy import REFILL_STATUSES
from portal_core.models.records import REPORT_KINDS
from portal_core.seed import (
    DEMO_IDENTITIES,
    AlreadySeeded,
    demo_accounts,
    demo_identity_rows,
    seed,
    seed_if_empty,
)
from tests.conftest import PG_ADMIN_URL

# A Monday four days before Independence Day, so the slot calendar must skip a holiday.
TODAY = date(2025, 6, 30)
MIDNIGHT = datetime.combine(TODAY, time(0), tzinfo=timezone.utc)
OPENS, CLOSES = time(7, 30), time(16, 0)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """The demo data seeded for TODAY, once per backend, for read-only checks."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path_factory.mktemp('seed') / 'portal.db'}")
        database.create_schema()
        seed(database, today=TODAY)
        yield database
        database.dispose()
        return
    request.getfixturevalue("postgres_url")  # skips, with the reason, when PostgreSQL is absent
    name = f"genesis_seed_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        database.create_schema()
        seed(database, today=TODAY)
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def session(seeded: Database) -> Iterator[Session]:
    with seeded.transaction() as session:
        yield session


def _fresh(path: Path) -> Database:
    database = Database(f"sqlite:///{path}")
    database.create_schema()
    return database


# ---------------------------------------------------------------------------------------------
# Determinism and idempotence


def test_the_same_date_gives_identical_rows(tmp_path: Path) -> None:
    first, second = _fresh(tmp_path / "a.db"), _fresh(tmp_path / "b.db")
    try:
        seed(first, today=TODAY)
        seed(second, today=TODAY)
        for table in Base.metadata.sorted_tables:
            query = select(table).order_by(*table.primary_key.columns)
            with first.engine.connect() as a, second.engine.connect() as b:
                rows = a.execute(query).all()
                assert rows == b.execute(query).all(), table.name
    finally:
        first.dispose()
        second.dispose()


def test_another_date_moves_the_calendar_with_it(tmp_path: Path) -> None:
    database = _fresh(tmp_path / "later.db")
    later = TODAY + timedelta(days=100)
    try:
        seed(database, today=later)
        with database.transaction() as session:
            first_slot = session.scalar(select(func.min(Slot.starts_at)))
            kid = session.scalar(select(Patient).where(Patient.first_name == "Sofia"))
            assert first_slot >= datetime.combine(later + timedelta(days=1), time(0), timezone.utc)
            assert age_on(kid.date_of_birth, later) == 8
    finally:
        database.dispose()


def test_seed_if_empty_seeds_once(sqlite_db: Database) -> None:
    assert seed_if_empty(sqlite_db, TODAY) is True
    counts = _counts(sqlite_db)

    assert seed_if_empty(sqlite_db, TODAY) is False
    assert seed_if_empty(sqlite_db) is False
    assert _counts(sqlite_db) == counts
    with pytest.raises(AlreadySeeded):
        seed(sqlite_db, today=TODAY)
    assert _counts(sqlite_db) == counts


def test_seed_runs_on_each_backend(db: Database) -> None:
    summary = seed(db, today=TODAY)

    assert _counts(db) == {
        "patients": summary.patients,
        "slots": summary.slots,
        "prescriptions": summary.prescriptions,
    }
    assert summary.patients == len(DEMO_IDENTITIES)
    assert summary.clinics >= 9
    assert 1000 <= summary.slots <= 5000
    assert seed_if_empty(db, TODAY) is False


def _counts(database: Database) -> dict[str, int]:
    with database.transaction() as session:
        models = {"patients": Patient, "slots": Slot, "prescriptions": Prescription}
        return {
            name: session.scalar(select(func.count()).select_from(model))
            for name, model in models.items()
        }


# ---------------------------------------------------------------------------------------------
# People


def _family_of(session: Session, sponsor: Patient) -> tuple[Patient | None, list[Patient]]:
    members = session.scalars(select(Patient).where(Patient.sponsor_id == sponsor.id)).all()
    spouse = next((m for m in members if m.relationship_to_sponsor == "spouse"), None)
    return spouse, [m for m in members if m.relationship_to_sponsor == "child"]


def test_families_have_children_aged_8_14_and_19_with_both_parents_as_guardians(
    session: Session,
) -> None:
    sponsors = session.scalars(select(Patient).where(Patient.sponsor_id.is_(None))).all()
    families = 0
    for sponsor in sponsors:
        spouse, children = _family_of(session, sponsor)
        if spouse is None:
            continue
        families += 1
        assert sorted(age_on(c.date_of_birth, TODAY) for c in children) == [8, 14, 19]
        for child in children:
            guardians = set(
                session.scalars(
                    select(Guardianship.guardian_id).where(Guardianship.dependent_id == child.id)
                )
            )
            assert guardians == {sponsor.id, spouse.id}, child.first_name
    assert families >= 3


def test_overseas_families_live_near_their_clinics(session: Session) -> None:
    countries = {
        clinic.country
        for clinic in session.scalars(
            select(Clinic).join(Patient, Patient.home_clinic_id == Clinic.id)
        )
    }
    assert {"US", "DE", "JP"} <= countries


def test_identifiers_are_unique_and_clearly_fictional(session: Session) -> None:
    patients = session.scalars(select(Patient)).all()
    dod_ids = [p.dod_id for p in patients]

    assert len(set(dod_ids)) == len(dod_ids)
    assert all(re.fullmatch(r"9999\d{6}", d) for d in dod_ids)
    assert all(re.fullmatch(r"\+1\d{3}55501\d{2}", p.phone or "") for p in patients)
    assert all(p.email is None or p.email.endswith("@example.com") for p in patients)
    by_phone = defaultdict(list)
    for p in patients:
        by_phone[p.phone].append(p)
    assert any(len(people) > 1 for people in by_phone.values()), "a household phone is shared"
    assert {p.sms_health_consent for p in patients} == {True, False}


def test_a_basic_retiree_and_an_explicit_proxy_grant(session: Session) -> None:
    basic = session.scalars(select(Patient).where(Patient.assurance_level == "basic")).all()
    assert len(basic) == 1 and age_on(basic[0].date_of_birth, TODAY) >= 60

    grant = session.scalars(select(ProxyGrant)).one()
    grantor = session.get(Patient, grant.grantor_id)
    assert age_on(grantor.date_of_birth, TODAY) >= 18
    assert grant.revoked_at is None
    assert grant.granted_at < MIDNIGHT
    assert TODAY + timedelta(days=300) <= grant.expires_on <= TODAY + timedelta(days=366)
    assert grant.grantee_id in set(
        session.scalars(
            select(Guardianship.guardian_id).where(Guardianship.dependent_id == grantor.id)
        )
    )


def test_every_patient_has_a_pcm_nurse_and_medical_assistant(session: Session) -> None:
    for patient in session.scalars(select(Patient)):
        team = session.scalars(
            select(CareTeamMember).where(CareTeamMember.patient_id == patient.id)
        ).all()
        credentials = {m.provider.credentials for m in team}
        pcm = [m for m in team if "PCM" in m.role]
        assert len(pcm) == 1 and pcm[0].provider_id == patient.pcm_id, patient.first_name
        assert pcm[0].provider.credentials in {"MD", "DO", "NP", "PA-C"}
        assert {"RN", "CMA"} <= credentials, patient.first_name
        assert session.get(Provider, patient.pcm_id).clinic_id == patient.home_clinic_id


def test_demo_identities_describe_the_seeded_people(seeded: Database) -> None:
    rows = demo_identity_rows(seeded, today=TODAY)

    assert [r.name for r in rows] == [d.full_name for d in DEMO_IDENTITIES]
    assert all(r.seeded for r in rows)
    with seeded.transaction() as session:
        for ident, row in zip(DEMO_IDENTITIES, rows, strict=True):
            patient = session.scalar(select(Patient).where(Patient.dod_id == ident.dod_id))
            assert patient.date_of_birth == ident.date_of_birth(TODAY) == row.date_of_birth
            assert age_on(patient.date_of_birth, TODAY) == ident.age == row.age
            assert (patient.phone, patient.assurance_level) == (ident.phone, ident.account)
            assert row.dod_last4 == patient.dod_id[-4:]
            assert row.try_this


def test_the_demo_sign_in_offers_the_stored_people_old_enough_to_sign_in(
    seeded: Database, sqlite_db: Database
) -> None:
    accounts = demo_accounts(seeded)

    assert [a.name for a in accounts] == [d.full_name for d in DEMO_IDENTITIES if d.age >= 12]
    assert "Sofia Rivera" not in {a.name for a in accounts}  # 8: her parents act for her
    with seeded.transaction() as session:
        for account in accounts:
            patient = session.get(Patient, account.patient_id)
            assert f"{patient.first_name} {patient.last_name}" == account.name
            assert patient.assurance_level == account.assurance_level
    assert {a.assurance_level for a in accounts} == {"premium", "basic"}
    assert demo_accounts(sqlite_db) == []  # nothing seeded, nothing to sign in as


def test_demo_identities_without_a_database_are_computed_for_the_date() -> None:
    later = TODAY + timedelta(days=40)
    rows = demo_identity_rows(None, today=later)

    assert not any(r.seeded for r in rows)
    assert [r.age for r in rows] == [d.age for d in DEMO_IDENTITIES]
    assert all(
        r.date_of_birth == d.date_of_birth(later)
        for r, d in zip(rows, DEMO_IDENTITIES, strict=True)
    )


# ---------------------------------------------------------------------------------------------
# Clinics and the schedule

EXPECTED_ZONES = {
    "darnall-fm": ("America/Chicago", "US"),
    "darnall-peds": ("America/Chicago", "US"),
    "nmcsd-fm": ("America/Los_Angeles", "US"),
    "walter-reed-bh": ("America/New_York", "US"),
    "landstuhl-pc": ("Europe/Berlin", "DE"),
    "yokosuka-fm": ("Asia/Tokyo", "JP"),
    "humphreys-fm": ("Asia/Seoul", "KR"),
    "naples-pc": ("Europe/Rome", "IT"),
}


def test_clinics_at_home_and_overseas_with_their_time_zones(session: Session) -> None:
    clinics = {c.code: c for c in session.scalars(select(Clinic))}

    for code, (zone, country) in EXPECTED_ZONES.items():
        assert (clinics[code].time_zone, clinics[code].country) == (zone, country)
    for clinic in clinics.values():
        ZoneInfo(clinic.time_zone)
        assert clinic.phone and clinic.city and clinic.facility


def test_every_clinic_states_a_policy_for_every_type(session: Session) -> None:
    types = {t.id: t for t in session.scalars(select(AppointmentType))}
    policies = session.scalars(select(BookingPolicy)).all()
    per_clinic = defaultdict(set)
    for policy in policies:
        per_clinic[policy.clinic_id].add(policy.appointment_type_id)
    assert all(ids == set(types) for ids in per_clinic.values())
    assert len(per_clinic) == session.scalar(select(func.count()).select_from(Clinic))

    intake = [
        p for p in policies if types[p.appointment_type_id].code == "behavioral_health_intake"
    ]
    assert intake and all(p.mode == "request_only" for p in intake if p.offered)
    modes = {p.mode for p in policies if p.offered}
    assert modes == {"direct", "request_only"}


def test_appointment_types_and_their_questionnaires(session: Session) -> None:
    questionnaires = {t.code: t.questionnaire for t in session.scalars(select(AppointmentType))}

    assert questionnaires["wellness"] == "Annual wellness questionnaire"
    assert questionnaires["behavioral_health_intake"] == "PHQ-9 and GAD-7"
    assert questionnaires["well_child"] and questionnaires["pha"]
    expected = {"follow_up", "acute", "immunization", "womens_health", "sports_physical"}
    assert expected | {"telehealth"} <= set(questionnaires)


def test_slots_are_future_clinic_local_business_hours(session: Session) -> None:
    _assert_slots_sound(session, TODAY)


@pytest.mark.parametrize(
    "today",
    [date(2025, 3, 3), date(2025, 11, 17), date(2028, 2, 28)],
    ids=["daylight-saving-changes", "thanksgiving", "leap-day"],
)
def test_slots_stay_sound_across_clock_changes_and_holidays(tmp_path: Path, today: date) -> None:
    database = _fresh(tmp_path / "portal.db")
    try:
        seed(database, today=today)
        with database.transaction() as session:
            _assert_slots_sound(session, today)
    finally:
        database.dispose()


def _assert_slots_sound(session: Session, today: date) -> None:
    not_before = datetime.combine(today + timedelta(days=1), time(0), tzinfo=timezone.utc)
    rows = session.execute(
        select(Slot, Clinic.time_zone, BookingPolicy.mode, BookingPolicy.offered)
        .join(Clinic, Slot.clinic_id == Clinic.id)
        .join(
            BookingPolicy,
            (BookingPolicy.clinic_id == Slot.clinic_id)
            & (BookingPolicy.appointment_type_id == Slot.appointment_type_id),
        )
        .order_by(Slot.provider_id, Slot.starts_at)
    ).all()
    assert 1000 <= len(rows) <= 5000
    previous_end: dict[int, datetime] = {}
    for slot, zone, mode, offered in rows:
        local = slot.starts_at.astimezone(ZoneInfo(zone))
        ends = local + timedelta(minutes=slot.duration_minutes)
        assert slot.starts_at >= not_before, slot.starts_at
        assert local.date() <= today + timedelta(days=28)
        assert is_business_day(local.date()), local
        assert local.minute in (0, 30) and local.second == 0
        assert local.time() >= OPENS and ends.time() <= CLOSES and ends.date() == local.date()
        assert not (local.time() < time(13) and ends.time() > time(12)), "clear of lunch"
        assert (mode, offered) == ("direct", True)
        if slot.provider_id in previous_end:
            assert slot.starts_at >= previous_end[slot.provider_id], "no double-booked clinician"
        previous_end[slot.provider_id] = slot.starts_at + timedelta(minutes=slot.duration_minutes)
    assert len({slot.clinic_id for slot, *_ in rows}) == session.scalar(
        select(func.count()).select_from(Clinic)
    )


def test_a_few_slots_are_booked_and_one_was_cancelled(session: Session) -> None:
    appointments = session.scalars(select(Appointment)).all()
    booked = [a for a in appointments if a.status == "booked"]

    assert 3 <= len(booked) <= 20
    assert len({a.slot_id for a in booked}) == len(booked)
    assert any(a.status == "cancelled" and a.cancelled_at for a in appointments)
    for appointment in appointments:
        assert appointment.slot.starts_at > MIDNIGHT
        assert appointment.created_at < MIDNIGHT
        assert appointment.questionnaire == appointment.slot.appointment_type.questionnaire


def test_military_pharmacies_per_installation_and_retail_network(session: Session) -> None:
    pharmacies = session.scalars(select(Pharmacy)).all()
    military_at = {p.clinic_id for p in pharmacies if p.military and p.clinic_id}
    primary_care = session.scalars(select(Clinic).where(Clinic.service != "Behavioral Health"))

    assert sum(not p.military for p in pharmacies) >= 2
    for clinic in primary_care:
        facility_clinics = set(
            session.scalars(select(Clinic.id).where(Clinic.facility == clinic.facility))
        )
        assert military_at & facility_clinics, clinic.facility
    for pharmacy in pharmacies:
        ZoneInfo(pharmacy.time_zone)


# ---------------------------------------------------------------------------------------------
# Medications


def _refill_state(rx: Prescription, open_refill: bool, today: date) -> str:
    """The situation a patient asking for a refill is in (mirrors the pharmacy's rules)."""
    if not rx.active:
        return "discontinued"
    if open_refill:
        return "open refill"
    if rx.expires_on < today:
        return "expired, controlled" if rx.controlled else "expired, renewable"
    if rx.refills_remaining == 0:
        return "no refills, controlled" if rx.controlled else "no refills, renewable"
    share = Settings().refill_min_share_used
    earliest = rx.last_filled_on + timedelta(days=math.ceil(share * rx.days_supply))
    # A margin of two days either way, so the answer is the same in every clinic's time zone.
    if earliest <= today - timedelta(days=2):
        return "due now"
    if earliest > today + timedelta(days=2):
        return "too soon"
    return "borderline"


def test_prescriptions_in_every_refill_situation(session: Session) -> None:
    open_ids = set(
        session.scalars(
            select(RefillRequest.prescription_id).where(
                RefillRequest.status.in_(("requested", "in_progress", "ready"))
            )
        )
    )
    states = [
        _refill_state(rx, rx.id in open_ids, TODAY) for rx in session.scalars(select(Prescription))
    ]

    assert "borderline" not in states
    assert {
        "due now",
        "too soon",
        "no refills, renewable",
        "no refills, controlled",
        "expired, renewable",
        "expired, controlled",
        "discontinued",
        "open refill",
    } <= set(states)


def test_refill_requests_in_every_status_with_their_history(session: Session) -> None:
    refills = session.scalars(select(RefillRequest)).all()

    assert {r.status for r in refills} == set(REFILL_STATUSES)
    for refill in refills:
        events = session.scalars(
            select(RefillStatusEvent)
            .where(RefillStatusEvent.refill_id == refill.id)
            .order_by(RefillStatusEvent.at, RefillStatusEvent.id)
        ).all()
        assert events[0].status == "requested" and events[0].at == refill.requested_at
        assert events[-1].status == refill.status and events[-1].at == refill.updated_at
        assert all(a.at <= b.at for a, b in zip(events, events[1:], strict=False))
        assert refill.updated_at < MIDNIGHT
        assert refill.patient_id == refill.prescription.patient_id
        if refill.status in ("ready", "picked_up"):
            ready = next(e for e in events if e.status == "ready")
            assert refill.prescription.last_filled_on == ready.at.date()


def test_realistic_medications(session: Session) -> None:
    names = " ".join(session.scalars(select(Prescription.medication))).lower()
    for drug in (
        "lisinopril",
        "atorvastatin",
        "metformin",
        "albuterol",
        "sertraline",
        "levothyroxine",
        "amoxicillin",
        "montelukast",
        "methylphenidate",
        "oxycodone",
    ):
        assert drug in names
    teen_adhd = session.scalar(
        select(Prescription).where(Prescription.medication.like("methylphenidate%"))
    )
    assert teen_adhd.controlled
    assert age_on(session.get(Patient, teen_adhd.patient_id).date_of_birth, TODAY) == 14


# ---------------------------------------------------------------------------------------------
# Records


def test_lab_results_of_every_status_and_flag(session: Session) -> None:
    labs = session.scalars(select(LabResult)).all()
    finals = [lab for lab in labs if lab.status == "final"]
    preliminary = [lab for lab in labs if lab.status == "preliminary"]

    assert {"normal", "high", "low", "critical_high"} <= {lab.flag for lab in labs}
    assert any(lab.reviewed_at for lab in finals) and any(not lab.reviewed_at for lab in finals)
    assert preliminary and all(not lab.reviewed_at for lab in preliminary)
    assert all(lab.collected_at < MIDNIGHT for lab in labs)
    assert all(lab.reviewed_by_id for lab in labs if lab.reviewed_at)
    panels = {lab.panel or lab.test_name for lab in labs}
    for wanted in ("CBC", "CMP", "Lipid", "A1c", "TSH"):
        assert any(wanted in name for name in panels | {lab.test_name for lab in labs}), wanted
    numeric = [lab for lab in labs if lab.numeric_value is not None]
    assert all(lab.unit for lab in numeric)


def test_reports_of_every_kind(session: Session) -> None:
    reports = session.scalars(select(Report)).all()

    assert {r.kind for r in reports} == set(REPORT_KINDS)
    assert {"preliminary", "final"} == {r.status for r in reports}
    titles = " ".join(r.title.lower() for r in reports)
    assert "chest" in titles and "mri knee" in titles and "skin biopsy" in titles
    assert any(r.status == "final" and not r.reviewed_at for r in reports)


def test_immunizations_for_adults_teens_and_children(session: Session) -> None:
    shots = session.execute(select(Immunization, Patient).join(Patient)).all()
    given: dict[int, str] = defaultdict(str)
    for shot, patient in shots:
        given[age_on(patient.date_of_birth, TODAY)] += f" {shot.vaccine.lower()}"
        assert patient.date_of_birth <= shot.administered_on < TODAY

    everyone = " ".join(given.values())
    assert "influenza" in everyone and "covid-19" in everyone and "tdap" in everyone
    assert "hpv" in given[14]
    assert "mmr" in given[8]


def test_records_from_the_health_information_exchange(session: Session) -> None:
    for model in (LabResult, Report, Immunization):
        sources = set(session.scalars(select(model.source_org).where(model.source_org.isnot(None))))
        assert sources and all("Baylor Scott & White" in s for s in sources), model.__name__
