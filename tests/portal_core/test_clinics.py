"""Clinics and appointment types as people name them; booking modes; clinic-local time."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from portal_core import clinics
from portal_core.clinics import (
    AmbiguousAppointmentType,
    AmbiguousClinic,
    AppointmentTypeNotFound,
    AppointmentTypeNotOffered,
    ClinicNotFound,
)
from portal_core.database import Database
from portal_core.errors import InvalidInput, NotFound
from portal_core.models import AppointmentType, BookingPolicy, Clinic
from tests.factories import make_clinic
from understanding.clinics import APPOINTMENT_TYPE_SYNONYMS
from wording.catalogue import say_error

# The demo population's appointment types (portal_core/seed.py), as codes, names, clipboards.
TYPES = {
    "wellness": ("Wellness exam", "Annual wellness questionnaire"),
    "follow_up": ("Follow-up visit", None),
    "acute": ("Sick call (acute visit)", None),
    "pha": ("Periodic health assessment (physical)", "PHA self-assessment"),
    "behavioral_health_intake": ("Behavioral health intake", "PHQ-9 and GAD-7"),
    "well_child": ("Well-child visit", "Well-child developmental questionnaire"),
    "immunization": ("Immunization-only visit", None),
    "womens_health": ("Women's health visit", None),
    "sports_physical": ("Sports physical", "Pre-participation physical evaluation form"),
    "telehealth": ("Telehealth video visit", None),
    "medication_review": ("Medication review", None),
    "behavioral_health_follow_up": ("Behavioral health follow-up", None),
}


def add_clinic(
    db: Database,
    name: str,
    *,
    code: str | None = None,
    facility: str = "Carl R. Darnall Army Medical Center",
    city: str = "Fort Cavazos",
    time_zone: str = "America/Chicago",
    country: str = "US",
) -> int:
    with db.transaction() as s:
        clinic = make_clinic(s, code=code, name=name, time_zone=time_zone, country=country)
        clinic.facility = facility
        clinic.city = city
        return clinic.id


def add_types(db: Database, codes: tuple[str, ...] = tuple(TYPES)) -> dict[str, int]:
    with db.transaction() as s:
        rows = [AppointmentType(code=c, name=TYPES[c][0], questionnaire=TYPES[c][1]) for c in codes]
        s.add_all(rows)
        s.flush()
        return {r.code: r.id for r in rows}


@pytest.fixture
def overseas(db: Database) -> dict[str, int]:
    """Two facilities, each with family medicine, plus pediatrics and women's health."""
    ids = {
        "fm_cavazos": add_clinic(db, "Family Medicine Clinic", code="CRDAMC-FM", country="US"),
        "peds_cavazos": add_clinic(db, "Pediatrics Clinic", code="CRDAMC-PEDS"),
        "fm_landstuhl": add_clinic(
            db,
            "Family Medicine Clinic",
            code="LRMC-FM",
            facility="Landstuhl Regional Medical Center",
            city="Landstuhl",
            time_zone="Europe/Berlin",
            country="DE",
        ),
        "womens_kadena": add_clinic(
            db,
            "Women's Health Clinic",
            code="KAB-WH",
            facility="U.S. Naval Hospital Okinawa",
            city="Kadena",
            time_zone="Asia/Tokyo",
            country="JP",
        ),
    }
    return ids


# --- clinics ----------------------------------------------------------------------------------


def test_list_clinics_returns_views_sorted_by_name(db: Database, overseas: dict[str, int]) -> None:
    listed = clinics.list_clinics(db)
    assert [c.name for c in listed] == sorted(c.name for c in listed)
    landstuhl = next(c for c in listed if c.id == overseas["fm_landstuhl"])
    assert landstuhl.time_zone == "Europe/Berlin"
    assert landstuhl.label == "Family Medicine Clinic at Landstuhl Regional Medical Center"


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("the pediatrics clinic", "peds_cavazos"),
        ("Pediatrics!", "peds_cavazos"),
        ("PEDIATRIC", "peds_cavazos"),
        ("peds", "peds_cavazos"),
        ("pediatircs", "peds_cavazos"),
        ("women's health", "womens_kadena"),
        ("womens health clinic", "womens_kadena"),
        ("kadena", "womens_kadena"),
        ("japan", "womens_kadena"),
        ("landstuhl", "fm_landstuhl"),
        ("the clinic in Germany", "fm_landstuhl"),
        ("Landstuhl family medicine", "fm_landstuhl"),
        ("family medicine at Landstuhl Regional", "fm_landstuhl"),
        ("LRMC", "fm_landstuhl"),
        ("lrmc-fm", "fm_landstuhl"),
        ("crdamc fm", "fm_cavazos"),
        ("family practice at fort cavazos", "fm_cavazos"),
    ],
)
def test_find_clinic_the_way_people_say_it(
    db: Database, overseas: dict[str, int], said: str, expected: str
) -> None:
    assert clinics.find_clinic(db, said).id == overseas[expected]


