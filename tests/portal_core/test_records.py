"""Results under immediate release, reports, immunizations, and what people call their tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from portal_core import audit, records
from portal_core.actors import Actor
from portal_core.database import Database
from portal_core.errors import AccessDenied, InvalidInput, PatientNotFound
from portal_core.models import Immunization, LabResult, Patient, Prescription, Report
from portal_core.records import ResultType, find_result_type
from tests.factories import make_clinic, make_family, make_patient, make_provider, stored
from wording.catalogue import record_source, render, result_flag, review_note, say_error

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def add_lab(
    session: Session,
    patient: Patient,
    test_name: str,
    value: str,
    *,
    resulted_at: datetime | None = NOW - DAY,
    status: str = "final",
    reviewed_at: datetime | None = None,
    **extra: object,
) -> int:
    row = LabResult(
        patient_id=patient.id,
        test_name=test_name,
        value=value,
        status=status,
        collected_at=(resulted_at or NOW) - timedelta(hours=6),
        resulted_at=resulted_at,
        reviewed_at=reviewed_at,
        **extra,
    )
    return stored(session, row).id


def add_report(
    session: Session,
    patient: Patient,
    kind: str,
    title: str,
    *,
    resulted_at: datetime = NOW - DAY,
    status: str = "final",
    **extra: object,
) -> int:
    row = Report(
        patient_id=patient.id,
        kind=kind,
        title=title,
        summary=f"Summary of {title}",
        body=f"Full text of {title}",
        status=status,
        performed_at=resulted_at - timedelta(hours=2),
        resulted_at=resulted_at,
        **extra,
    )
    return stored(session, row).id


@dataclass
class World:
    patient: int
    reviewer: int
    labs: dict[str, int]


@pytest.fixture
def world(db: Database) -> World:
    with db.transaction() as s:
        clinic = make_clinic(s)
        pcm = make_provider(s, clinic, name="Dr. Maria Alvarez")
        p = make_patient(s, pcm=pcm, clinic=clinic)
        labs = {
            "glucose": add_lab(
                s, p, "Glucose", "104", numeric_value=104, unit="mg/dL", reference_low=70,
                reference_high=99, flag="high", panel="Basic Metabolic Panel",
                resulted_at=NOW - 2 * DAY,
            ),
            "ldl": add_lab(
                s, p, "LDL Cholesterol", "128", unit="mg/dL", reference_high=100, flag="high",
                panel="Lipid Panel", reviewed_at=NOW - DAY / 2, reviewed_by_id=pcm.id,
            ),
            "hdl": add_lab(
                s, p, "HDL Cholesterol", "52", unit="mg/dL", reference_low=40,
                panel="Lipid Panel", resulted_at=NOW - 3 * DAY,
            ),
            "a1c": add_lab(
                s, p, "Hemoglobin A1c", "5.9", unit="%", reference_text="4.0 to 5.6 %",
                flag="high", source_org="Baylor Scott & White Health", resulted_at=NOW - 5 * DAY,
            ),
            "preliminary": add_lab(s, p, "Potassium", "5.1", status="preliminary"),
            "future": add_lab(s, p, "Sodium", "139", resulted_at=NOW + DAY),
        }  # fmt: skip
        return World(p.id, pcm.id, labs)


def disclosed(db: Database, patient_id: int) -> list[tuple[str, str | None]]:
    with db.transaction() as s:
        return [(e.action, e.detail) for e in audit.entries_for(s, patient_id)]


# ------------------------------------------------------------------------------------ results


def test_only_final_results_newest_first_with_review_note(db: Database, world: World) -> None:
    results = records.lab_results(db, Actor(world.patient), world.patient, now=NOW)
    assert [r.result_id for r in results] == [
        world.labs["ldl"],
        world.labs["glucose"],
        world.labs["hdl"],
        world.labs["a1c"],
    ]  # the preliminary potassium and the not-yet-resulted sodium stay hidden
    ldl, glucose, hdl, a1c = results
    assert glucose.value == "104" and glucose.unit == "mg/dL"
    assert glucose.reference_range == "70 to 99"
    assert glucose.flag == "high" and result_flag(glucose.flag) == "high"
    assert not glucose.reviewed and glucose.reviewed_on is None
    assert review_note(glucose) == "not yet reviewed by your care team"
    assert ldl.reviewed and ldl.reviewed_on == date(2026, 11, 24)  # the patient's local day
    assert review_note(ldl) == "reviewed by your care team on November 24, 2026"
    assert ldl.reference_range == "less than 100"
    assert hdl.reference_range == "more than 40"
    assert a1c.reference_range == "4.0 to 5.6 %"
    assert a1c.source_org == "Baylor Scott & White Health"
    assert record_source(a1c.source_org) == "from Baylor Scott & White Health"
    assert glucose.source_org is None and record_source(glucose.source_org) is None
    assert glucose.collected_on == date(2026, 11, 23)  # local date in Texas


def test_one_audit_entry_per_call_naming_the_results(db: Database, world: World) -> None:
    results = records.lab_results(db, Actor(world.patient), world.patient, limit=2, now=NOW)
    assert disclosed(db, world.patient) == [
        ("view_lab_results", "ids=" + ",".join(str(r.result_id) for r in results))
    ]


def test_a_result_appears_once_it_becomes_final(db: Database, world: World) -> None:
    actor = Actor(world.patient)
    with db.transaction() as s:
        row = s.get(LabResult, world.labs["preliminary"])
        row.status = "final"
    ids = [r.result_id for r in records.lab_results(db, actor, world.patient, now=NOW)]
    assert world.labs["preliminary"] in ids


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("cholesterol", {"ldl", "hdl"}),
        ("cholestrol", {"ldl", "hdl"}),
        ("a1c", {"a1c"}),
        ("blood sugar", {"glucose"}),
        ("blood work", {"ldl", "hdl", "glucose", "a1c"}),
        ("Glucose", {"glucose"}),
        ("metabolic panel", {"glucose"}),
        ("Robert'); DROP TABLE patients;--", set()),
    ],
)
def test_results_by_what_people_call_the_test(
    db: Database, world: World, asked: str, expected: set[str]
) -> None:
    found = records.lab_results(db, Actor(world.patient), world.patient, test_name=asked, now=NOW)
    assert {r.result_id for r in found} == {world.labs[name] for name in expected}


def test_only_new_since(db: Database, world: World) -> None:
    found = records.lab_results(
        db, Actor(world.patient), world.patient, only_new_since=NOW - 2.5 * DAY, now=NOW
    )
    assert {r.result_id for r in found} == {world.labs["ldl"], world.labs["glucose"]}


@pytest.mark.parametrize("limit", [0, -1, 101, True, "5"])
def test_bad_limit(db: Database, world: World, limit: object) -> None:
    with pytest.raises(InvalidInput):
        records.lab_results(
            db,
            Actor(world.patient),
            world.patient,
            limit=limit,
            now=NOW,  # type: ignore[arg-type]
        )


def test_huge_test_name_is_refused_politely(db: Database, world: World) -> None:
    with pytest.raises(InvalidInput):
        records.lab_results(
            db, Actor(world.patient), world.patient, test_name="a" * 10_240, now=NOW
        )


def test_unknown_patient(db: Database, world: World) -> None:
    with pytest.raises(PatientNotFound):
        records.lab_results(db, Actor(world.patient), 999_999, now=NOW)


# ------------------------------------------------------------------------------ teens, proxies


def test_parent_cannot_see_a_teens_results_or_notes(db: Database) -> None:
    with db.transaction() as s:
        fam = make_family(s, NOW.date())
        add_lab(s, fam.teen, "Glucose", "88")
        add_lab(s, fam.child, "Glucose", "90")
        add_report(s, fam.teen, "clinical_note", "Sports physical")
        s.add(
            Immunization(
                patient_id=fam.teen.id,
                vaccine="Tdap",
                administered_on=date(2025, 8, 1),
                location="Pediatrics Clinic",
            )
        )
        parent, teen, child = fam.spouse.id, fam.teen.id, fam.child.id
    actor = Actor(parent)
    with pytest.raises(AccessDenied) as err:
        records.lab_results(db, actor, teen, now=NOW)
    assert "parents can't see Noah's test results" in say_error(err.value)
    for kind in ("clinical_note", "radiology", None):
        with pytest.raises(AccessDenied):
            records.reports(db, actor, teen, kind, now=NOW)
    # Immunizations are among what a parent may manage for a teen; a young child's results too.
    assert [i.vaccine for i in records.immunizations(db, actor, teen, now=NOW).immunizations] == [
        "Tdap"
    ]
    assert [r.value for r in records.lab_results(db, actor, child, now=NOW)] == ["90"]
    # The teen sees their own results.
    assert [r.value for r in records.lab_results(db, Actor(teen), teen, now=NOW)] == ["88"]
    with db.transaction() as s:
        denied = [e for e in audit.entries_for(s, teen) if e.outcome == "denied"]
    assert len(denied) == 4


# ------------------------------------------------------------------------------------ reports


def test_reports_by_kind_with_review_and_source(db: Database, world: World) -> None:
    with db.transaction() as s:
        p = s.get(Patient, world.patient)
        mri = add_report(s, p, "radiology", "MRI Lumbar Spine without contrast")
        xray = add_report(
            s, p, "radiology", "XR Chest 2 Views", resulted_at=NOW - 3 * DAY,
            reviewed_at=NOW - 2 * DAY, source_org="Baylor Scott & White Health",
        )  # fmt: skip
        add_report(s, p, "radiology", "CT Head", status="preliminary")
        biopsy = add_report(s, p, "pathology", "Skin biopsy, left forearm")
        note = add_report(s, p, "clinical_note", "Office visit", author_id=world.reviewer)
    actor = Actor(world.patient)
    imaging = records.reports(db, actor, world.patient, "radiology", now=NOW)
    assert [r.report_id for r in imaging] == [mri, xray]
    assert review_note(imaging[0]) == "not yet reviewed by your care team"
    assert not imaging[0].reviewed and imaging[0].reviewed_on is None
    assert imaging[1].reviewed and imaging[1].reviewed_on == date(2026, 11, 23)
    assert record_source(imaging[1].source_org) == "from Baylor Scott & White Health"
    assert imaging[0].summary == "Summary of MRI Lumbar Spine without contrast"
    assert [
        r.report_id for r in records.reports(db, actor, world.patient, "pathology", now=NOW)
    ] == [biopsy]
    notes = records.reports(db, actor, world.patient, "clinical_note", now=NOW)
    assert [r.report_id for r in notes] == [note]
    assert notes[0].author == "Dr. Maria Alvarez, MD" and review_note(notes[0]) is None
    assert notes[0].reviewed and notes[0].reviewed_on is None  # a note awaits no review
    everything = records.reports(db, actor, world.patient, now=NOW)
    assert {r.report_id for r in everything} == {mri, xray, biopsy, note}
    mri_only = records.reports(db, actor, world.patient, about="my MRI", now=NOW)
    assert [r.report_id for r in mri_only] == [mri]
    xray_only = records.reports(db, actor, world.patient, "radiology", about="x-ray", now=NOW)
    assert [r.report_id for r in xray_only] == [xray]


def test_unknown_report_kind(db: Database, world: World) -> None:
    with pytest.raises(InvalidInput):
        records.reports(db, Actor(world.patient), world.patient, "dental", now=NOW)


# ------------------------------------------------------------------------------- immunizations


def test_immunizations_with_where_to_get_the_official_record(db: Database, world: World) -> None:
    with db.transaction() as s:
        for vaccine, day, org in (
            ("Influenza", date(2026, 10, 1), None),
            ("COVID-19", date(2025, 10, 1), "CVS Pharmacy"),
        ):
            s.add(
                Immunization(
                    patient_id=world.patient,
                    vaccine=vaccine,
                    administered_on=day,
                    location="Immunizations Clinic",
                    source_org=org,
                )
            )
    record = records.immunizations(db, Actor(world.patient), world.patient, now=NOW)
    assert [i.vaccine for i in record.immunizations] == ["Influenza", "COVID-19"]
    assert record_source(record.immunizations[1].source_org) == "from CVS Pharmacy"
    assert record.immunizations[0].source_org is None
    steps = render("immunizations.official_record")
    assert "Health Record" in steps and "Immunizations" in steps and "Download" in steps
    # The guide: the official record for school, work or travel is downloaded from the portal.
    assert "official immunization record" in steps and "school, work or travel" in steps
    assert disclosed(db, world.patient)[0][0] == "view_immunizations"


def test_medication_list_comes_from_prescriptions(db: Database, world: World) -> None:
    with db.transaction() as s:
        s.add(
            Prescription(
                patient_id=world.patient,
                medication="Lisinopril",
                strength="10 mg",
                instructions="Take 1 tablet daily",
                prescriber_id=world.reviewer,
                days_supply=30,
                refills_remaining=2,
                expires_on=date(2027, 1, 1),
            )
        )
    meds = records.medication_list(db, Actor(world.patient), world.patient, now=NOW)
    assert [m.label for m in meds] == ["Lisinopril 10 mg"]


# ------------------------------------------------------------------------ what people call it


@pytest.mark.parametrize(
    ("said", "kind", "label"),
    [
        ("blood work", "lab", "lab results"),
        ("my bloodwork from last week", "lab", "lab results"),
        ("cholesterol", "lab", "cholesterol"),
        ("blood work for my cholesterol", "lab", "cholesterol"),
        ("A1C", "lab", "hemoglobin A1c"),
        ("xray", "radiology", "X-ray"),
        ("X-ray of my knee", "radiology", "X-ray"),
        ("MRI", "radiology", "MRI"),
        ("cat scan", "radiology", "CT scan"),
        ("biopsy", "pathology", "pathology"),
        ("biospy", "pathology", "pathology"),
        ("visit notes", "clinical_note", "visit notes"),
        ("doctor's notes from my visit", "clinical_note", "visit notes"),
    ],
)
def test_find_result_type(said: str, kind: str, label: str) -> None:
    found = find_result_type(said)
    assert isinstance(found, ResultType)
    assert (found.kind, found.label) == (kind, label)


@pytest.mark.parametrize("said", ["", "hello there", "x" * 10_000, "🙂"])
def test_find_result_type_unknown(said: str) -> None:
    assert find_result_type(said) is None


@pytest.mark.parametrize(
    ("low", "high", "text", "expected"),
    [
        (70, 99, None, "70 to 99"),
        (None, 200, None, "less than 200"),
        (40, None, None, "more than 40"),
        (0.5, 1.2, None, "0.5 to 1.2"),
        (None, None, "negative", "negative"),
        (None, None, None, None),
    ],
)
def test_reference_range_in_words(
    low: float | None, high: float | None, text: str | None, expected: str | None
) -> None:
    assert records.reference_range(low, high, text) == expected


# ------------------------------------------------------------------- results through a channel


def _consent(db: Database, patient_id: int, agreed: bool) -> None:
    with db.transaction() as s:
        s.get(Patient, patient_id).sms_health_consent = agreed


def _audit_rows(db: Database, patient_id: int) -> list[tuple[str, str, str, str, str | None]]:
    with db.transaction() as s:
        return [
            (e.action, e.outcome, e.channel, e.transport, e.detail)
            for e in audit.entries_for(s, patient_id)
        ]


def test_results_asked_by_text_without_consent_are_withheld_and_audited_as_withheld(
    db: Database, world: World
) -> None:
    """Withheld is not disclosed: the audit trail must not claim values went out by SMS."""
    _consent(db, world.patient, False)
    actor = Actor(world.patient, "sms", session="sms:+12545550100")

    answer = records.results_for_channel(db, actor, world.patient, channel="sms", now=NOW)

    assert answer == records.ResultsAnswer(kind="lab", withheld=4)
    assert answer.found == 4 and answer.labs == () and answer.reports == ()
    expected_ids = ",".join(
        str(world.labs[k]) for k in ("ldl", "glucose", "hdl", "a1c")
    )  # newest first, as they would have been listed
    [row] = _audit_rows(db, world.patient)
    assert row[:4] == ("view_lab_results", "withheld", "sms", "sms")
    assert row[4] == f"ids={expected_ids}; not sent by sms: no consent to health details by text"
    with db.transaction() as s:
        [entry] = audit.entries_for(s, world.patient)
    assert entry.session == "sms:+12545550100"


def test_results_by_text_with_consent_are_sent_and_audited_as_disclosed(
    db: Database, world: World
) -> None:
    _consent(db, world.patient, True)
    actor = Actor(world.patient, "sms")
    cholesterol = find_result_type("my cholesterol")

    answer = records.results_for_channel(
        db, actor, world.patient, channel="sms", wanted=cholesterol, now=NOW
    )

    assert [r.test_name for r in answer.labs] == ["LDL Cholesterol", "HDL Cholesterol"]
    assert answer.withheld == 0 and answer.found == 2
    ids = f"ids={world.labs['ldl']},{world.labs['hdl']}"
    assert _audit_rows(db, world.patient) == [("view_lab_results", "ok", "sms", "sms", ids)]


@pytest.mark.parametrize("channel", ["web", "voice"])
def test_results_on_private_channels_need_no_sms_consent(
    db: Database, world: World, channel: str
) -> None:
    _consent(db, world.patient, False)
    answer = records.results_for_channel(
        db, Actor(world.patient, channel), world.patient, channel=channel, limit=2, now=NOW
    )
    assert [r.result_id for r in answer.labs] == [world.labs["ldl"], world.labs["glucose"]]
    [row] = _audit_rows(db, world.patient)
    assert row[:4] == ("view_lab_results", "ok", channel, channel)


def test_reports_by_text_follow_the_same_rule(db: Database, world: World) -> None:
    with db.transaction() as s:
        mri = add_report(s, s.get(Patient, world.patient), "radiology", "MRI Knee")
    _consent(db, world.patient, False)
    actor = Actor(world.patient, "sms")
    wanted = find_result_type("my MRI")

    withheld = records.results_for_channel(
        db, actor, world.patient, channel="sms", wanted=wanted, now=NOW
    )
    _consent(db, world.patient, True)
    sent = records.results_for_channel(
        db, actor, world.patient, channel="sms", wanted=wanted, now=NOW
    )

    assert withheld == records.ResultsAnswer(kind="radiology", withheld=1)
    assert [r.report_id for r in sent.reports] == [mri] and sent.withheld == 0
    assert [(r[0], r[1]) for r in _audit_rows(db, world.patient)] == [
        ("view_reports", "withheld"),
        ("view_reports", "ok"),
    ]


def test_a_parent_texting_without_consent_gets_a_childs_results_withheld(db: Database) -> None:
    with db.transaction() as s:
        fam = make_family(s, NOW.date())
        add_lab(s, fam.child, "Glucose", "90")
        fam.child.sms_health_consent = True
        fam.spouse.sms_health_consent = False
        parent, child = fam.spouse.id, fam.child.id

    answer = records.results_for_channel(db, Actor(parent, "sms"), child, channel="sms", now=NOW)

    assert answer.withheld == 1 and answer.labs == ()
    assert [(r[0], r[1]) for r in _audit_rows(db, child)] == [("view_lab_results", "withheld")]


def test_access_rules_come_before_the_channel_rule(db: Database) -> None:
    with db.transaction() as s:
        fam = make_family(s, NOW.date())
        add_lab(s, fam.teen, "Glucose", "88")
        parent, teen = fam.spouse.id, fam.teen.id
    with pytest.raises(AccessDenied):
        records.results_for_channel(db, Actor(parent, "sms"), teen, channel="sms", now=NOW)
    assert [(r[0], r[1]) for r in _audit_rows(db, teen)] == [("access_denied", "denied")]


def test_nothing_found_is_nothing_found_whatever_the_channel(db: Database, world: World) -> None:
    _consent(db, world.patient, False)
    answer = records.results_for_channel(
        db, Actor(world.patient, "sms"), world.patient, channel="sms",
        wanted=find_result_type("thyroid"), now=NOW,
    )  # fmt: skip
    assert answer.found == 0


@pytest.mark.parametrize("channel", ["fax", "", "SMS"])
def test_unknown_channels_are_refused(db: Database, world: World, channel: str) -> None:
    with pytest.raises(InvalidInput):
        records.results_for_channel(db, Actor(world.patient), world.patient, channel=channel)


@pytest.mark.parametrize(
    ("ask", "answer"),
    [
        ({"kind": "x-ray film"}, "Please choose radiology, pathology or visit notes."),
        (
            {"about": "x" * 10_000},
            "Sorry, I couldn't tell which test you mean. Could you say it shorter?",
        ),
        ({"limit": 0}, "Please ask for between 1 and 100 records."),
    ],
)
def test_a_report_request_that_cant_be_read_is_told_why(
    db: Database, ask: dict[str, object], answer: str
) -> None:
    with db.transaction() as s:
        fam = make_family(s, NOW.date())
    with pytest.raises(InvalidInput) as err:
        records.reports(db, Actor(fam.sponsor.id), fam.sponsor.id, now=NOW, **ask)  # type: ignore[arg-type]
    assert say_error(err.value) == answer


def test_results_for_a_channel_that_cant_carry_them_are_refused(db: Database) -> None:
    with db.transaction() as s:
        fam = make_family(s, NOW.date())
    with pytest.raises(InvalidInput) as err:
        records.results_for_channel(db, Actor(fam.sponsor.id), fam.sponsor.id, channel="fax")
    assert say_error(err.value) == "Sorry, results can't be sent through this channel."
