"""Small builders for test data; each test states the few facts it depends on."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy.orm import Session

from portal_core.models import Clinic, Guardianship, Patient, Pharmacy, Provider

_ids = itertools.count(1)
Row = TypeVar("Row")


def stored(session: Session, row: Row) -> Row:
    """`row` added and flushed, so that the database has given it its id (and defaults)."""
    session.add(row)
    session.flush()
    return row


def years_before(on: date, years: int, days_after: int = 0) -> date:
    """A birth date that makes someone `years` old on `on` (plus `days_after` days older)."""
    from datetime import timedelta

    try:
        born = on.replace(year=on.year - years)
    except ValueError:  # 29 February
        born = on.replace(year=on.year - years, day=28)
    return born - timedelta(days=days_after)


def make_clinic(
    session: Session,
    *,
    code: str | None = None,
    name: str = "Family Medicine Clinic",
    time_zone: str = "America/Chicago",
    country: str = "US",
) -> Clinic:
    n = next(_ids)
    clinic = Clinic(
        code=code or f"clinic-{n}",
        name=name,
        facility="Carl R. Darnall Army Medical Center",
        time_zone=time_zone,
        phone="254-288-8000",
        country=country,
        city="Fort Cavazos",
    )
    return stored(session, clinic)


def make_provider(session: Session, clinic: Clinic, *, name: str | None = None) -> Provider:
    provider = Provider(name=name or f"Dr. Test {next(_ids)}", clinic_id=clinic.id)
    return stored(session, provider)


def make_pharmacy(session: Session, clinic: Clinic | None = None) -> Pharmacy:
    n = next(_ids)
    pharmacy = Pharmacy(
        code=f"pharmacy-{n}",
        name=f"Main Outpatient Pharmacy {n}",
        clinic_id=clinic.id if clinic else None,
        phone="254-288-8888",
        time_zone=clinic.time_zone if clinic else "America/Chicago",
    )
    return stored(session, pharmacy)


def make_patient(
    session: Session,
    *,
    first_name: str = "Pat",
    last_name: str = "Doe",
    date_of_birth: date = date(1985, 6, 15),
    dod_id: str | None = None,
    phone: str | None = "+12545550100",
    assurance_level: str = "premium",
    sponsor: Patient | None = None,
    relationship: str = "self",
    pcm: Provider | None = None,
    clinic: Clinic | None = None,
) -> Patient:
    n = next(_ids)
    patient = Patient(
        dod_id=dod_id or f"{1200000000 + n:010d}",
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        phone=phone,
        email=f"{first_name.lower()}.{n}@example.mil",
        assurance_level=assurance_level,
        sponsor_id=sponsor.id if sponsor else None,
        relationship_to_sponsor=relationship,
        pcm_id=pcm.id if pcm else None,
        home_clinic_id=clinic.id if clinic else None,
    )
    return stored(session, patient)


@dataclass
class Family:
    clinic: Clinic
    pcm: Provider
    sponsor: Patient
    spouse: Patient
    child: Patient  # 8
    teen: Patient  # 14
    adult_child: Patient  # 19


def make_family(session: Session, on: date) -> Family:
    """A sponsor, a spouse, and children aged 8, 14 and 19 on `on`, both parents guardians."""
    clinic = make_clinic(session)
    pcm = make_provider(session, clinic)
    sponsor = make_patient(session, first_name="Marcus", pcm=pcm, clinic=clinic)
    spouse = make_patient(
        session, first_name="Dana", sponsor=sponsor, relationship="spouse", pcm=pcm, clinic=clinic
    )
    kids = [
        make_patient(
            session,
            first_name=name,
            date_of_birth=years_before(on, age, 30),
            sponsor=sponsor,
            relationship="child",
            pcm=pcm,
            clinic=clinic,
        )
        for name, age in (("Lily", 8), ("Noah", 14), ("Ava", 19))
    ]
    for parent in (sponsor, spouse):
        for kid in kids:
            session.add(Guardianship(guardian_id=parent.id, dependent_id=kid.id))
    session.flush()
    return Family(clinic, pcm, sponsor, spouse, *kids)