def test_an_ambiguous_name_lists_the_choices(db: Database, overseas: dict[str, int]) -> None:
    with pytest.raises(AmbiguousClinic) as err:
        clinics.find_clinic(db, "family medicine")
    assert {c.id for c in err.value.choices} == {overseas["fm_cavazos"], overseas["fm_landstuhl"]}
    message = say_error(err.value)
    assert "Landstuhl Regional Medical Center" in message
    assert "Carl R. Darnall Army Medical Center" in message
    assert isinstance(err.value, InvalidInput)


def test_fort_cavazos_alone_is_ambiguous_between_its_clinics(
    db: Database, overseas: dict[str, int]
) -> None:
    with pytest.raises(AmbiguousClinic) as err:
        clinics.find_clinic(db, "Fort Cavazos")
    assert {c.id for c in err.value.choices} == {overseas["fm_cavazos"], overseas["peds_cavazos"]}


def test_the_only_clinic_answers_a_vague_request(db: Database) -> None:
    only = add_clinic(db, "Family Medicine Clinic")
    assert clinics.find_clinic(db, "the clinic").id == only


def test_an_unknown_clinic_lists_a_few(db: Database, overseas: dict[str, int]) -> None:
    for n in range(6):
        add_clinic(db, f"Specialty Clinic {n}")
    with pytest.raises(ClinicNotFound) as err:
        clinics.find_clinic(db, "dermatology on the moon")
    assert isinstance(err.value, NotFound)
    assert 1 <= len(err.value.choices) <= clinics.MAX_CHOICES_SHOWN
    assert "dermatology on the moon" in say_error(err.value)
    assert err.value.choices[0].name in say_error(err.value)


def test_sql_in_a_clinic_name_is_just_text(db: Database, overseas: dict[str, int]) -> None:
    with pytest.raises(ClinicNotFound):
        clinics.find_clinic(db, "x'; DROP TABLE clinics; --")
    assert len(clinics.list_clinics(db)) == len(overseas)


@pytest.mark.parametrize("said", ["", "   ", "x" * 5000, None, 42])
def test_blank_or_huge_clinic_queries_are_refused_politely(
    db: Database, overseas: dict[str, int], said: object
) -> None:
    with pytest.raises(InvalidInput) as err:
        clinics.find_clinic(db, said)  # type: ignore[arg-type]
    assert "clinic" in say_error(err.value)


def test_no_clinics_at_all(db: Database) -> None:
    with pytest.raises(ClinicNotFound):
        clinics.find_clinic(db, "family medicine")


# --- appointment types ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "code"),
    [
        ("checkup", "wellness"),
        ("I need a check-up", "wellness"),
        ("annual", "wellness"),
        ("Wellness exam", "wellness"),
        ("sick call (acute visit)", "acute"),
        ("wellnes", "wellness"),
        ("sick call", "acute"),
        ("Sick Call please", "acute"),
        ("acute", "acute"),
        ("a same-day appointment", "acute"),
        ("follow up", "follow_up"),
        ("Follow-up visit", "follow_up"),
        ("physical", "pha"),
        ("PHA", "pha"),
        ("my periodic health assessment", "pha"),
        ("behavioral health", "behavioral_health_intake"),
        ("mental health intake", "behavioral_health_intake"),
        ("flu shots", "immunization"),
        ("well-child check for my daughter", "well_child"),
        ("a sports physical", "sports_physical"),
        ("school physical", "sports_physical"),
        ("women's health", "womens_health"),
        ("video visit", "telehealth"),
        ("BH follow-up", "behavioral_health_follow_up"),
        ("behavioral health follow up", "behavioral_health_follow_up"),
        ("med review", "medication_review"),
    ],
)
def test_find_appointment_type_by_what_people_call_it(db: Database, said: str, code: str) -> None:
    ids = add_types(db)
    found = clinics.find_appointment_type(db, said)
    assert (found.id, found.code) == (ids[code], code)


def test_every_synonym_resolves_to_its_type(db: Database) -> None:
    ids = add_types(db)
    for phrase, code in APPOINTMENT_TYPE_SYNONYMS.items():
        assert clinics.find_appointment_type(db, phrase).id == ids[code], phrase


def test_a_synonym_finds_a_type_by_name_when_codes_differ(db: Database) -> None:
    with db.transaction() as s:
        s.add(AppointmentType(code="BHI-01", name="Behavioral Health Intake"))
        s.add(AppointmentType(code="FU-01", name="Follow-up Visit"))
    assert clinics.find_appointment_type(db, "mental health").name == "Behavioral Health Intake"
    assert clinics.find_appointment_type(db, "recheck").name == "Follow-up Visit"


