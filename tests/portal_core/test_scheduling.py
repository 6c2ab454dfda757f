"""Finding, booking, cancelling and rescheduling appointments, and appointment requests."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal_core import audit, scheduling
from portal_core.actors import Actor
from portal_core.clinics import (
    AppointmentTypeNotFound,
    AppointmentTypeNotOffered,
    ClinicNotFound,
    local_at,
)
from portal_core.config import Settings
from portal_core.database import Database
from portal_core.errors import AccessDenied, InvalidInput, PremiumRequired, SlotUnavailable
from portal_core.models import (
    Appointment,
    AppointmentRequest,
    AppointmentType,
    AuditEvent,
    BookingPolicy,
    Clinic,
    Provider,
    ProxyGrant,
    Slot,
)
from portal_core.scheduling import (
    AppointmentAlreadyCancelled,
    AppointmentAlreadyPast,
    AppointmentNotFound,
    ClinicNeeded,
    DifferentAppointmentType,
    InvalidWindow,
    OverlappingAppointment,
    ProviderNotFound,
    ReasonTooLong,
    RequestAlreadyPending,
    RequestOnly,
    SameSlot,
    SlotNotFound,
    SlotTooSoon,
)
from tests.factories import make_clinic, make_family, make_patient, make_provider, stored
from understanding.when import parse_when
from wording.catalogue import appointment_summary, offered_time, preferred_window, say_error
from wording.formats import format_date, local_time

# Wednesday 25 November 2026, 9:00 AM in Texas; Thanksgiving is the next day.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
CHICAGO = "America/Chicago"


@dataclass(frozen=True)
class World:
    clinic: int  # the family's home clinic, America/Chicago
    pcm: int
    other_provider: int
    wellness: int  # direct, with a questionnaire
    acute: int  # direct, no questionnaire
    intake: int  # behavioral health intake: request only
    pha: int  # not offered at the home clinic
    sponsor: int
    spouse: int
    child: int  # 8
    teen: int  # 14
    adult_child: int  # 19
    stranger: int


def build_world(db: Database) -> World:
    with db.transaction() as s:
        fam = make_family(s, NOW.date())
        other = make_provider(s, fam.clinic, name="Dr. Rivera")
        types = {
            code: AppointmentType(code=code, name=name, questionnaire=clipboard)
            for code, name, clipboard in (
                ("wellness", "Wellness Visit", "Annual Wellness Questionnaire"),
                ("acute", "Acute Visit", None),
                ("behavioral_health_intake", "Behavioral Health Intake", "PHQ-9"),
                ("pha", "Periodic Health Assessment", None),
            )
        }
        s.add_all(types.values())
        s.flush()
        allow(s, fam.clinic.id, types["wellness"].id)
        allow(s, fam.clinic.id, types["acute"].id)
        allow(s, fam.clinic.id, types["behavioral_health_intake"].id, "request_only")
        allow(s, fam.clinic.id, types["pha"].id, offered=False)
        stranger = make_patient(s, first_name="Sam", pcm=fam.pcm, clinic=fam.clinic)
        return World(
            clinic=fam.clinic.id,
            pcm=fam.pcm.id,
            other_provider=other.id,
            wellness=types["wellness"].id,
            acute=types["acute"].id,
            intake=types["behavioral_health_intake"].id,
            pha=types["pha"].id,
            sponsor=fam.sponsor.id,
            spouse=fam.spouse.id,
            child=fam.child.id,
            teen=fam.teen.id,
            adult_child=fam.adult_child.id,
            stranger=stranger.id,
        )


def allow(
    s: Session, clinic_id: int, type_id: int, mode: str = "direct", offered: bool = True
) -> None:
    s.add(
        BookingPolicy(clinic_id=clinic_id, appointment_type_id=type_id, mode=mode, offered=offered)
    )
    s.flush()


def add_clinic(db: Database, world: World, zone: str, name: str = "Family Medicine Clinic") -> int:
    """An overseas clinic with its own provider, where wellness visits can be booked."""
    with db.transaction() as s:
        clinic = make_clinic(s, name=name, time_zone=zone)
        make_provider(s, clinic, name=f"Dr. {zone.split('/')[1]}")
        allow(s, clinic.id, world.wellness)
        return clinic.id


def add_slot(
    db: Database,
    clinic_id: int,
    type_id: int,
    starts_at: datetime,
    *,
    provider_id: int | None = None,
    minutes: int = 20,
) -> int:
    with db.transaction() as s:
        if provider_id is None:
            provider_id = _first_provider(s, clinic_id)
        slot = Slot(
            clinic_id=clinic_id,
            provider_id=provider_id,
            appointment_type_id=type_id,
            starts_at=starts_at,
            duration_minutes=minutes,
        )
        return stored(s, slot).id


def _first_provider(s: Session, clinic_id: int) -> int:
    return s.scalar(
        select(Provider.id).where(Provider.clinic_id == clinic_id).order_by(Provider.id)
    )


def local(zone: str, day: date, hour: int, minute: int = 0) -> datetime:
    return local_at(zone, day, time(hour, minute))


def count(db: Database, model: type, *where: object) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def actions(db: Database, patient_id: int) -> list[str]:
    with db.transaction() as s:
        return [e.action for e in audit.entries_for(s, patient_id) if e.outcome == "ok"]


@pytest.fixture
def world(db: Database) -> World:
    return build_world(db)


# --- find_open_slots --------------------------------------------------------------------------


def test_offers_the_earliest_open_slots_at_the_home_clinic(db: Database, world: World) -> None:
    tue = date(2026, 12, 1)
    times = [local(CHICAGO, tue, h) for h in (8, 9, 10, 11, 13)]
    ids = [add_slot(db, world.clinic, world.wellness, t) for t in times]
    elsewhere = add_clinic(db, world, "Europe/Berlin")
    add_slot(db, elsewhere, world.wellness, local("Europe/Berlin", date(2026, 11, 30), 9))
    book_directly(db, world.stranger, ids[0])

    found = scheduling.find_open_slots(
        db, Actor(world.sponsor), world.sponsor, type_id=world.wellness, now=NOW
    )

    assert [s.id for s in found] == ids[1:4]
    first = found[0]
    assert local_time(first.local_start) == "Tuesday, December 1 at 9:00 AM CST"
    assert offered_time(first) == f"Tuesday, December 1 at 9:00 AM CST with {first.provider_name}"
    assert first.starts_at == datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
    assert (first.clinic_id, first.clinic_name, first.type_name) == (
        world.clinic,
        "Family Medicine Clinic",
        "Wellness Visit",
    )
    assert first.provider_name.endswith(", MD")
    assert actions(db, world.sponsor)[-1] == "search"


def book_directly(db: Database, patient_id: int, slot_id: int, status: str = "booked") -> int:
    with db.transaction() as s:
        row = Appointment(
            patient_id=patient_id,
            slot_id=slot_id,
            status=status,
            booked_by_id=patient_id,
            channel="web",
            created_at=NOW - timedelta(days=10),
        )
        return stored(s, row).id


def test_spread_over_days_offers_the_first_time_of_each_day(db: Database, world: World) -> None:
    tue, wed, thu = date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)
    monday_rush = [
        add_slot(db, world.clinic, world.wellness, local(CHICAGO, tue, h)) for h in (8, 9)
    ]
    later = [
        add_slot(db, world.clinic, world.wellness, local(CHICAGO, wed, 10)),
        add_slot(db, world.clinic, world.wellness, local(CHICAGO, wed, 11)),
        add_slot(db, world.clinic, world.wellness, local(CHICAGO, thu, 14)),
    ]
    args = {"type_id": world.wellness, "now": NOW}
    earliest = scheduling.find_open_slots(db, Actor(world.sponsor), world.sponsor, **args)
    assert [s.id for s in earliest] == [*monday_rush, later[0]]
    spread = scheduling.find_open_slots(
        db, Actor(world.sponsor), world.sponsor, spread_days=True, **args
    )
    assert [s.id for s in spread] == [monday_rush[0], later[0], later[2]]
    # One day asked for: its earliest times, as before.
    one_day = scheduling.find_open_slots(
        db, Actor(world.sponsor), world.sponsor, window_start=wed, window_end=wed,
        spread_days=True, **args,
    )  # fmt: skip
    assert [s.id for s in one_day] == later[:2]


def test_offered_slots_are_looked_up_in_the_order_given(db: Database, world: World) -> None:
    tue = date(2026, 12, 1)
    first, second = (
        add_slot(db, world.clinic, world.wellness, local(CHICAGO, tue, h)) for h in (8, 9)
    )
    found = scheduling.offered_slots(db, [second, first, 999_999, "x"])  # type: ignore[list-item]
    assert [s.id for s in found] == [second, first]
    assert local_time(found[0].local_start) == "Tuesday, December 1 at 9:00 AM CST"
    assert scheduling.offered_slots(db, []) == []


def test_skips_slots_starting_within_the_booking_lead_time(db: Database, world: World) -> None:
    too_soon = add_slot(db, world.clinic, world.wellness, NOW + timedelta(minutes=45))
    past = add_slot(db, world.clinic, world.wellness, NOW - timedelta(hours=2))
    fine = add_slot(db, world.clinic, world.wellness, NOW + timedelta(minutes=61))
    found = find(db, world, world.sponsor, limit=5)
    assert [s.id for s in found] == [fine]
    assert too_soon not in [s.id for s in found] and past not in [s.id for s in found]


def find(
    db: Database, world: World, patient_id: int, **kwargs: object
) -> list[scheduling.SlotView]:
    kwargs.setdefault("type_id", world.wellness)
    kwargs.setdefault("now", NOW)
    actor = kwargs.pop("actor", Actor(world.sponsor))
    return scheduling.find_open_slots(db, actor, patient_id, **kwargs)  # type: ignore[arg-type]


def test_default_window_is_the_next_28_days(db: Database, world: World) -> None:
    today = date(2026, 11, 25)
    inside = add_slot(
        db, world.clinic, world.wellness, local(CHICAGO, today + timedelta(days=28), 10)
    )
    add_slot(db, world.clinic, world.wellness, local(CHICAGO, today + timedelta(days=29), 10))
    assert [s.id for s in find(db, world, world.sponsor, limit=5)] == [inside]


def test_explicit_window_and_provider(db: Database, world: World) -> None:
    day = date(2026, 12, 8)
    mine = add_slot(db, world.clinic, world.wellness, local(CHICAGO, day, 9), provider_id=world.pcm)
    other = add_slot(
        db, world.clinic, world.wellness, local(CHICAGO, day, 10), provider_id=world.other_provider
    )
    add_slot(db, world.clinic, world.wellness, local(CHICAGO, day + timedelta(days=1), 9))
    found = find(db, world, world.sponsor, window_start=day, window_end=day, limit=5)
    assert [s.id for s in found] == [mine, other]
    found = find(db, world, world.sponsor, provider_id=world.other_provider, limit=5)
    assert [s.id for s in found] == [other]
    assert found[0].provider_name == "Dr. Rivera, MD"


def test_a_provider_alone_picks_the_providers_clinic(db: Database, world: World) -> None:
    tokyo = add_clinic(db, world, "Asia/Tokyo")
    with db.transaction() as s:
        doctor = _first_provider(s, tokyo)
    slot = add_slot(db, tokyo, world.wellness, local("Asia/Tokyo", date(2026, 12, 2), 9))
    assert [s.id for s in find(db, world, world.sponsor, provider_id=doctor)] == [slot]


def test_default_clinic_falls_back_to_the_pcms_clinic(db: Database, world: World) -> None:
    with db.transaction() as s:
        clinic = s.get(Clinic, world.clinic)
        provider = make_provider(s, clinic)
        lone = make_patient(s, first_name="Lee", pcm=provider).id
        homeless = make_patient(s, first_name="Kim").id
    slot = add_slot(db, world.clinic, world.wellness, local(CHICAGO, date(2026, 12, 1), 9))
    found = scheduling.find_open_slots(db, Actor(lone), lone, type_id=world.wellness, now=NOW)
    assert [s.id for s in found] == [slot]
    with pytest.raises(ClinicNeeded):
        scheduling.find_open_slots(db, Actor(homeless), homeless, type_id=world.wellness, now=NOW)


ZONE_CASES = [
    # zone, a weekday there; the 8:00, 12:30 and 17:30 local slots sit in different UTC hours
    ("Europe/Berlin", date(2026, 12, 1)),
    ("Europe/Rome", date(2026, 12, 2)),
    ("Asia/Tokyo", date(2026, 12, 3)),
    ("Asia/Seoul", date(2026, 12, 4)),
    ("Pacific/Guam", date(2026, 12, 7)),
    ("America/Chicago", date(2026, 12, 8)),
]


@pytest.mark.parametrize(("zone", "day"), ZONE_CASES)
def test_time_of_day_is_judged_on_the_clinics_clock(
    db: Database, world: World, zone: str, day: date
) -> None:
    clinic = add_clinic(db, world, zone)
    slots = {
        part: add_slot(db, clinic, world.wellness, local(zone, day, hour, minute))
        for part, hour, minute in (("morning", 8, 0), ("afternoon", 12, 30), ("evening", 17, 30))
    }
    for part, slot_id in slots.items():
        found = find(db, world, world.sponsor, clinic_id=clinic, time_of_day=part, limit=5)
        assert [s.id for s in found] == [slot_id], (zone, part)
    morning = find(db, world, world.sponsor, clinic_id=clinic, time_of_day="Morning")[0]
    assert " at 8:00 AM " in local_time(morning.local_start)
    assert morning.time_zone == zone


def test_tokyo_window_days_are_tokyo_days(db: Database, world: World) -> None:
    tokyo = add_clinic(db, world, "Asia/Tokyo")
    # 8:30 AM on Wednesday 2 December in Tokyo is still Tuesday evening in UTC.
    early = add_slot(db, tokyo, world.wellness, datetime(2026, 12, 1, 23, 30, tzinfo=timezone.utc))
    # 6:00 PM on Tuesday 1 December in Tokyo is Tuesday morning in UTC.
    late = add_slot(db, tokyo, world.wellness, datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc))
    wed = date(2026, 12, 2)
    found = find(db, world, world.sponsor, clinic_id=tokyo, window_start=wed, window_end=wed)
    assert [s.id for s in found] == [early]
    assert local_time(found[0].local_start) == "Wednesday, December 2 at 8:30 AM JST"
    tue = date(2026, 12, 1)
    found = find(db, world, world.sponsor, clinic_id=tokyo, window_start=tue, window_end=tue)
    assert [s.id for s in found] == [late]
    found = find(db, world, world.sponsor, clinic_id=tokyo, time_of_day="evening")
    assert [s.id for s in found] == [late]


def test_time_of_day_follows_daylight_saving_time(db: Database, world: World) -> None:
    berlin = add_clinic(db, world, "Europe/Berlin")
    # The same 10:30 UTC is 11:30 AM before Europe springs forward (28 March 2027), 12:30 PM after.
    winter = add_slot(
        db, berlin, world.wellness, datetime(2027, 3, 26, 10, 30, tzinfo=timezone.utc)
    )
    summer = add_slot(
        db, berlin, world.wellness, datetime(2027, 3, 29, 10, 30, tzinfo=timezone.utc)
    )
    window = {"window_start": date(2027, 3, 22), "window_end": date(2027, 4, 2)}
    morning = find(db, world, world.sponsor, clinic_id=berlin, time_of_day="morning", **window)
    afternoon = find(db, world, world.sponsor, clinic_id=berlin, time_of_day="afternoon", **window)
    assert [s.id for s in morning] == [winter]
    assert [s.id for s in afternoon] == [summer]
    assert local_time(morning[0].local_start) == "Friday, March 26 at 11:30 AM CET"
    assert local_time(afternoon[0].local_start) == "Monday, March 29 at 12:30 PM CEST"


def test_us_daylight_saving_time(db: Database, world: World) -> None:
    # Chicago springs forward on 14 March 2027: 16:30 UTC is 10:30 AM CST before, 11:30 AM after.
    before = add_slot(
        db, world.clinic, world.wellness, datetime(2027, 3, 12, 16, 30, tzinfo=timezone.utc)
    )
    after = add_slot(
        db, world.clinic, world.wellness, datetime(2027, 3, 15, 16, 30, tzinfo=timezone.utc)
    )
    found = find(
        db, world, world.sponsor, window_start=date(2027, 3, 8), window_end=date(2027, 3, 19)
    )
    assert [(s.id, local_time(s.local_start)) for s in found] == [
        (before, "Friday, March 12 at 10:30 AM CST"),
        (after, "Monday, March 15 at 11:30 AM CDT"),
    ]


def test_skips_times_that_clash_with_the_patients_own_appointments(
    db: Database, world: World
) -> None:
    day = date(2026, 12, 1)
    mine = add_slot(db, world.clinic, world.acute, local(CHICAGO, day, 9), minutes=40)
    book_directly(db, world.sponsor, mine)
    clash = add_slot(db, world.clinic, world.wellness, local(CHICAGO, day, 9, 20))
    free = add_slot(db, world.clinic, world.wellness, local(CHICAGO, day, 9, 40))
    assert [s.id for s in find(db, world, world.sponsor)] == [free]
    assert [s.id for s in find(db, world, world.spouse, actor=Actor(world.spouse))] == [clash, free]


def test_searches_past_a_page_of_non_matching_slots(db: Database, world: World) -> None:
    start = local(CHICAGO, date(2026, 11, 30), 8)
    with db.transaction() as s:
        for n in range(scheduling._SEARCH_BATCH + 30):
            s.add(
                Slot(
                    clinic_id=world.clinic,
                    provider_id=world.pcm,
                    appointment_type_id=world.wellness,
                    starts_at=start + timedelta(days=n // 12, minutes=15 * (n % 12)),
                )
            )
    afternoon = add_slot(db, world.clinic, world.wellness, local(CHICAGO, date(2026, 12, 22), 14))
    found = find(db, world, world.sponsor, time_of_day="afternoon")
    assert [s.id for s in found] == [afternoon]


def test_request_only_types_are_not_offered_as_slots(db: Database, world: World) -> None:
    add_slot(db, world.clinic, world.intake, local(CHICAGO, date(2026, 12, 1), 9))
    with pytest.raises(RequestOnly) as err:
        find(db, world, world.sponsor, type_id=world.intake)
    assert (err.value.clinic_id, err.value.type_id) == (world.clinic, world.intake)
    assert "request" in say_error(err.value)
    with pytest.raises(AppointmentTypeNotOffered):
        find(db, world, world.sponsor, type_id=world.pha)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"window_start": date(2026, 12, 10), "window_end": date(2026, 12, 1)}, InvalidWindow),
        ({"window_start": date(2026, 11, 1), "window_end": date(2026, 11, 20)}, InvalidWindow),
        ({"window_end": date(2027, 12, 1)}, InvalidWindow),
        ({"window_start": date(2027, 5, 1)}, None),  # default end is clamped to six months
        ({"window_start": date(2027, 9, 1)}, InvalidWindow),
        ({"window_start": date(2099, 1, 1), "window_end": date(2099, 1, 2)}, InvalidWindow),
        ({"window_start": "2026-02-30"}, InvalidWindow),
        ({"window_start": "next tuesday"}, InvalidWindow),
        ({"window_start": datetime(2026, 12, 1, 9, tzinfo=timezone.utc)}, InvalidWindow),
        ({"time_of_day": "noonish"}, InvalidInput),
        ({"time_of_day": "'; DROP TABLE slots; --"}, InvalidInput),
        ({"limit": 0}, InvalidInput),
        ({"limit": 500}, InvalidInput),
        ({"type_id": 999_999}, AppointmentTypeNotFound),
        ({"type_id": 10**15}, AppointmentTypeNotFound),
        ({"clinic_id": 999_999}, ClinicNotFound),
        ({"provider_id": -1}, ProviderNotFound),
    ],
)
def test_search_input_is_validated(
    db: Database, world: World, kwargs: dict[str, object], error: type[Exception] | None
) -> None:
    if error is None:
        assert find(db, world, world.sponsor, **kwargs) == []
        return
    with pytest.raises(error) as err:
        find(db, world, world.sponsor, **kwargs)
    assert say_error(err.value).strip()  # type: ignore[arg-type]  # what the patient is told


def test_a_window_that_began_in_the_past_starts_today(db: Database, world: World) -> None:
    slot = add_slot(db, world.clinic, world.wellness, local(CHICAGO, date(2026, 11, 30), 9))
    found = find(db, world, world.sponsor, window_start="2026-11-01", window_end=date(2026, 12, 1))
    assert [s.id for s in found] == [slot]


def test_search_needs_access(db: Database, world: World) -> None:
    add_slot(db, world.clinic, world.wellness, local(CHICAGO, date(2026, 12, 1), 9))
    assert len(find(db, world, world.teen)) == 1
    with pytest.raises(AccessDenied):
        find(db, world, world.adult_child)
    with db.transaction() as s:
        basic = make_patient(s, assurance_level="basic", clinic=s.get(Clinic, world.clinic)).id
    with pytest.raises(PremiumRequired):
        scheduling.find_open_slots(db, Actor(basic), basic, type_id=world.wellness, now=NOW)


# --- book -------------------------------------------------------------------------------------


def test_book_attaches_the_clipboard_and_is_audited(db: Database, world: World) -> None:
    slot = add_slot(db, world.clinic, world.wellness, local(CHICAGO, date(2026, 12, 1), 9, 30))
    booked = scheduling.book(
        db, Actor(world.sponsor, "sms"), world.sponsor, slot, reason="  yearly   checkup ", now=NOW
    )
    assert booked.status == "booked"
    assert booked.slot_id == slot
    assert booked.reason == "yearly checkup"
    assert (booked.questionnaire, booked.questionnaire_status) == (
        "Annual Wellness Questionnaire",
        "pending",
    )
    assert (booked.booked_by_id, booked.channel) == (world.sponsor, "sms")
    assert local_time(booked.local_start) == "Tuesday, December 1 at 9:30 AM CST"
    assert appointment_summary(booked).startswith("Wellness Visit with ")
    assert appointment_summary(booked) == (
        f"Wellness Visit with {booked.provider_name} at the {booked.clinic_name} "
        "on Tuesday, December 1 at 9:30 AM CST"
    )  # the view carries the data; the catalogue words it as the view once did
    assert booked.patient_first_name == "Marcus"
    with db.transaction() as s:
        entry = [e for e in audit.entries_for(s, world.sponsor) if e.action == "book"][0]
    assert (entry.resource, entry.resource_id, entry.channel) == (
        "appointment",
        str(booked.id),
        "sms",
    )


def test_a_type_without_a_questionnaire_gets_none(db: Database, world: World) -> None:
    slot = add_slot(db, world.clinic, world.acute, NOW + timedelta(hours=3))
    booked = scheduling.book(db, Actor(world.sponsor), world.sponsor, slot, now=NOW)
    assert (booked.questionnaire, booked.questionnaire_status) == (None, None)


def test_request_only_and_unoffered_types_cannot_be_booked(db: Database, world: World) -> None:
    intake = add_slot(db, world.clinic, world.intake, NOW + timedelta(days=2))
    pha = add_slot(db, world.clinic, world.pha, NOW + timedelta(days=2))
    with pytest.raises(RequestOnly) as err:
        scheduling.book(db, Actor(world.sponsor), world.sponsor, intake, now=NOW)
    assert "Family Medicine Clinic" in say_error(err.value)
    assert "behavioral health intake" in say_error(err.value)
    with pytest.raises(AppointmentTypeNotOffered):
        scheduling.book(db, Actor(world.sponsor), world.sponsor, pha, now=NOW)
    assert count(db, Appointment) == 0


def test_a_type_without_a_policy_is_request_only(db: Database, world: World) -> None:
    with db.transaction() as s:
        follow_up = AppointmentType(code="follow_up", name="Follow-up Visit")
        s.add(follow_up)
        s.flush()
        type_id = follow_up.id
    slot = add_slot(db, world.clinic, type_id, NOW + timedelta(days=2))
    with pytest.raises(RequestOnly):
        scheduling.book(db, Actor(world.sponsor), world.sponsor, slot, now=NOW)


@pytest.mark.parametrize("offset", [timedelta(hours=-1), timedelta(0), timedelta(minutes=59)])
def test_past_or_imminent_slots_cannot_be_booked(
    db: Database, world: World, offset: timedelta
) -> None:
    slot = add_slot(db, world.clinic, world.wellness, NOW + offset)
    with pytest.raises(SlotTooSoon) as err:
        scheduling.book(db, Actor(world.sponsor), world.sponsor, slot, now=NOW)
    assert isinstance(err.value, SlotUnavailable)


@pytest.mark.parametrize("bad", [999_999, 0, -5, 10**15, True, "7", None])
def test_unknown_slots(db: Database, world: World, bad: object) -> None:
    with pytest.raises(SlotNotFound):
        scheduling.book(db, Actor(world.sponsor), world.sponsor, bad, now=NOW)  # type: ignore[arg-type]


def test_a_taken_slot_is_unavailable_but_a_repeat_is_harmless(db: Database, world: World) -> None:
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    first = scheduling.book(db, Actor(world.sponsor), world.sponsor, slot, now=NOW)
    again = scheduling.book(db, Actor(world.sponsor), world.sponsor, slot, now=NOW)
    assert again.id == first.id
    with pytest.raises(SlotUnavailable) as err:
        scheduling.book(db, Actor(world.spouse), world.spouse, slot, now=NOW)
    assert "no longer available" in say_error(err.value)
    assert count(db, Appointment) == 1


def test_a_cancelled_slot_can_be_booked_again(db: Database, world: World) -> None:
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    first = scheduling.book(db, Actor(world.sponsor), world.sponsor, slot, now=NOW)
    scheduling.cancel(db, Actor(world.sponsor), first.id, now=NOW)
    second = scheduling.book(db, Actor(world.spouse), world.spouse, slot, now=NOW)
    assert second.id != first.id
    assert count(db, Appointment, Appointment.slot_id == slot, Appointment.status == "booked") == 1


def test_the_database_refuses_a_second_active_booking(db: Database, world: World) -> None:
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    book_directly(db, world.sponsor, slot)
    book_directly(db, world.spouse, slot, status="cancelled")
    with pytest.raises(IntegrityError):
        book_directly(db, world.spouse, slot)


def test_overlapping_own_appointments_are_refused(db: Database, world: World) -> None:
    day = date(2026, 12, 1)
    tokyo = add_clinic(db, world, "Asia/Tokyo")
    first = add_slot(
        db, world.clinic, world.wellness, local(CHICAGO, day, 9), provider_id=world.pcm
    )
    clash = add_slot(
        db, world.clinic, world.acute, local(CHICAGO, day, 9, 10), provider_id=world.other_provider
    )
    back_to_back = add_slot(db, world.clinic, world.acute, local(CHICAGO, day, 9, 20))
    far_away = add_slot(db, tokyo, world.wellness, local(CHICAGO, day, 9, 19))
    scheduling.book(db, Actor(world.sponsor), world.sponsor, first, now=NOW)
    for slot in (clash, far_away):
        with pytest.raises(OverlappingAppointment) as err:
            scheduling.book(db, Actor(world.sponsor), world.sponsor, slot, now=NOW)
        assert "Tuesday, December 1 at 9:00 AM CST" in say_error(err.value)
    assert scheduling.book(db, Actor(world.sponsor), world.sponsor, back_to_back, now=NOW).id
    assert scheduling.book(db, Actor(world.spouse), world.spouse, clash, now=NOW).id


def test_a_parent_books_for_a_teen_but_not_an_adult_child(db: Database, world: World) -> None:
    slots = [add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=d)) for d in (1, 2)]
    parent = Actor(world.spouse, "voice")
    booked = scheduling.book(db, parent, world.teen, slots[0], now=NOW)
    assert (booked.patient_id, booked.booked_by_id, booked.patient_first_name) == (
        world.teen,
        world.spouse,
        "Noah",
    )
    with pytest.raises(AccessDenied) as err:
        scheduling.book(db, parent, world.adult_child, slots[1], now=NOW)
    assert "Ava" in say_error(err.value) and "adult" in say_error(err.value)
    assert count(db, Appointment, Appointment.patient_id == world.adult_child) == 0
    with db.transaction() as s:
        denied = [e for e in audit.entries_for(s, world.adult_child) if e.outcome == "denied"]
    assert len(denied) == 1


def test_an_adult_child_can_grant_proxy_access(db: Database, world: World) -> None:
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    with db.transaction() as s:
        s.add(
            ProxyGrant(
                grantor_id=world.adult_child,
                grantee_id=world.sponsor,
                granted_at=NOW - timedelta(days=3),
                expires_on=date(2027, 6, 1),
            )
        )
    booked = scheduling.book(db, Actor(world.sponsor), world.adult_child, slot, now=NOW)
    assert booked.patient_id == world.adult_child


def test_a_basic_account_cannot_book(db: Database, world: World) -> None:
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    with db.transaction() as s:
        basic = make_patient(s, assurance_level="basic").id
    with pytest.raises(PremiumRequired):
        scheduling.book(db, Actor(basic), basic, slot, now=NOW)


@pytest.mark.parametrize(
    ("reason", "stored"),
    [
        ("x" * 500, "x" * 500),
        ("   ", None),
        ("cough\x00 and\tfever\n", "cough and fever"),
        ("Robert'); DROP TABLE appointments;--", "Robert'); DROP TABLE appointments;--"),
        ("Rückenschmerzen 背中", "Rückenschmerzen 背中"),
        ("left\u202c-sided \u2066knee\u2069 pain", "left-sided knee pain"),
    ],
)
def test_reasons_are_cleaned(db: Database, world: World, reason: str, stored: str | None) -> None:
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    booked = scheduling.book(db, Actor(world.sponsor), world.sponsor, slot, reason=reason, now=NOW)
    assert booked.reason == stored
    with db.transaction() as s:
        assert s.get(Appointment, booked.id).reason == stored


@pytest.mark.parametrize("reason", ["x" * 501, "y" * 10_240, 42])
def test_overlong_or_odd_reasons_are_rejected(db: Database, world: World, reason: object) -> None:
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    with pytest.raises(InvalidInput) as err:
        scheduling.book(db, Actor(world.sponsor), world.sponsor, slot, reason=reason, now=NOW)  # type: ignore[arg-type]
    if isinstance(reason, str):
        assert isinstance(err.value, ReasonTooLong)
        assert "500" in say_error(err.value)
    assert count(db, Appointment) == 0


# --- cancel -----------------------------------------------------------------------------------


def test_cancel_own_appointment(db: Database, world: World) -> None:
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    booked = scheduling.book(db, Actor(world.sponsor), world.sponsor, slot, now=NOW)
    later = NOW + timedelta(minutes=5)
    cancelled = scheduling.cancel(db, Actor(world.sponsor, "sms"), booked.id, now=later)
    assert (cancelled.status, cancelled.cancelled_at) == ("cancelled", later)
    assert actions(db, world.sponsor)[-1] == "cancel"
    with pytest.raises(AppointmentAlreadyCancelled):
        scheduling.cancel(db, Actor(world.sponsor), booked.id, now=later)


def test_past_appointments_cannot_be_cancelled(db: Database, world: World) -> None:
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    booked = scheduling.book(db, Actor(world.sponsor), world.sponsor, slot, now=NOW)
    with pytest.raises(AppointmentAlreadyPast):
        scheduling.cancel(db, Actor(world.sponsor), booked.id, now=NOW + timedelta(days=1))
    with db.transaction() as s:
        s.get(Appointment, booked.id).status = "completed"
    with pytest.raises(AppointmentAlreadyPast):
        scheduling.cancel(db, Actor(world.sponsor), booked.id, now=NOW)


def test_someone_elses_appointment_looks_like_no_appointment(db: Database, world: World) -> None:
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    theirs = scheduling.book(db, Actor(world.stranger), world.stranger, slot, now=NOW)
    with pytest.raises(AppointmentNotFound) as missing:
        scheduling.cancel(db, Actor(world.sponsor), 999_999, now=NOW)
    with pytest.raises(AppointmentNotFound) as hidden:
        scheduling.cancel(db, Actor(world.sponsor), theirs.id, now=NOW)
    assert say_error(hidden.value) == say_error(missing.value)
    assert "Sam" not in say_error(hidden.value)
    with db.transaction() as s:
        assert s.get(Appointment, theirs.id).status == "booked"


def test_proxy_rules_apply_to_cancelling(db: Database, world: World) -> None:
    slots = [add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=d)) for d in (1, 2)]
    teen = scheduling.book(db, Actor(world.teen), world.teen, slots[0], now=NOW)
    adult = scheduling.book(db, Actor(world.adult_child), world.adult_child, slots[1], now=NOW)
    assert scheduling.cancel(db, Actor(world.sponsor), teen.id, now=NOW).status == "cancelled"
    with pytest.raises(AppointmentNotFound):
        scheduling.cancel(db, Actor(world.sponsor), adult.id, now=NOW)
    with db.transaction() as s:
        basic = make_patient(s, assurance_level="basic").id
    with pytest.raises(PremiumRequired):
        scheduling.cancel(db, Actor(basic), adult.id, now=NOW)
    with pytest.raises(PremiumRequired):
        scheduling.cancel(db, Actor(basic), 999_999, now=NOW)


# --- reschedule -------------------------------------------------------------------------------


def test_reschedule_moves_the_booking(db: Database, world: World) -> None:
    day = date(2026, 12, 1)
    old_slot = add_slot(db, world.clinic, world.wellness, local(CHICAGO, day, 9))
    # 9:10 overlaps the 9:00 booking being replaced, which is fine: it is being given up.
    new_slot = add_slot(db, world.clinic, world.wellness, local(CHICAGO, day, 9, 10))
    old = scheduling.book(db, Actor(world.sponsor), world.sponsor, old_slot, reason="knee", now=NOW)
    with db.transaction() as s:
        s.get(Appointment, old.id).questionnaire_status = "completed"
    new = scheduling.reschedule(db, Actor(world.sponsor, "sms"), old.id, new_slot, now=NOW)
    assert (new.slot_id, new.status, new.reason) == (new_slot, "booked", "knee")
    assert new.questionnaire_status == "completed"
    assert local_time(new.local_start) == "Tuesday, December 1 at 9:10 AM CST"
    with db.transaction() as s:
        assert s.get(Appointment, old.id).status == "cancelled"
    assert actions(db, world.sponsor)[-2:] == ["cancel", "reschedule"]
    assert [
        a.id for a in scheduling.upcoming(db, Actor(world.sponsor), world.sponsor, now=NOW)
    ] == [new.id]


def test_a_failed_reschedule_keeps_the_old_booking(db: Database, world: World) -> None:
    old_slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    taken = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=2))
    old = scheduling.book(db, Actor(world.sponsor), world.sponsor, old_slot, now=NOW)
    scheduling.book(db, Actor(world.spouse), world.spouse, taken, now=NOW)
    audit_rows = count(db, AuditEvent)
    # The new slot is lost at the unique index, after the old booking was already cancelled in
    # the same transaction: the rollback must restore it.
    with pytest.raises(SlotUnavailable):
        scheduling.reschedule(db, Actor(world.sponsor), old.id, taken, now=NOW)
    with db.transaction() as s:
        row = s.get(Appointment, old.id)
        assert (row.status, row.cancelled_at) == ("booked", None)
    assert count(db, Appointment, Appointment.patient_id == world.sponsor) == 1
    assert count(db, AuditEvent) == audit_rows


def assert_reschedule_refused(
    db: Database,
    who: int,
    appointment_id: int,
    slot_id: int,
    error: type[Exception],
    *,
    now: datetime = NOW,
) -> None:
    """`who` moving the appointment to `slot_id` raises `error` and leaves it booked as it was."""
    with pytest.raises(error):
        scheduling.reschedule(db, Actor(who), appointment_id, slot_id, now=now)
    with db.transaction() as s:
        assert s.get(Appointment, appointment_id).status == "booked"


def test_a_reschedule_into_a_clash_keeps_the_old_booking(db: Database, world: World) -> None:
    day = date(2026, 12, 2)
    old_slot = add_slot(db, world.clinic, world.wellness, local(CHICAGO, day, 9))
    acute = add_slot(db, world.clinic, world.acute, local(CHICAGO, day, 14))
    clash = add_slot(db, world.clinic, world.wellness, local(CHICAGO, day, 14, 10))
    old = scheduling.book(db, Actor(world.sponsor), world.sponsor, old_slot, now=NOW)
    scheduling.book(db, Actor(world.sponsor), world.sponsor, acute, now=NOW)
    assert_reschedule_refused(db, world.sponsor, old.id, clash, OverlappingAppointment)


def test_reschedule_rules(db: Database, world: World) -> None:
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    acute = add_slot(db, world.clinic, world.acute, NOW + timedelta(days=2))
    soon = add_slot(db, world.clinic, world.wellness, NOW + timedelta(minutes=30))
    later = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=3))
    mine = scheduling.book(db, Actor(world.sponsor), world.sponsor, slot, now=NOW)
    assert_reschedule_refused(db, world.sponsor, mine.id, slot, SameSlot)
    assert_reschedule_refused(db, world.sponsor, mine.id, acute, DifferentAppointmentType)
    assert_reschedule_refused(db, world.sponsor, mine.id, soon, SlotTooSoon)
    assert_reschedule_refused(db, world.sponsor, mine.id, 999_999, SlotNotFound)
    assert_reschedule_refused(db, world.stranger, mine.id, later, AppointmentNotFound)
    assert_reschedule_refused(
        db, world.sponsor, mine.id, later, AppointmentAlreadyPast, now=NOW + timedelta(days=2)
    )
    scheduling.cancel(db, Actor(world.sponsor), mine.id, now=NOW)
    with pytest.raises(AppointmentAlreadyCancelled):
        scheduling.reschedule(db, Actor(world.sponsor), mine.id, later, now=NOW)


def test_reschedule_into_a_request_only_clinic_is_refused(db: Database, world: World) -> None:
    berlin = add_clinic(db, world, "Europe/Berlin")
    with db.transaction() as s:
        policy = s.scalar(select(BookingPolicy).where(BookingPolicy.clinic_id == berlin))
        policy.mode = "request_only"
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    abroad = add_slot(db, berlin, world.wellness, NOW + timedelta(days=4))
    mine = scheduling.book(db, Actor(world.sponsor), world.sponsor, slot, now=NOW)
    assert_reschedule_refused(db, world.sponsor, mine.id, abroad, RequestOnly)


def test_a_parent_reschedules_for_a_teen(db: Database, world: World) -> None:
    first = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    second = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=2))
    booked = scheduling.book(db, Actor(world.teen), world.teen, first, now=NOW)
    moved = scheduling.reschedule(db, Actor(world.sponsor), booked.id, second, now=NOW)
    assert (moved.patient_id, moved.booked_by_id) == (world.teen, world.sponsor)


# --- upcoming ---------------------------------------------------------------------------------


def test_upcoming_lists_booked_future_visits_soonest_first(db: Database, world: World) -> None:
    berlin = add_clinic(db, world, "Europe/Berlin")
    later = add_slot(db, berlin, world.wellness, local("Europe/Berlin", date(2026, 12, 10), 9))
    sooner = add_slot(db, world.clinic, world.acute, local(CHICAGO, date(2026, 12, 1), 9))
    gone = add_slot(db, world.clinic, world.wellness, local(CHICAGO, date(2026, 12, 3), 9))
    in_progress = add_slot(db, world.clinic, world.acute, NOW - timedelta(minutes=10), minutes=30)
    over = add_slot(db, world.clinic, world.acute, NOW - timedelta(minutes=40), minutes=30)
    ids = {
        name: book_directly(db, world.sponsor, slot)
        for name, slot in (("later", later), ("sooner", sooner), ("now", in_progress))
    }
    book_directly(db, world.sponsor, gone, status="cancelled")
    book_directly(db, world.sponsor, over)
    book_directly(
        db, world.spouse, add_slot(db, world.clinic, world.acute, NOW + timedelta(days=5))
    )

    listed = scheduling.upcoming(db, Actor(world.sponsor, "voice"), world.sponsor, now=NOW)

    assert [a.id for a in listed] == [ids["now"], ids["sooner"], ids["later"]]
    assert local_time(listed[2].local_start) == "Thursday, December 10 at 9:00 AM CET"
    assert local_time(listed[1].local_start) == "Tuesday, December 1 at 9:00 AM CST"
    with db.transaction() as s:
        entry = audit.entries_for(s, world.sponsor)[-1]
    assert (entry.action, entry.resource, entry.channel) == ("read", "appointments", "voice")


def test_upcoming_respects_proxy_rules(db: Database, world: World) -> None:
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=1))
    book_directly(db, world.teen, slot)
    assert len(scheduling.upcoming(db, Actor(world.sponsor), world.teen, now=NOW)) == 1
    with pytest.raises(AccessDenied):
        scheduling.upcoming(db, Actor(world.sponsor), world.adult_child, now=NOW)
    assert scheduling.upcoming(db, Actor(world.sponsor), world.sponsor, now=NOW) == []


# --- request_appointment ----------------------------------------------------------------------


def request(db: Database, world: World, **kwargs: object) -> scheduling.AppointmentRequestView:
    kwargs.setdefault("clinic_id", world.clinic)
    kwargs.setdefault("type_id", world.intake)
    kwargs.setdefault("preferred_windows", [])
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("settings", Settings())
    patient = kwargs.pop("patient_id", world.sponsor)
    actor = kwargs.pop("actor", Actor(world.sponsor, "sms"))
    return scheduling.request_appointment(db, actor, patient, **kwargs)  # type: ignore[arg-type]


def test_request_skips_thanksgiving_for_the_contact_date(db: Database, world: World) -> None:
    windows = [
        {"start": date(2026, 12, 1), "end": date(2026, 12, 4), "time_of_day": "morning"},
        ("2026-12-08", "2026-12-08"),
        (date(2026, 12, 9),),
        parse_when("december 3rd in the afternoon", CHICAGO, now=NOW),
    ]
    made = request(db, world, preferred_windows=windows, reason="new to the area")
    # Wednesday the 25th: Thursday is Thanksgiving, Friday counts, then Monday.
    assert made.contact_by == date(2026, 11, 30)
    assert (made.type_name, made.clinic_name) == ("Behavioral Health Intake", made.clinic_name)
    assert made.status == "pending"
    assert [preferred_window(w) for w in made.preferred_windows] == [
        "Tuesday, December 1 to Friday, December 4 in the morning",
        "Tuesday, December 8",
        "Wednesday, December 9",
        "Thursday, December 3 in the afternoon",
    ]
    with db.transaction() as s:
        row = s.get(AppointmentRequest, made.id)
        assert row.contact_by == local_at(CHICAGO, date(2026, 11, 30), time(17, 0))
        assert json.loads(row.preferred_windows)[0] == {
            "start": "2026-12-01",
            "end": "2026-12-04",
            "time_of_day": "morning",
        }
        assert (row.requested_by_id, row.channel, row.reason) == (
            world.sponsor,
            "sms",
            "new to the area",
        )
    assert actions(db, world.sponsor)[-1] == "request"


def test_contact_date_uses_the_setting_and_the_clinics_calendar(db: Database, world: World) -> None:
    tokyo = add_clinic(db, world, "Asia/Tokyo")
    thursday = datetime(2026, 12, 3, 16, 0, tzinfo=timezone.utc)  # already Friday in Tokyo
    assert request(db, world, now=thursday).contact_by == date(2026, 12, 7)
    assert request(db, world, clinic_id=tokyo, type_id=world.wellness, now=thursday).contact_by == (
        date(2026, 12, 8)
    )
    slow = Settings(appointment_request_business_days=5)
    later = request(db, world, patient_id=world.teen, now=thursday, settings=slow)
    assert later.contact_by == date(2026, 12, 10)


def test_a_second_request_for_the_same_visit_points_to_the_first(
    db: Database, world: World
) -> None:
    first = request(db, world, reason="new to the area")
    with pytest.raises(RequestAlreadyPending) as err:
        request(db, world, now=NOW + timedelta(days=1), reason="still waiting")
    message = say_error(err.value)
    assert "already a request for a behavioral health intake" in message
    assert "sent on Wednesday, November 25" in message
    assert f"contact you by {format_date(first.contact_by)}" in message
    assert count(db, AppointmentRequest) == 1
    # Another kind of visit, or the same one for someone else, is a request of its own.
    assert request(db, world, type_id=world.wellness).type_name == "Wellness Visit"
    assert request(db, world, patient_id=world.teen).patient_id == world.teen
    # Once the clinic has dealt with the first, a new one may be filed.
    with db.transaction() as s:
        s.get(AppointmentRequest, first.id).status = "scheduled"
    assert request(db, world).id != first.id
    assert count(db, AppointmentRequest) == 4


def test_direct_types_can_be_requested_but_unoffered_ones_cannot(
    db: Database, world: World
) -> None:
    assert request(db, world, type_id=world.wellness).type_name == "Wellness Visit"
    with pytest.raises(AppointmentTypeNotOffered):
        request(db, world, type_id=world.pha)
    with pytest.raises(ClinicNotFound):
        request(db, world, clinic_id=424_242)
    with pytest.raises(AppointmentTypeNotFound):
        request(db, world, type_id="intake")


@pytest.mark.parametrize(
    "windows",
    [
        [{"start": date(2026, 12, 9), "end": date(2026, 12, 1)}],
        [(date(2026, 11, 1), date(2026, 11, 20))],
        [(date(2026, 12, 1), date(2027, 12, 1))],
        [("2026-13-01",)],
        [{"start": date(2026, 12, 1), "until": date(2026, 12, 2)}],
        [{"end": date(2026, 12, 2)}],
        [(date(2026, 12, 1), date(2026, 12, 2), "brunch")],
        [(date(2026, 12, 1 + n),) for n in range(6)],
        ["2026-12-01"],
        "2026-12-01",
        [()],
    ],
)
def test_bad_windows_are_rejected_and_nothing_is_filed(
    db: Database, world: World, windows: object
) -> None:
    with pytest.raises(InvalidInput) as err:
        request(db, world, preferred_windows=windows)
    assert say_error(err.value).strip()
    assert count(db, AppointmentRequest) == 0


def test_request_needs_access_and_a_sane_reason(db: Database, world: World) -> None:
    made = request(db, world, patient_id=world.teen, reason="school counselor referred")
    assert made.patient_id == world.teen
    with pytest.raises(AccessDenied):
        request(db, world, patient_id=world.adult_child)
    with pytest.raises(ReasonTooLong):
        request(db, world, reason="z" * 10_000)
    assert count(db, AppointmentRequest) == 1


# --- concurrency ------------------------------------------------------------------------------

RACERS = 20


def test_twenty_people_race_for_one_slot_and_exactly_one_wins(db: Database, world: World) -> None:
    """Each booker has its own engine and connection; a barrier releases them together."""
    with db.transaction() as s:
        clinic = s.get(Clinic, world.clinic)
        patients = [
            make_patient(s, first_name=f"Racer{n}", clinic=clinic).id for n in range(RACERS)
        ]
    slot = add_slot(db, world.clinic, world.wellness, NOW + timedelta(days=2))
    engines = [Database(db.url) for _ in range(RACERS)]
    for own in engines:  # connect before the race, so the race is about the booking
        with own.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    barrier = threading.Barrier(RACERS, timeout=30)
    outcomes: list[object] = [None] * RACERS

    def race(n: int) -> None:
        barrier.wait()
        try:
            outcomes[n] = scheduling.book(
                engines[n], Actor(patients[n]), patients[n], slot, now=NOW
            )
        except Exception as exc:  # noqa: BLE001 - every outcome is inspected below
            outcomes[n] = exc

    threads = [threading.Thread(target=race, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for own in engines:
        own.dispose()

    winners = [o for o in outcomes if isinstance(o, scheduling.AppointmentView)]
    losers = [o for o in outcomes if isinstance(o, SlotUnavailable)]
    assert len(winners) == 1, outcomes
    assert len(losers) == RACERS - 1, [o for o in outcomes if not isinstance(o, SlotUnavailable)]
    assert not any(isinstance(o, SlotTooSoon) for o in losers)
    assert count(db, Appointment, Appointment.slot_id == slot, Appointment.status == "booked") == 1
    assert count(db, Appointment) == 1
    with db.transaction() as s:
        row = s.scalar(select(Appointment).where(Appointment.slot_id == slot))
        assert row.patient_id == winners[0].patient_id  # type: ignore[union-attr]
