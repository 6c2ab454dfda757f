"""Simulated patients for the load benchmark and the concurrency tests.

Fifty texters at once need fifty phone numbers, and a conversation that books, refills or
reads results needs a record to do it on. Each bench patient is a copy of one seeded adult
(Marcus Rivera by default: a refill that is due, final lab results, a home clinic with open
slots) with its own name, phone, DoD ID and portal token, and none of the template's family, so
"who is this for?" is never asked. Copied: the patient row, care team, prescriptions, lab
results, immunizations and reports; nothing that records activity (appointments, refills,
messages, audit).

Phones use the 555-01xx range reserved for fiction; DoD IDs start with 98 (the seed's start
with 9999), so they never collide with the demo population.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Table, insert, select

from portal_core import web_tokens
from portal_core.database import Database
from portal_core.models import (
    CareTeamMember,
    Immunization,
    LabResult,
    Patient,
    Prescription,
    Report,
)

TEMPLATE_DOD_ID = "9999014821"  # Marcus Rivera
COPIED = (CareTeamMember, Immunization, LabResult, Prescription, Report)


@dataclass(frozen=True)
class BenchPatient:
    id: int
    phone: str
    born: date
    last4: str
    token: str
    medication: str  # one whose refill is due

    @property
    def dob_typed(self) -> str:
        return f"{self.born:%m/%d/%Y}"

    @property
    def dob_keyed(self) -> str:
        return f"{self.born:%m%d%Y}"


def phone_for(index: int) -> str:
    """+1 NPA 555 01xx: a hundred numbers per area code, area codes from 302 up."""
    return f"+1{302 + index // 100}55501{index % 100:02d}"


def add_patients(
    db: Database,
    count: int,
    *,
    start: int = 0,
    template_dod_id: str = TEMPLATE_DOD_ID,
    medication: str = "lisinopril",
) -> list[BenchPatient]:
    """Copy the template `count` times (numbered from `start`); the copies, in order."""
    made: list[BenchPatient] = []
    with db.transaction() as session:
        template = session.scalars(select(Patient).where(Patient.dod_id == template_dod_id)).one()
        columns = [c.name for c in Patient.__table__.columns if c.name != "id"]
        base = {name: getattr(template, name) for name in columns}
        related: list[tuple[Table, list[dict[str, object]]]] = []
        for model in COPIED:
            table = model.__table__
            rows = session.execute(select(table).where(table.c.patient_id == template.id))
            keep = [c.name for c in table.columns if c.name != "id"]
            related.append((table, [{k: row._mapping[k] for k in keep} for row in rows]))
        for index in range(start, start + count):
            values = dict(
                base,
                dod_id=f"98{index:08d}",
                phone=phone_for(index),
                first_name=f"Bench{index}",
                last_name="Patient",
                sponsor_id=None,
                relationship_to_sponsor="self",
                email=f"bench{index}@example.com",
            )
            patient_id = session.execute(insert(Patient).values(**values)).inserted_primary_key[0]
            for table, rows in related:
                if rows:
                    session.execute(insert(table), [dict(r, patient_id=patient_id) for r in rows])
            made.append(
                BenchPatient(
                    id=int(patient_id),
                    phone=values["phone"],
                    born=template.date_of_birth,
                    last4=values["dod_id"][-4:],
                    token="",
                    medication=medication,
                )
            )
    return [
        BenchPatient(
            p.id, p.phone, p.born, p.last4, web_tokens.issue_token(p.id, "premium"), medication
        )
        for p in made
    ]