def test_two_kinds_in_one_sentence_ask_which(db: Database) -> None:
    ids = add_types(db)
    with pytest.raises(AmbiguousAppointmentType) as err:
        clinics.find_appointment_type(db, "sick call or a follow up")
    assert {t.id for t in err.value.choices} == {ids["acute"], ids["follow_up"]}
    assert "acute visit" in say_error(err.value)


def test_an_annual_physical_could_be_either(db: Database) -> None:
    ids = add_types(db)
    with pytest.raises(AmbiguousAppointmentType) as err:
        clinics.find_appointment_type(db, "annual physical")
    assert {t.id for t in err.value.choices} == {ids["wellness"], ids["pha"]}


def test_unknown_appointment_type_lists_what_can_be_booked(db: Database) -> None:
    add_types(db)
    with pytest.raises(AppointmentTypeNotFound) as err:
        clinics.find_appointment_type(db, "astrology reading")
    assert len(err.value.choices) == len(TYPES)
    assert "wellness exam" in say_error(err.value)


def test_appointment_types_lists_the_questionnaire(db: Database) -> None:
    add_types(db)
    by_code = {t.code: t for t in clinics.appointment_types(db)}
    assert by_code["wellness"].questionnaire == "Annual wellness questionnaire"
    assert by_code["acute"].questionnaire is None


# --- booking modes ----------------------------------------------------------------------------


def test_booking_mode_follows_the_policy(db: Database) -> None:
    clinic = add_clinic(db, "Family Medicine Clinic")
    ids = add_types(db)
    with db.transaction() as s:
        s.add_all(
            [
                BookingPolicy(clinic_id=clinic, appointment_type_id=ids["wellness"], mode="direct"),
                BookingPolicy(
                    clinic_id=clinic,
                    appointment_type_id=ids["behavioral_health_intake"],
                    mode="request_only",
                ),
                BookingPolicy(
                    clinic_id=clinic, appointment_type_id=ids["pha"], mode="direct", offered=False
                ),
            ]
        )
    assert clinics.booking_mode(db, clinic, ids["wellness"]) == "direct"
    assert clinics.booking_mode(db, clinic, ids["behavioral_health_intake"]) == "request_only"
    assert clinics.booking_mode(db, clinic, ids["acute"]) == clinics.DEFAULT_BOOKING_MODE
    with pytest.raises(AppointmentTypeNotOffered) as err:
        clinics.booking_mode(db, clinic, ids["pha"])
    assert "254-288-8000" in say_error(err.value)


@pytest.mark.parametrize("bad", [999_999, 0, -3, 10**15, True, "1"])
def test_booking_mode_with_unknown_ids(db: Database, bad: object) -> None:
    clinic = add_clinic(db, "Family Medicine Clinic")
    ids = add_types(db, ("wellness",))
    with pytest.raises(ClinicNotFound):
        clinics.booking_mode(db, bad, ids["wellness"])  # type: ignore[arg-type]
    with pytest.raises(AppointmentTypeNotFound):
        clinics.booking_mode(db, clinic, bad)  # type: ignore[arg-type]


def test_clinic_rows_are_not_returned(db: Database) -> None:
    add_clinic(db, "Family Medicine Clinic")
    view = clinics.list_clinics(db)[0]
    assert not isinstance(view, Clinic)
    with pytest.raises(AttributeError):
        view.name = "changed"  # type: ignore[misc]


# --- clinic-local time ------------------------------------------------------------------------


def test_to_local_treats_naive_as_utc_and_keeps_the_instant() -> None:
    local = clinics.to_local("Asia/Tokyo", datetime(2026, 12, 1, 0, 0))
    assert (local.day, local.hour) == (1, 9)
    assert local == datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("hour", "minute", "part"),
    [(0, 0, "morning"), (11, 59, "morning"), (12, 0, "afternoon"), (16, 59, "afternoon")]
    + [(17, 0, "evening"), (23, 59, "evening")],
)
def test_time_of_day_boundaries(hour: int, minute: int, part: str) -> None:
    assert clinics.time_of_day(datetime(2026, 12, 1, hour, minute)) == part


def test_local_days_follow_the_clinic_calendar_across_dst() -> None:
    # Europe leaves summer time on 25 October 2026: that local day lasts 25 hours.
    start, end = clinics.local_days_to_utc("Europe/Berlin", date(2026, 10, 25), date(2026, 10, 25))
    assert start == datetime(2026, 10, 24, 22, 0, tzinfo=timezone.utc)
    assert end - start == timedelta(hours=25)
    start, end = clinics.local_days_to_utc("Asia/Seoul", date(2026, 12, 2), date(2026, 12, 3))
    assert start == datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
    assert end - start == timedelta(days=2)


def test_local_today_is_the_clinic_date() -> None:
    now = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)
    assert clinics.local_today("Asia/Tokyo", now) == date(2026, 11, 26)
    assert clinics.local_today("America/Chicago", now) == date(2026, 11, 25)
