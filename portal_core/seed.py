"""The demo population: clinics at home and overseas, families, medications, results, slots.

Everything is anchored on one date (`today`), so a demo seeded on any day has open slots in the
coming four weeks, children who are exactly 8, 14 and 19, and refills that are due, too soon or
expired on that day. The same date always gives the same rows: the only randomness is a
`random.Random` with a fixed seed, consumed in a fixed order.

All people, phone numbers and identifiers are fictional: phones are in the 555-01xx range
reserved for fiction, DoD ID numbers start with 9999, e-mail addresses use example.com, and
clinic numbers use 555 exchanges. Facility names and time zones are real, so the demo behaves
like the real network (Central Texas, Germany, Japan, Korea, Italy).

`DEMO_IDENTITIES` lists every seeded person with what is worth trying as them; the CLI's
`demo-identities` command prints it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from portal_core.business_days import add_business_days, is_business_day
from portal_core.clock import utcnow
from portal_core.database import Database
from portal_core.errors import Conflict
from portal_core.models import (
    Appointment,
    AppointmentRequest,
    AppointmentType,
    BookingPolicy,
    CareTeamMember,
    Clinic,
    Guardianship,
    Immunization,
    LabResult,
    Message,
    MessageThread,
    Patient,
    Pharmacy,
    Prescription,
    Provider,
    ProxyGrant,
    RefillRequest,
    RefillStatusEvent,
    RenewalRequest,
    Report,
    Slot,
)

RANDOM_SEED = 20_240_611
SLOT_DAYS = 28
CLINIC_OPENS = time(7, 30)
CLINIC_CLOSES = time(16, 0)
LUNCH = (time(12, 0), time(13, 0))
SLOT_GRID_MINUTES = 30
SLOT_FILL_CHANCE = 0.38  # of each free half hour becoming an open, bookable slot
PROVIDER_AWAY_CHANCE = 0.08  # leave, training, inpatient weeks
UTC = timezone.utc

HIE_PARTNER = "Baylor Scott & White – Temple"


class AlreadySeeded(Conflict):
    default_message = (
        "The database already holds clinics or patients, so the demo data was not added again."
    )


# ---------------------------------------------------------------------------------------------
# Reference data


@dataclass(frozen=True)
class ClinicSpec:
    code: str
    name: str
    facility: str
    time_zone: str
    phone: str
    country: str
    city: str
    service: str = "Primary Care"


CLINICS: tuple[ClinicSpec, ...] = (
    ClinicSpec(
        "darnall-fm", "Family Medicine Clinic", "Carl R. Darnall Army Medical Center",
        "America/Chicago", "254-555-0110", "US", "Fort Cavazos",
    ),
    ClinicSpec(
        "darnall-peds", "Pediatrics Clinic", "Carl R. Darnall Army Medical Center",
        "America/Chicago", "254-555-0111", "US", "Fort Cavazos", "Pediatrics",
    ),
    ClinicSpec(
        "nmcsd-fm", "Family Medicine Clinic", "Naval Medical Center San Diego",
        "America/Los_Angeles", "619-555-0112", "US", "San Diego",
    ),
    ClinicSpec(
        "walter-reed-im", "Internal Medicine Clinic",
        "Walter Reed National Military Medical Center", "America/New_York", "301-555-0113",
        "US", "Bethesda", "Internal Medicine",
    ),
    ClinicSpec(
        "walter-reed-bh", "Behavioral Health Clinic",
        "Walter Reed National Military Medical Center", "America/New_York", "301-555-0114",
        "US", "Bethesda", "Behavioral Health",
    ),
    ClinicSpec(
        "landstuhl-pc", "Primary Care Clinic", "Landstuhl Regional Medical Center",
        "Europe/Berlin", "+49 6371 555-0115", "DE", "Landstuhl",
    ),
    ClinicSpec(
        "yokosuka-fm", "Family Medicine Clinic", "U.S. Naval Hospital Yokosuka",
        "Asia/Tokyo", "+81 46-555-0116", "JP", "Yokosuka",
    ),
    ClinicSpec(
        "humphreys-fm", "Family Medicine Clinic",
        "Brian D. Allgood Army Community Hospital", "Asia/Seoul", "+82 31-555-0117", "KR",
        "Camp Humphreys",
    ),
    ClinicSpec(
        "naples-pc", "Primary Care Clinic", "U.S. Naval Hospital Naples", "Europe/Rome",
        "+39 081 555 0118", "IT", "Naples",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class AppointmentTypeSpec:
    code: str
    name: str
    duration_minutes: int
    questionnaire: str | None = None
    weight: int = 1  # how often it appears among open slots


APPOINTMENT_TYPES: tuple[AppointmentTypeSpec, ...] = (
    AppointmentTypeSpec("wellness", "Wellness exam", 40, "Annual wellness questionnaire", 2),
    AppointmentTypeSpec("follow_up", "Follow-up visit", 20, None, 5),
    AppointmentTypeSpec("acute", "Sick call (acute visit)", 20, None, 4),
    AppointmentTypeSpec(
        "pha", "Periodic health assessment (physical)", 30,
        "PHA self-assessment (DD Form 3024)", 2,
    ),
    AppointmentTypeSpec(
        "behavioral_health_intake", "Behavioral health intake", 60, "PHQ-9 and GAD-7", 1
    ),
    AppointmentTypeSpec(
        "well_child", "Well-child visit", 30, "Well-child developmental questionnaire", 3
    ),
    AppointmentTypeSpec("immunization", "Immunization-only visit", 15, None, 2),
    AppointmentTypeSpec("womens_health", "Women's health visit", 30, None, 1),
    AppointmentTypeSpec(
        "sports_physical", "Sports physical", 30, "Pre-participation physical evaluation form", 1
    ),
    AppointmentTypeSpec("telehealth", "Telehealth video visit", 20, None, 3),
    AppointmentTypeSpec("medication_review", "Medication review", 20, None, 1),
    AppointmentTypeSpec("behavioral_health_follow_up", "Behavioral health follow-up", 50, None, 4),
)  # fmt: skip

D, R = "direct", "request_only"
_PRIMARY_CARE = {
    "wellness": D, "follow_up": D, "acute": D, "pha": D, "behavioral_health_intake": R,
    "well_child": D, "immunization": D, "womens_health": D, "sports_physical": D,
    "telehealth": D, "medication_review": D,
}  # fmt: skip

# Per clinic: appointment type -> booking mode. Types a clinic does not list are stored as
# `offered=False`, so "not offered here" is explicit rather than implied by a missing row.
BOOKING_POLICIES: dict[str, dict[str, str]] = {
    "darnall-fm": {k: v for k, v in _PRIMARY_CARE.items() if k != "well_child"},
    "darnall-peds": {
        "well_child": D, "sports_physical": D, "acute": D, "follow_up": D, "immunization": D,
        "telehealth": D, "behavioral_health_intake": R,
    },
    "nmcsd-fm": {**_PRIMARY_CARE, "womens_health": R},
    "walter-reed-im": {
        "wellness": D, "follow_up": D, "acute": D, "pha": D, "behavioral_health_intake": R,
        "immunization": D, "womens_health": D, "telehealth": D, "medication_review": D,
    },
    "walter-reed-bh": {
        "behavioral_health_intake": R, "behavioral_health_follow_up": D,
        "medication_review": D, "telehealth": D,
    },
    "landstuhl-pc": dict(_PRIMARY_CARE),
    "yokosuka-fm": {**_PRIMARY_CARE, "pha": R},
    "humphreys-fm": {**_PRIMARY_CARE, "womens_health": R},
    "naples-pc": {**_PRIMARY_CARE, "telehealth": R},
}  # fmt: skip


@dataclass(frozen=True)
class StaffSpec:
    name: str
    credentials: str
    specialty: str
    books_slots: bool = True  # clinicians with their own schedule; nurses and MAs have none


def _team(*members: tuple[str, str, str]) -> tuple[StaffSpec, ...]:
    return tuple(
        StaffSpec(name, cred, specialty, books_slots=cred not in ("RN", "CMA"))
        for name, cred, specialty in members
    )


# The first clinician is the usual PCM; the RN and the medical assistant join every care team.
STAFF: dict[str, tuple[StaffSpec, ...]] = {
    "darnall-fm": _team(
        ("Sarah Kim", "MD", "Family Medicine"),
        ("Michael Brennan", "DO", "Family Medicine"),
        ("Laura Chen", "NP", "Family Nurse Practitioner"),
        ("Angela Morris", "RN", "Nursing"),
        ("Carlos Ruiz", "CMA", "Medical Assistant"),
    ),
    "darnall-peds": _team(
        ("Priya Patel", "MD", "Pediatrics"),
        ("Thomas Greene", "PA-C", "Pediatrics"),
        ("Keisha Williams", "RN", "Pediatric Nursing"),
        ("Jordan Hall", "CMA", "Medical Assistant"),
    ),
    "nmcsd-fm": _team(
        ("Jennifer Alvarez", "MD", "Family Medicine"),
        ("Ryan O'Connell", "DO", "Family Medicine"),
        ("Hannah Lee", "NP", "Family Nurse Practitioner"),
        ("Teresa Flores", "RN", "Nursing"),
        ("Anthony Diaz", "CMA", "Medical Assistant"),
    ),
    "walter-reed-im": _team(
        ("Anil Mehta", "MD", "Internal Medicine"),
        ("Catherine Doyle", "MD", "Internal Medicine"),
        ("Jessica Park", "NP", "Adult-Gerontology Nurse Practitioner"),
        ("Denise Carter", "RN", "Nursing"),
        ("Brandon Lewis", "CMA", "Medical Assistant"),
    ),
    "walter-reed-bh": _team(
        ("Eleanor Shaw", "MD", "Psychiatry"),
        ("Nathan Weiss", "PhD", "Clinical Psychology"),
        ("Monica Reyes", "LCSW", "Clinical Social Work"),
        ("Paula Jenkins", "RN", "Psychiatric Nursing"),
    ),
    "landstuhl-pc": _team(
        ("Katharine Miller", "MD", "Family Medicine"),
        ("Brian Foster", "PA-C", "Family Medicine"),
        ("Nicole Adams", "NP", "Family Nurse Practitioner"),
        ("Heather Klein", "RN", "Nursing"),
        ("Lukas Becker", "CMA", "Medical Assistant"),
    ),
    "yokosuka-fm": _team(
        ("Andrew Mitchell", "DO", "Family Medicine"),
        ("Emily Sato", "MD", "Family Medicine"),
        ("Rachel Nguyen", "NP", "Family Nurse Practitioner"),
        ("Kimberly Ross", "RN", "Nursing"),
        ("Yuki Tanaka", "CMA", "Medical Assistant"),
    ),
    "humphreys-fm": _team(
        ("Steven Cho", "MD", "Family Medicine"),
        ("Maria Gonzalez", "PA-C", "Family Medicine"),
        ("Sun-hee Yoon", "RN", "Nursing"),
        ("Derek Wilson", "CMA", "Medical Assistant"),
    ),
    "naples-pc": _team(
        ("Patrick Murphy", "MD", "Family Medicine"),
        ("Alicia Bennett", "NP", "Family Nurse Practitioner"),
        ("Francesca Russo", "RN", "Nursing"),
        ("James Cole", "CMA", "Medical Assistant"),
    ),
}


@dataclass(frozen=True)
class PharmacySpec:
    code: str
    name: str
    military: bool
    clinic: str | None
    phone: str
    time_zone: str


PHARMACIES: tuple[PharmacySpec, ...] = (
    PharmacySpec(
        "darnall-main", "Darnall Main Outpatient Pharmacy", True, "darnall-fm", "254-555-0120",
        "America/Chicago",
    ),
    PharmacySpec(
        "cavazos-px", "Clear Creek PX Refill Pharmacy", True, None, "254-555-0121",
        "America/Chicago",
    ),
    PharmacySpec(
        "nmcsd-main", "NMCSD Outpatient Pharmacy", True, "nmcsd-fm", "619-555-0122",
        "America/Los_Angeles",
    ),
    PharmacySpec(
        "walter-reed-main", "Walter Reed Outpatient Pharmacy", True, "walter-reed-im",
        "301-555-0123", "America/New_York",
    ),
    PharmacySpec(
        "landstuhl-main", "LRMC Outpatient Pharmacy", True, "landstuhl-pc", "+49 6371 555-0124",
        "Europe/Berlin",
    ),
    PharmacySpec(
        "yokosuka-main", "USNH Yokosuka Pharmacy", True, "yokosuka-fm", "+81 46-555-0125",
        "Asia/Tokyo",
    ),
    PharmacySpec(
        "humphreys-main", "BDAACH Outpatient Pharmacy", True, "humphreys-fm", "+82 31-555-0126",
        "Asia/Seoul",
    ),
    PharmacySpec(
        "naples-main", "USNH Naples Pharmacy", True, "naples-pc", "+39 081 555 0127",
        "Europe/Rome",
    ),
    PharmacySpec(
        "walgreens-killeen", "Walgreens #04521, Killeen TX (TRICARE network)", False, None,
        "254-555-0128", "America/Chicago",
    ),
    PharmacySpec(
        "cvs-san-diego", "CVS Pharmacy #09120, San Diego CA (TRICARE network)", False, None,
        "619-555-0129", "America/Los_Angeles",
    ),
    PharmacySpec(
        "tricare-home-delivery", "TRICARE Pharmacy Home Delivery", False, None, "877-555-0130",
        "America/Chicago",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Household:
    street: str
    city: str
    state: str
    postal_code: str
    country: str  # where they live; overseas families keep their APO/FPO mailing address


HOUSEHOLDS: dict[str, Household] = {
    "rivera": Household("1412 Bluebonnet Dr", "Killeen", "TX", "76549", "US"),
    "okafor": Household("PSC 473 Box 2187", "FPO", "AP", "96349", "JP"),
    "sullivan": Household("Unit 3260 Box 1142", "APO", "AE", "09094", "DE"),
    "torres": Household("2750 Harbor View Dr Apt 12", "San Diego", "CA", "92106", "US"),
    "brooks": Household("Unit 15250 Box 3321", "APO", "AP", "96271", "KR"),
    "johnson": Household("4400 Cedar Ln Apt 5B", "Bethesda", "MD", "20814", "US"),
    "price": Household("PSC 817 Box 95", "FPO", "AE", "09622", "IT"),
    "hayes": Household("208 Pecan Hollow Ln", "Harker Heights", "TX", "76548", "US"),
}


# ---------------------------------------------------------------------------------------------
# The demo people


@dataclass(frozen=True)
class DemoIdentity:
    """One seeded person, and what to try as them.

    Ages rather than birth dates are fixed, so the children are 8, 14 and 19 on any seed date;
    `days_since_birthday` keeps them that age for months after seeding.
    """

    key: str
    first_name: str
    last_name: str
    sex: str
    age: int
    days_since_birthday: int
    role: str
    phone: str | None
    dod_id: str
    account: str
    home_clinic: str
    household: str
    pcm: str
    pharmacy: str
    relationship: str = "self"
    sponsor: str | None = None
    sms_health_consent: bool = False
    try_this: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def dod_last4(self) -> str:
        return self.dod_id[-4:]

    def date_of_birth(self, today: date) -> date:
        return _years_before(today, self.age) - timedelta(days=self.days_since_birthday)


DEMO_IDENTITIES: tuple[DemoIdentity, ...] = (
    # The Riveras: Army, Fort Cavazos, Texas.
    DemoIdentity(
        "rivera-sponsor", "Marcus", "Rivera", "M", 42, 75,
        "Army sponsor (active duty), Fort Cavazos TX", "+12545550101", "9999014821", "premium",
        "darnall-fm", "rivera", "Sarah Kim", "darnall-main", sms_health_consent=True,
        try_this=(
            "Shares this phone with his daughter Sofia, so verification asks for a birth date. "
            "Refill lisinopril (due now); atorvastatin is too soon; oxycodone is expired and "
            "controlled (no online renewal). CMP is final but not yet reviewed; the CBC is "
            "still preliminary (hidden). Outside ER records from Baylor Scott & White. A "
            "follow-up is booked. Isabella (19) gave him no proxy: her results are refused."
        ),
    ),
    DemoIdentity(
        "rivera-spouse", "Elena", "Rivera", "F", 40, 200, "Spouse (Army family)",
        "+12545550102", "9999027365", "premium", "darnall-fm", "rivera", "Sarah Kim",
        "darnall-main", relationship="spouse", sponsor="rivera-sponsor",
        sms_health_consent=True,
        try_this=(
            "Guardian of Sofia (8: full access) and Mateo (14: appointments and prescriptions, "
            "but not his results or messages); Isabella (19) granted her proxy access. Her "
            "levothyroxine refill is ready for pickup; sertraline has no refills left (renewal "
            "possible). TSH is final and not yet reviewed. A wellness exam is booked."
        ),
    ),
    DemoIdentity(
        "rivera-child", "Sofia", "Rivera", "F", 8, 45, "Child, 8 (no phone of her own)",
        "+12545550101", "9999031907", "premium", "darnall-peds", "rivera", "Priya Patel",
        "darnall-main", relationship="child", sponsor="rivera-sponsor",
        try_this=(
            "Act for her as Marcus or Elena: montelukast refill (due now), amoxicillin course "
            "finished (inactive), a well-child visit is booked, MMR and DTaP on record."
        ),
    ),
    DemoIdentity(
        "rivera-teen", "Mateo", "Rivera", "M", 14, 120, "Teen, 14", "+12545550103",
        "9999045512", "premium", "darnall-peds", "rivera", "Priya Patel", "darnall-main",
        relationship="child", sponsor="rivera-sponsor",
        try_this=(
            "Methylphenidate ER is controlled with no refills (needs a visit). His albuterol "
            "refill is being filled. He sees his own CBC and notes; his parents can't. He has "
            "an unanswered message to the nurses. HPV and Tdap on record."
        ),
    ),
    DemoIdentity(
        "rivera-adult-child", "Isabella", "Rivera", "F", 19, 90,
        "Adult child, 19 (granted her mother proxy access)", "+12545550104", "9999052278",
        "premium", "darnall-fm", "rivera", "Laura Chen", "darnall-main",
        relationship="child", sponsor="rivera-sponsor", sms_health_consent=True,
        try_this=(
            "Tretinoin expired (renewal possible); a cancelled refill is in its history. Her "
            "proxy grant to Elena expires in about a year; Marcus has no access."
        ),
    ),
    # The Okafors: Navy, Yokosuka, Japan.
    DemoIdentity(
        "okafor-sponsor", "Daniel", "Okafor", "M", 44, 160,
        "Navy sponsor (active duty), Yokosuka, Japan", "+17575550111", "9999063340", "premium",
        "yokosuka-fm", "okafor", "Andrew Mitchell", "yokosuka-main", sms_health_consent=True,
        try_this=(
            "Times are in Japan time. His metformin refill was just requested; A1c is high and "
            "reviewed. A follow-up is booked; the PHA is request-only at Yokosuka and a request "
            "is pending. Shares this phone with his daughter Amara."
        ),
    ),
    DemoIdentity(
        "okafor-spouse", "Grace", "Okafor", "F", 41, 33, "Spouse (Navy family, Japan)",
        "+17575550112", "9999076614", "premium", "yokosuka-fm", "okafor", "Andrew Mitchell",
        "yokosuka-main", relationship="spouse", sponsor="okafor-sponsor",
        try_this="Guardian of Amara (8) and Tobi (14); no access to Chidi (19).",
    ),
    DemoIdentity(
        "okafor-child", "Amara", "Okafor", "F", 8, 210, "Child, 8 (no phone of her own)",
        "+17575550111", "9999081123", "premium", "yokosuka-fm", "okafor", "Emily Sato",
        "yokosuka-main", relationship="child", sponsor="okafor-sponsor",
        try_this="Book her a well-child visit in Japan time; MMR on record.",
    ),
    DemoIdentity(
        "okafor-teen", "Tobi", "Okafor", "M", 14, 58, "Teen, 14", "+17575550113", "9999094486",
        "premium", "yokosuka-fm", "okafor", "Emily Sato", "yokosuka-main",
        relationship="child", sponsor="okafor-sponsor",
        try_this="Fluticasone nasal spray refill (due now); HPV dose 1 on record.",
    ),
    DemoIdentity(
        "okafor-adult-child", "Chidi", "Okafor", "M", 19, 140, "Adult child, 19",
        "+17575550114", "9999108857", "premium", "yokosuka-fm", "okafor", "Rachel Nguyen",
        "yokosuka-main", relationship="child", sponsor="okafor-sponsor",
        try_this="An adult with no proxy grants: his parents are refused.",
    ),
    # The Sullivans: Air Force, Ramstein Air Base, Germany.
    DemoIdentity(
        "sullivan-sponsor", "Kevin", "Sullivan", "M", 43, 101,
        "Air Force sponsor (active duty), Ramstein AB, Germany", "+19375550121", "9999112290",
        "premium", "landstuhl-pc", "sullivan", "Katharine Miller", "landstuhl-main",
        sms_health_consent=True,
        try_this=(
            "Times are in German time. Skin biopsy (pathology) is final and not yet reviewed; "
            "an ankle X-ray is preliminary (hidden). Omeprazole refill is due now; a past "
            "refill was picked up. Shares this phone with his daughter Emma."
        ),
    ),
    DemoIdentity(
        "sullivan-spouse", "Megan", "Sullivan", "F", 41, 64,
        "Spouse (Air Force family, Germany)", "+19375550122", "9999125563", "premium",
        "landstuhl-pc", "sullivan", "Katharine Miller", "landstuhl-main",
        relationship="spouse", sponsor="sullivan-sponsor",
        try_this=(
            "Escitalopram has no refills and a renewal is already pending. A women's health "
            "visit is booked at Landstuhl."
        ),
    ),
    DemoIdentity(
        "sullivan-child", "Emma", "Sullivan", "F", 8, 150, "Child, 8 (no phone of her own)",
        "+19375550121", "9999130036", "premium", "landstuhl-pc", "sullivan", "Nicole Adams",
        "landstuhl-main", relationship="child", sponsor="sullivan-sponsor",
        try_this="Cetirizine refill (due now); immunizations from a previous duty station.",
    ),
    DemoIdentity(
        "sullivan-teen", "Liam", "Sullivan", "M", 14, 37, "Teen, 14", "+19375550123",
        "9999143309", "premium", "landstuhl-pc", "sullivan", "Nicole Adams", "landstuhl-main",
        relationship="child", sponsor="sullivan-sponsor",
        try_this="A sports physical was booked and then cancelled; Tdap on record.",
    ),
    DemoIdentity(
        "sullivan-adult-child", "Olivia", "Sullivan", "F", 19, 233, "Adult child, 19",
        "+19375550124", "9999156672", "premium", "landstuhl-pc", "sullivan", "Brian Foster",
        "landstuhl-main", relationship="child", sponsor="sullivan-sponsor",
        try_this="An adult with no proxy grants; MenACWY booster on record.",
    ),
    # Single service members, and a retiree.
    DemoIdentity(
        "torres", "Jasmine", "Torres", "F", 24, 180, "Navy sailor (active duty), San Diego",
        "+16195550131", "9999161145", "premium", "nmcsd-fm", "torres", "Jennifer Alvarez",
        "cvs-san-diego", sms_health_consent=True,
        try_this=(
            "A telehealth video visit is booked. Her refill goes to a retail network pharmacy "
            "(CVS). Women's health is request-only at NMCSD."
        ),
    ),
    DemoIdentity(
        "brooks", "Tyler", "Brooks", "M", 27, 20,
        "Army soldier (active duty), Camp Humphreys, Korea", "+12535550141", "9999174418",
        "premium", "humphreys-fm", "brooks", "Steven Cho", "humphreys-main",
        try_this=(
            "Times are in Korea time. Book a PHA (questionnaire attached). Naproxen refill is "
            "due now. No SMS consent, so texts to him stay free of health details."
        ),
    ),
    DemoIdentity(
        "johnson", "Aaliyah", "Johnson", "F", 31, 95, "Marine (active duty), Walter Reed",
        "+13015550151", "9999187781", "premium", "walter-reed-im", "johnson", "Anil Mehta",
        "walter-reed-main", sms_health_consent=True,
        try_this=(
            "Behavioral health intake is request-only: her request is pending with the Walter "
            "Reed Behavioral Health Clinic. CBC shows low hemoglobin (reviewed); ferrous sulfate "
            "is too soon to refill."
        ),
    ),
    DemoIdentity(
        "price", "Danielle", "Price", "F", 35, 300, "Navy officer (active duty), Naples, Italy",
        "+18505550161", "9999190054", "premium", "naples-pc", "price", "Patrick Murphy",
        "naples-main",
        try_this="Times are in Italy time. Metoprolol refill is due now; telehealth is "
        "request-only in Naples.",
    ),
    DemoIdentity(
        "hayes", "Robert", "Hayes", "M", 68, 130, "Army retiree, BASIC (Level 1) account",
        "+12545550171", "9999203327", "basic", "darnall-fm", "hayes", "Michael Brennan",
        "tricare-home-delivery",
        try_this=(
            "Anything about his health is refused with the premium-upgrade message; general "
            "questions (clinic hours, phone numbers) still work."
        ),
    ),
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Medical histories. Times are "days ago" (and a UTC hour) so every record is in the past on
# whatever day the seed runs; the builders below turn them into dates.


# The statuses a refill passes through to reach each status.
REFILL_PATHS: dict[str, tuple[str, ...]] = {
    "requested": ("requested",),
    "in_progress": ("requested", "in_progress"),
    "ready": ("requested", "in_progress", "ready"),
    "picked_up": ("requested", "in_progress", "ready", "picked_up"),
    "cancelled": ("requested", "cancelled"),
}


@dataclass(frozen=True)
class RefillSpec:
    status: str
    by: str
    channel: str
    steps: tuple[tuple[int, int, int], ...]  # (days ago, hour, minute) per status on the path


@dataclass(frozen=True)
class RxSpec:
    """A prescription; `expires_in` and `filled_ago` are days from the seed date."""

    patient: str
    medication: str
    strength: str
    instructions: str
    days_supply: int
    refills: int
    expires_in: int
    filled_ago: int | None
    prescriber: str | None = None  # None: the patient's PCM
    controlled: bool = False
    active: bool = True
    refill: RefillSpec | None = None
    renewal_note: str | None = None  # a pending renewal request with this note


ONCE_DAILY = "Take 1 tablet by mouth once daily."

# Every refill situation: due now, too soon, none left, expired, controlled, stopped; and a
# refill in every status. Refill history follows the pharmacy rules: a request spends a refill
# when made (a cancellation gives it back) and the fill date is the day the refill was ready.
PRESCRIPTIONS: tuple[RxSpec, ...] = (
    RxSpec("rivera-sponsor", "lisinopril", "10 mg tablet", ONCE_DAILY, 90, 3, 250, 80),
    RxSpec("rivera-sponsor", "atorvastatin", "20 mg tablet",
           "Take 1 tablet by mouth once daily at bedtime.", 90, 2, 220, 6,
           refill=RefillSpec("picked_up", "rivera-sponsor", "sms",
                             ((8, 14, 0), (8, 19, 0), (6, 16, 0), (5, 22, 0)))),
    RxSpec("rivera-sponsor", "oxycodone", "5 mg tablet",
           "Take 1 tablet by mouth every 6 hours as needed for severe pain after knee surgery. "
           "Do not take more than 4 tablets in 24 hours.", 5, 0, -130, 160,
           prescriber="Michael Brennan", controlled=True),
    RxSpec("rivera-sponsor", "meloxicam", "15 mg tablet",
           "Take 1 tablet by mouth once daily with food.", 30, 1, 90, 150, active=False),
    RxSpec("rivera-spouse", "levothyroxine", "75 mcg tablet",
           "Take 1 tablet by mouth every morning on an empty stomach, 30 to 60 minutes before "
           "breakfast.", 90, 2, 200, 1,
           refill=RefillSpec("ready", "rivera-spouse", "sms",
                             ((3, 13, 5), (2, 15, 0), (1, 17, 30)))),
    RxSpec("rivera-spouse", "sertraline", "50 mg tablet", ONCE_DAILY, 30, 0, 150, 26),
    RxSpec("rivera-child", "montelukast", "5 mg chewable tablet",
           "Chew 1 tablet by mouth once daily in the evening.", 30, 4, 300, 27),
    RxSpec("rivera-child", "amoxicillin", "400 mg/5 mL oral suspension",
           "Give 6 mL by mouth twice daily for 10 days.", 10, 0, -50, 60,
           prescriber="Thomas Greene", active=False),
    RxSpec("rivera-teen", "methylphenidate ER", "36 mg extended-release tablet",
           "Take 1 tablet by mouth every morning. Swallow whole; do not crush or chew.",
           30, 0, 62, 20, controlled=True),
    RxSpec("rivera-teen", "albuterol HFA inhaler", "90 mcg per actuation",
           "Inhale 2 puffs by mouth every 4 to 6 hours as needed for wheezing or shortness of "
           "breath. Use with a spacer.", 30, 3, 280, 40,
           refill=RefillSpec("in_progress", "rivera-spouse", "sms", ((1, 13, 40), (1, 18, 15)))),
    RxSpec("rivera-adult-child", "tretinoin", "0.025% cream, 45 g tube",
           "Apply a pea-sized amount to the face once daily at bedtime.", 45, 2, -12, 70,
           refill=RefillSpec("cancelled", "rivera-adult-child", "web",
                             ((20, 2, 10), (20, 2, 25)))),
    RxSpec("okafor-sponsor", "metformin", "500 mg tablet",
           "Take 1 tablet by mouth twice daily with meals.", 90, 2, 240, 75,
           refill=RefillSpec("requested", "okafor-sponsor", "sms", ((1, 23, 10),))),
    RxSpec("okafor-teen", "fluticasone nasal spray", "50 mcg per spray",
           "Use 1 spray in each nostril once daily.", 30, 2, 180, 29),
    RxSpec("sullivan-sponsor", "omeprazole", "20 mg delayed-release capsule",
           "Take 1 capsule by mouth once daily, 30 minutes before breakfast.", 90, 2, 200, 85,
           refill=RefillSpec("picked_up", "sullivan-sponsor", "web",
                             ((88, 8, 0), (88, 10, 0), (85, 9, 0), (84, 15, 0)))),
    RxSpec("sullivan-spouse", "escitalopram", "10 mg tablet", ONCE_DAILY, 30, 0, 100, 24,
           renewal_note="Still working well; no side effects."),
    RxSpec("sullivan-child", "cetirizine", "5 mg/5 mL oral solution",
           "Give 5 mL by mouth once daily.", 30, 5, 240, 28),
    RxSpec("torres", "norgestimate and ethinyl estradiol", "0.25 mg/35 mcg tablet",
           ONCE_DAILY, 84, 3, 200, 70),
    RxSpec("brooks", "naproxen", "500 mg tablet",
           "Take 1 tablet by mouth twice daily with food as needed for pain.", 30, 1, 150, 40),
    RxSpec("johnson", "ferrous sulfate", "325 mg tablet",
           "Take 1 tablet by mouth once daily with orange juice.", 90, 3, 330, 12),
    RxSpec("price", "metoprolol succinate ER", "25 mg extended-release tablet", ONCE_DAILY,
           90, 1, 120, 82),
    RxSpec("hayes", "tamsulosin", "0.4 mg capsule",
           "Take 1 capsule by mouth once daily, 30 minutes after the same meal each day.",
           90, 2, 210, 60),
)  # fmt: skip


@dataclass(frozen=True)
class Lab:
    test: str
    value: str
    unit: str | None
    low: float | None
    high: float | None
    flag: str = "normal"
    reference_text: str | None = None


@dataclass(frozen=True)
class PanelSpec:
    """Labs drawn together: resulted the next day if final, reviewed the day after if so."""

    patient: str
    panel: str | None
    collected_ago: int
    tests: tuple[Lab, ...]
    status: str = "final"
    reviewed: bool = True
    source_org: str | None = None


CBC = "Complete blood count (CBC)"

LAB_PANELS: tuple[PanelSpec, ...] = (
    PanelSpec("rivera-sponsor", "Lipid panel", 21, (
        Lab("Total cholesterol", "212", "mg/dL", None, 199, "high", "<200 mg/dL"),
        Lab("LDL cholesterol (calculated)", "138", "mg/dL", None, 99, "high", "<100 mg/dL"),
        Lab("HDL cholesterol", "44", "mg/dL", 40, None, "normal", ">40 mg/dL"),
        Lab("Triglycerides", "148", "mg/dL", None, 149, "normal", "<150 mg/dL"),
    )),
    PanelSpec("rivera-sponsor", "Comprehensive metabolic panel (CMP)", 3, (
        Lab("Sodium", "139", "mmol/L", 136, 145),
        Lab("Potassium", "4.3", "mmol/L", 3.5, 5.1),
        Lab("Chloride", "102", "mmol/L", 98, 107),
        Lab("Carbon dioxide (CO2)", "25", "mmol/L", 22, 29),
        Lab("Blood urea nitrogen (BUN)", "15", "mg/dL", 7, 20),
        Lab("Creatinine", "1.02", "mg/dL", 0.70, 1.30),
        Lab("Glucose", "106", "mg/dL", 70, 99, "high"),
        Lab("Calcium", "9.5", "mg/dL", 8.6, 10.3),
        Lab("Albumin", "4.4", "g/dL", 3.5, 5.0),
        Lab("Alanine aminotransferase (ALT)", "28", "U/L", 7, 56),
        Lab("Aspartate aminotransferase (AST)", "24", "U/L", 10, 40),
    ), reviewed=False),
    PanelSpec("rivera-sponsor", CBC, 1, (
        Lab("White blood cell count", "7.2", "10^3/uL", 4.0, 11.0),
        Lab("Hemoglobin", "15.1", "g/dL", 13.5, 17.5),
        Lab("Hematocrit", "44.8", "%", 41.0, 53.0),
        Lab("Platelet count", "248", "10^3/uL", 150, 400),
    ), status="preliminary", reviewed=False),
    PanelSpec("rivera-sponsor", None, 95, (
        Lab("Troponin I, high sensitivity", "<3", "ng/L", None, 34, "normal", "0-34 ng/L"),
    ), reviewed=False, source_org=HIE_PARTNER),
    PanelSpec("rivera-spouse", "Thyroid", 200, (
        Lab("Thyroid stimulating hormone (TSH)", "3.1", "mIU/L", 0.45, 4.5),
    )),
    PanelSpec("rivera-spouse", "Thyroid", 2, (
        Lab("Thyroid stimulating hormone (TSH)", "5.8", "mIU/L", 0.45, 4.5, "high"),
        Lab("Free T4", "1.0", "ng/dL", 0.8, 1.8),
    ), reviewed=False),
    PanelSpec("rivera-child", None, 61, (
        Lab("Strep A rapid antigen", "Positive", None, None, None, "abnormal", "Negative"),
    )),
    PanelSpec("rivera-teen", CBC, 40, (
        Lab("White blood cell count", "6.4", "10^3/uL", 4.5, 13.0),
        Lab("Hemoglobin", "14.2", "g/dL", 12.5, 16.1),
        Lab("Platelet count", "281", "10^3/uL", 150, 400),
    )),
    PanelSpec("rivera-adult-child", None, 33, (
        Lab("Mononucleosis screen (Monospot)", "Negative", None, None, None, "normal",
            "Negative"),
    )),
    PanelSpec("okafor-sponsor", "Diabetes monitoring", 11, (
        Lab("Hemoglobin A1c", "7.4", "%", 4.0, 5.6, "high"),
        Lab("Glucose, fasting", "142", "mg/dL", 70, 99, "high"),
        Lab("Microalbumin/creatinine ratio, urine", "18", "mg/g", None, 29, "normal",
            "<30 mg/g"),
    )),
    PanelSpec("sullivan-sponsor", None, 4, (
        Lab("Vitamin D, 25-hydroxy", "22", "ng/mL", 30, 100, "low"),
    ), reviewed=False),
    PanelSpec("johnson", CBC, 15, (
        Lab("White blood cell count", "5.9", "10^3/uL", 4.0, 11.0),
        Lab("Hemoglobin", "11.2", "g/dL", 12.0, 15.5, "low"),
        Lab("Hematocrit", "34.1", "%", 36.0, 46.0, "low"),
        Lab("Mean corpuscular volume (MCV)", "76", "fL", 80, 100, "low"),
        Lab("Platelet count", "265", "10^3/uL", 150, 400),
    )),
    PanelSpec("johnson", None, 15, (Lab("Ferritin", "8", "ng/mL", 15, 150, "low"),)),
    PanelSpec("hayes", "Basic metabolic panel (BMP)", 9, (
        Lab("Potassium", "6.3", "mmol/L", 3.5, 5.1, "critical_high"),
        Lab("Creatinine", "1.6", "mg/dL", 0.70, 1.30, "high"),
        Lab("Sodium", "137", "mmol/L", 136, 145),
    )),
    PanelSpec("hayes", None, 9, (
        Lab("Prostate-specific antigen (PSA)", "2.1", "ng/mL", None, 4.0, "normal", "<4.0 ng/mL"),
    )),
)  # fmt: skip


@dataclass(frozen=True)
class ReportSpec:
    patient: str
    kind: str
    title: str
    summary: str
    body: str
    performed_ago: int
    status: str = "final"
    reviewed: bool = True
    author: str | None = None  # a clinician on staff; readers outside the clinic are named in
    source_org: str | None = None  # the body instead


REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec(
        "rivera-sponsor", "radiology", "MRI knee, right, without contrast",
        "Tear of the medial meniscus (posterior horn). No fracture.",
        "TECHNIQUE: Multiplanar multisequence MRI of the right knee without contrast.\n"
        "FINDINGS: Complex tear of the posterior horn of the medial meniscus extending to the "
        "inferior articular surface. Cruciate and collateral ligaments intact. Small joint "
        "effusion. No fracture or bone contusion.\n"
        "IMPRESSION: Complex tear of the posterior horn of the medial meniscus.\n"
        "Interpreted by the Darnall Department of Radiology.",
        175,
    ),
    ReportSpec(
        "rivera-sponsor", "radiology", "X-ray chest, 2 views",
        "No acute heart or lung problem seen.",
        "INDICATION: Chest pain.\nFINDINGS: Heart size normal. Lungs clear. No pleural effusion "
        "or pneumothorax.\nIMPRESSION: No acute cardiopulmonary process.",
        95, reviewed=False, source_org=HIE_PARTNER,
    ),
    ReportSpec(
        "rivera-sponsor", "clinical_note", "Emergency department visit summary",
        "Seen for chest pain; heart tests normal; sent home to follow up with the PCM.",
        "CHIEF COMPLAINT: Chest tightness after yard work.\nCOURSE: ECG normal sinus rhythm. "
        "High-sensitivity troponin <3 ng/L. Chest X-ray without acute findings. Symptoms "
        "resolved.\nDISPOSITION: Discharged home. Follow up with primary care within 1 week.",
        95, reviewed=False, source_org=HIE_PARTNER,
    ),
    ReportSpec(
        "rivera-sponsor", "clinical_note", "Family Medicine follow-up",
        "Blood pressure improving on lisinopril; cholesterol above goal; recheck in 4 weeks.",
        "SUBJECTIVE: Home readings 130s/80s. No chest pain since the ED visit.\nASSESSMENT: "
        "Essential hypertension, improving. Hyperlipidemia, LDL 138.\nPLAN: Continue "
        "lisinopril 10 mg daily. Continue atorvastatin 20 mg; diet and exercise counseling. "
        "CMP before the next visit. Follow up in 4 weeks.",
        20, author="Sarah Kim",
    ),
    ReportSpec(
        "rivera-spouse", "radiology", "Mammogram, screening, bilateral",
        "Normal screening mammogram (BI-RADS 1).",
        "FINDINGS: Scattered fibroglandular densities. No suspicious mass, calcifications or "
        "architectural distortion.\nIMPRESSION: BI-RADS 1, negative. Routine screening.",
        150,
    ),
    ReportSpec(
        "rivera-child", "clinical_note", "Pediatrics sick visit: sore throat",
        "Strep throat; amoxicillin for 10 days.",
        "SUBJECTIVE: Sore throat and fever for 2 days.\nOBJECTIVE: Temp 38.6 C. Tonsillar "
        "exudate. Rapid strep positive.\nPLAN: Amoxicillin for 10 days. Return if not better "
        "in 48 hours.",
        61, author="Thomas Greene",
    ),
    ReportSpec(
        "rivera-teen", "clinical_note", "ADHD medication follow-up",
        "Doing well on methylphenidate ER 36 mg; continue.",
        "SUBJECTIVE: Grades improving. Appetite slightly lower at lunch.\nOBJECTIVE: Weight "
        "stable, blood pressure normal.\nPLAN: Continue methylphenidate ER 36 mg each morning. "
        "Recheck in 3 months.",
        28, author="Priya Patel",
    ),
    ReportSpec(
        "okafor-sponsor", "clinical_note", "Diabetes follow-up",
        "A1c 7.4%; continue metformin; nutrition referral.",
        "ASSESSMENT: Type 2 diabetes, A1c 7.4% (goal below 7%).\nPLAN: Continue metformin "
        "500 mg twice daily. Referral to nutrition. Repeat A1c in 3 months.",
        10, author="Andrew Mitchell",
    ),
    ReportSpec(
        "sullivan-sponsor", "pathology", "Skin biopsy, left upper back (shave)",
        "Benign mole with mild atypia; edges clear.",
        "SPECIMEN: Skin, left upper back, shave biopsy.\nDIAGNOSIS: Compound melanocytic nevus "
        "with mild cytologic atypia. Peripheral and deep margins free.\nCOMMENT: No further "
        "treatment usually needed; routine skin checks.",
        6, reviewed=False,
    ),
    ReportSpec(
        "sullivan-sponsor", "radiology", "X-ray ankle, left, 3 views",
        "Preliminary reading.", "Preliminary: awaiting final interpretation by radiology.",
        1, status="preliminary", reviewed=False,
    ),
    ReportSpec(
        "johnson", "clinical_note", "Internal Medicine visit: fatigue",
        "Iron-deficiency anemia; start iron; recheck CBC in 8 weeks.",
        "SUBJECTIVE: Three months of fatigue.\nASSESSMENT: Iron-deficiency anemia (Hgb 11.2, "
        "ferritin 8).\nPLAN: Ferrous sulfate 325 mg daily. Recheck CBC and ferritin in 8 "
        "weeks.",
        12, author="Anil Mehta",
    ),
    ReportSpec(
        "hayes", "clinical_note", "Telephone note: critical potassium",
        "High potassium; patient called; repeat test arranged.",
        "Critical potassium 6.3 mmol/L called by the lab. Patient reached by phone, "
        "asymptomatic. Advised to hold potassium supplements; repeat BMP tomorrow.",
        8, author="Michael Brennan",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class ShotSpec:
    """One vaccine dose, given this flu season, at an age, or some days ago."""

    patient: str
    vaccine: str
    dose: str | None
    location: str
    flu_season: bool = False
    at_age: tuple[int, int] | None = None  # (years, months)
    days_ago: int | None = None
    source_org: str | None = None


FLU = "Influenza vaccine, injectable (seasonal)"
COVID = "COVID-19 vaccine, mRNA (updated formula)"
MENACWY = "Meningococcal conjugate (MenACWY)"
HPV = "HPV (9-valent)"
DARNALL_SHOTS = "Carl R. Darnall AMC Immunization Clinic"
MADIGAN = "Madigan Army Medical Center"
PORTSMOUTH = "Naval Medical Center Portsmouth"
WRIGHT_PATT = "Wright-Patterson Medical Center"
YOKOSUKA_SHOTS = "USNH Yokosuka Immunizations"
LANDSTUHL_SHOTS = "LRMC Immunization Clinic"

IMMUNIZATIONS: tuple[ShotSpec, ...] = (
    ShotSpec("rivera-sponsor", FLU, "0.5 mL", DARNALL_SHOTS, flu_season=True),
    ShotSpec("rivera-sponsor", COVID, "0.5 mL", DARNALL_SHOTS, flu_season=True),
    ShotSpec("rivera-sponsor", "Tdap", "0.5 mL", MADIGAN, days_ago=6 * 365),
    ShotSpec("rivera-spouse", FLU, "0.5 mL", "Baylor Scott & White Clinic – Killeen",
             flu_season=True, source_org=HIE_PARTNER),
    ShotSpec("rivera-child", FLU, "0.5 mL", DARNALL_SHOTS, flu_season=True),
    ShotSpec("rivera-child", "MMR", "Dose 1 of 2", MADIGAN, at_age=(1, 1)),
    ShotSpec("rivera-child", "Varicella", "Dose 1 of 2", MADIGAN, at_age=(1, 1)),
    ShotSpec("rivera-child", "MMR", "Dose 2 of 2", DARNALL_SHOTS, at_age=(4, 3)),
    ShotSpec("rivera-child", "DTaP", "Dose 5 of 5", DARNALL_SHOTS, at_age=(4, 3)),
    ShotSpec("rivera-teen", FLU, "0.5 mL", DARNALL_SHOTS, flu_season=True),
    ShotSpec("rivera-teen", "Tdap", "0.5 mL", DARNALL_SHOTS, at_age=(11, 2)),
    ShotSpec("rivera-teen", HPV, "Dose 1 of 2", DARNALL_SHOTS, at_age=(11, 2)),
    ShotSpec("rivera-teen", HPV, "Dose 2 of 2", DARNALL_SHOTS, at_age=(11, 9)),
    ShotSpec("rivera-teen", MENACWY, "Dose 1 of 2", DARNALL_SHOTS, at_age=(11, 2)),
    ShotSpec("rivera-adult-child", FLU, "0.5 mL", DARNALL_SHOTS, flu_season=True),
    ShotSpec("rivera-adult-child", MENACWY, "Dose 2 of 2", DARNALL_SHOTS, at_age=(16, 1)),
    ShotSpec("okafor-sponsor", FLU, "0.5 mL", YOKOSUKA_SHOTS, flu_season=True),
    ShotSpec("okafor-sponsor", "Japanese encephalitis (inactivated)", "Dose 2 of 2",
             YOKOSUKA_SHOTS, days_ago=400),
    ShotSpec("okafor-child", "MMR", "Dose 2 of 2", PORTSMOUTH, at_age=(4, 6)),
    ShotSpec("okafor-teen", HPV, "Dose 1 of 2", YOKOSUKA_SHOTS, at_age=(12, 0)),
    ShotSpec("okafor-adult-child", MENACWY, "Dose 2 of 2", PORTSMOUTH, at_age=(16, 4)),
    ShotSpec("sullivan-sponsor", FLU, "0.5 mL", LANDSTUHL_SHOTS, flu_season=True),
    ShotSpec("sullivan-sponsor", "Tick-borne encephalitis (TBE)", "Dose 3 of 3",
             LANDSTUHL_SHOTS, days_ago=300),
    ShotSpec("sullivan-child", "MMR", "Dose 2 of 2", WRIGHT_PATT, at_age=(4, 1)),
    ShotSpec("sullivan-teen", "Tdap", "0.5 mL", WRIGHT_PATT, at_age=(11, 5)),
    ShotSpec("sullivan-adult-child", MENACWY, "Dose 2 of 2", LANDSTUHL_SHOTS, at_age=(16, 2)),
    ShotSpec("torres", FLU, "0.5 mL", "NMCSD Immunizations", flu_season=True),
    ShotSpec("brooks", "Hepatitis A", "Dose 2 of 2", "BDAACH Immunizations", days_ago=500),
    ShotSpec("johnson", COVID, "0.5 mL", "Walter Reed Immunizations", flu_season=True),
    ShotSpec("price", FLU, "0.5 mL", "USNH Naples Immunizations", flu_season=True),
    ShotSpec("hayes", "Zoster recombinant (Shingrix)", "Dose 2 of 2", DARNALL_SHOTS,
             days_ago=700),
    ShotSpec("hayes", "Pneumococcal conjugate (PCV20)", "0.5 mL", DARNALL_SHOTS, days_ago=365),
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Public API


@dataclass(frozen=True)
class SeedSummary:
    today: date
    clinics: int
    appointment_types: int
    providers: int
    pharmacies: int
    patients: int
    slots: int
    appointments: int
    appointment_requests: int
    prescriptions: int
    refill_requests: int
    lab_results: int
    reports: int
    immunizations: int
    message_threads: int


@dataclass(frozen=True)
class DemoIdentityRow:
    """A demo identity as it stands in a database (birth date as seeded, age today)."""

    name: str
    role: str
    age: int
    date_of_birth: date
    phone: str | None
    dod_last4: str
    account: str
    try_this: str
    seeded: bool


def seed(db: Database, *, today: date | None = None) -> SeedSummary:
    """Add the demo population to an empty database (one transaction; raises AlreadySeeded)."""
    day = _as_day(today)
    with db.transaction() as session:
        if _has_data(session):
            raise AlreadySeeded()
        _Population(session, day).build()
        return _summary(session, day)


def seed_if_empty(db: Database, today: date | None = None) -> bool:
    """Seed unless the database already holds clinics or patients; True if it seeded."""
    day = _as_day(today)
    with db.transaction() as session:
        if _has_data(session):
            return False
        _Population(session, day).build()
        return True


def summarize(db: Database, *, today: date | None = None) -> SeedSummary:
    """Row counts of what is in the database now (for the CLI after seeding)."""
    with db.transaction() as session:
        return _summary(session, _as_day(today))


def demo_identity_rows(db: Database | None, *, today: date | None = None) -> list[DemoIdentityRow]:
    """The demo people with the birth dates actually stored, when the database has them.

    A database seeded weeks ago keeps the birth dates of that day; reading them back keeps the
    printed table true for verification. Without a database the dates are computed for today.
    """
    day = _as_day(today)
    stored: dict[str, date] = {}
    if db is not None:
        with db.transaction() as session:
            rows = session.execute(
                select(Patient.dod_id, Patient.date_of_birth).where(
                    Patient.dod_id.in_([d.dod_id for d in DEMO_IDENTITIES])
                )
            )
            stored = {dod_id: born for dod_id, born in rows}
    result = []
    for ident in DEMO_IDENTITIES:
        born = stored.get(ident.dod_id, ident.date_of_birth(day))
        result.append(
            DemoIdentityRow(
                name=ident.full_name,
                role=ident.role,
                age=_age_on(born, day),
                date_of_birth=born,
                phone=ident.phone,
                dod_last4=ident.dod_last4,
                account=ident.account,
                try_this=ident.try_this,
                seeded=ident.dod_id in stored,
            )
        )
    return result


@dataclass(frozen=True)
class DemoAccount:
    """A seeded person the web portal's demo sign-in may sign in as."""

    key: str
    patient_id: int
    name: str
    role: str
    assurance_level: str


DEMO_SIGN_IN_MIN_AGE = 12  # the youngest to hold a portal account of their own in the demo


def demo_accounts(db: Database) -> list[DemoAccount]:
    """The demo sign-in's choices: seeded demo people old enough to sign in, in list order.

    Ids and account levels are read from the database, never assumed: the token the portal
    issues must name the stored patient at the stored level.
    """
    wanted = {d.dod_id: d for d in DEMO_IDENTITIES if d.age >= DEMO_SIGN_IN_MIN_AGE}
    with db.transaction() as session:
        rows = session.execute(
            select(Patient.dod_id, Patient.id, Patient.assurance_level).where(
                Patient.dod_id.in_(list(wanted))
            )
        ).all()
    found = {dod_id: (patient_id, level) for dod_id, patient_id, level in rows}
    return [
        DemoAccount(d.key, found[d.dod_id][0], d.full_name, d.role, found[d.dod_id][1])
        for d in DEMO_IDENTITIES
        if d.dod_id in found
    ]


# ---------------------------------------------------------------------------------------------
# Building the population


def _as_day(today: date | None) -> date:
    if today is None:
        return utcnow().date()
    return today.date() if isinstance(today, datetime) else today


def _has_data(session: Session) -> bool:
    return (
        session.scalar(select(Patient.id).limit(1)) is not None
        or session.scalar(select(Clinic.id).limit(1)) is not None
    )


def _summary(session: Session, today: date) -> SeedSummary:
    def count(model: type) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    return SeedSummary(
        today=today,
        clinics=count(Clinic),
        appointment_types=count(AppointmentType),
        providers=count(Provider),
        pharmacies=count(Pharmacy),
        patients=count(Patient),
        slots=count(Slot),
        appointments=count(Appointment),
        appointment_requests=count(AppointmentRequest),
        prescriptions=count(Prescription),
        refill_requests=count(RefillRequest),
        lab_results=count(LabResult),
        reports=count(Report),
        immunizations=count(Immunization),
        message_threads=count(MessageThread),
    )


def _years_before(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return on.replace(year=on.year - years, day=28)


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class _Population:
    """Builds the demo rows in a fixed order; every timestamp is derived from `today`."""

    def __init__(self, session: Session, today: date) -> None:
        self.session = session
        self.today = today
        self.midnight = datetime.combine(today, time(0), tzinfo=UTC)
        self.rng = random.Random(RANDOM_SEED)
        self.clinics: dict[str, Clinic] = {}
        self.types: dict[str, AppointmentType] = {}
        self.staff: dict[str, Provider] = {}
        self.pharmacies: dict[str, Pharmacy] = {}
        self.people: dict[str, Patient] = {}

    def build(self) -> None:
        self._clinics()
        self._appointment_types()
        self._booking_policies()
        self._staff()
        self._pharmacies()
        self._people()
        self._family_links()
        self._care_teams()
        self._slots()
        self._appointments()
        self._appointment_requests()
        self._prescriptions()
        self._labs()
        self._reports()
        self._immunizations()
        self._messages()
        self.session.flush()

    # -- time helpers -------------------------------------------------------------------------

    def ago(self, days: int, hour: int = 15, minute: int = 0) -> datetime:
        """A moment `days` (>= 1) before today, in UTC: always in the past whenever we seed."""
        if days < 1:
            raise ValueError("seeded history must be at least a day old")
        return self.midnight - timedelta(days=days) + timedelta(hours=hour, minutes=minute)

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    def add(self, row: object) -> None:
        self.session.add(row)

    # -- reference data -----------------------------------------------------------------------

    def _clinics(self) -> None:
        for spec in CLINICS:
            ZoneInfo(spec.time_zone)  # an unknown zone fails here, not in front of a patient
            clinic = Clinic(
                code=spec.code,
                name=spec.name,
                facility=spec.facility,
                time_zone=spec.time_zone,
                phone=spec.phone,
                country=spec.country,
                city=spec.city,
                service=spec.service,
            )
            self.add(clinic)
            self.clinics[spec.code] = clinic
        self.session.flush()

    def _appointment_types(self) -> None:
        for spec in APPOINTMENT_TYPES:
            kind = AppointmentType(
                code=spec.code,
                name=spec.name,
                duration_minutes=spec.duration_minutes,
                questionnaire=spec.questionnaire,
            )
            self.add(kind)
            self.types[spec.code] = kind
        self.session.flush()

    def _booking_policies(self) -> None:
        for spec in CLINICS:
            modes = BOOKING_POLICIES[spec.code]
            for kind in APPOINTMENT_TYPES:
                self.add(
                    BookingPolicy(
                        clinic_id=self.clinics[spec.code].id,
                        appointment_type_id=self.types[kind.code].id,
                        mode=modes.get(kind.code, "request_only"),
                        offered=kind.code in modes,
                    )
                )

    def _staff(self) -> None:
        for code, members in STAFF.items():
            for member in members:
                if member.name in self.staff:
                    raise ValueError(f"staff names must be unique: {member.name}")
                provider = Provider(
                    name=member.name,
                    credentials=member.credentials,
                    specialty=member.specialty,
                    clinic_id=self.clinics[code].id,
                )
                self.add(provider)
                self.staff[member.name] = provider
        self.session.flush()

    def _pharmacies(self) -> None:
        for spec in PHARMACIES:
            pharmacy = Pharmacy(
                code=spec.code,
                name=spec.name,
                military=spec.military,
                clinic_id=self.clinics[spec.clinic].id if spec.clinic else None,
                phone=spec.phone,
                time_zone=spec.time_zone,
            )
            self.add(pharmacy)
            self.pharmacies[spec.code] = pharmacy
        self.session.flush()

    # -- people -------------------------------------------------------------------------------

    def _people(self) -> None:
        for ident in DEMO_IDENTITIES:
            home = HOUSEHOLDS[ident.household]
            patient = Patient(
                dod_id=ident.dod_id,
                first_name=ident.first_name,
                last_name=ident.last_name,
                date_of_birth=ident.date_of_birth(self.today),
                sex=ident.sex,
                phone=ident.phone,
                email=(
                    f"{ident.first_name}.{ident.last_name}@example.com".lower()
                    if ident.age >= 13
                    else None
                ),
                street=home.street,
                city=home.city,
                state=home.state,
                postal_code=home.postal_code,
                country=home.country,
                sponsor_id=self.people[ident.sponsor].id if ident.sponsor else None,
                relationship_to_sponsor=ident.relationship,
                assurance_level=ident.account,
                pcm_id=self.staff[ident.pcm].id,
                home_clinic_id=self.clinics[ident.home_clinic].id,
                preferred_pharmacy_id=self.pharmacies[ident.pharmacy].id,
                sms_health_consent=ident.sms_health_consent,
            )
            self.add(patient)
            self.session.flush()
            self.people[ident.key] = patient

    def _family_links(self) -> None:
        """Both parents are guardians of every child; Isabella granted her mother proxy."""
        for family in ("rivera", "okafor", "sullivan"):
            for parent in ("sponsor", "spouse"):
                for child in ("child", "teen", "adult-child"):
                    self.add(
                        Guardianship(
                            guardian_id=self.people[f"{family}-{parent}"].id,
                            dependent_id=self.people[f"{family}-{child}"].id,
                        )
                    )
        granted = self.ago(30, 18, 5)
        self.add(
            ProxyGrant(
                grantor_id=self.people["rivera-adult-child"].id,
                grantee_id=self.people["rivera-spouse"].id,
                granted_at=granted,
                expires_on=_years_before(granted.date(), -1),
            )
        )

    def _care_teams(self) -> None:
        nurses = {code: _member(STAFF[code], "RN") for code in STAFF}
        assistants = {code: _member(STAFF[code], "CMA") for code in STAFF}
        for ident in DEMO_IDENTITIES:
            patient = self.people[ident.key]
            team = [(ident.pcm, "Primary Care Manager (PCM)")]
            if nurses[ident.home_clinic]:
                team.append((nurses[ident.home_clinic], "Registered Nurse"))
            if assistants[ident.home_clinic]:
                team.append((assistants[ident.home_clinic], "Medical Assistant"))
            for name, role in team:
                self.add(
                    CareTeamMember(
                        patient_id=patient.id, provider_id=self.staff[name].id, role=role
                    )
                )

    # -- schedule -----------------------------------------------------------------------------

    def _slots(self) -> None:
        """Open slots on clinic-local business days, 07:30-16:00 on the half hour, no lunch.

        Military hospitals at home and overseas close on US federal holidays, so the same
        business-day calendar applies everywhere. Slots begin only after the end of `today` in
        UTC, so every slot is still in the future whenever on that day the seed runs.
        """
        not_before = self.midnight + timedelta(days=1)
        rows: list[dict[str, object]] = []
        for spec in CLINICS:
            clinic = self.clinics[spec.code]
            zone = ZoneInfo(spec.time_zone)
            kinds = [k for k in APPOINTMENT_TYPES if BOOKING_POLICIES[spec.code].get(k.code) == D]
            clinicians = [m for m in STAFF[spec.code] if m.books_slots]
            for offset in range(1, SLOT_DAYS + 1):
                local_day = self.day(offset)
                if not is_business_day(local_day):
                    continue
                for member in clinicians:
                    if self.rng.random() < PROVIDER_AWAY_CHANCE:
                        continue
                    for starts, kind in self._day_plan(local_day, kinds):
                        starts_at = datetime.combine(local_day, starts, tzinfo=zone)
                        starts_at = starts_at.astimezone(UTC)
                        if starts_at < not_before:
                            continue
                        rows.append(
                            {
                                "clinic_id": clinic.id,
                                "provider_id": self.staff[member.name].id,
                                "appointment_type_id": self.types[kind.code].id,
                                "starts_at": starts_at,
                                "duration_minutes": kind.duration_minutes,
                            }
                        )
        self.session.execute(insert(Slot), rows)

    def _day_plan(
        self, local_day: date, kinds: Sequence[AppointmentTypeSpec]
    ) -> Iterable[tuple[time, AppointmentTypeSpec]]:
        """One clinician's open slots for a day, never overlapping and clear of lunch."""
        weights = [k.weight for k in kinds]
        cursor = datetime.combine(local_day, CLINIC_OPENS)
        closes = datetime.combine(local_day, CLINIC_CLOSES)
        lunch_starts, lunch_ends = (datetime.combine(local_day, t) for t in LUNCH)
        step = timedelta(minutes=SLOT_GRID_MINUTES)
        while cursor < closes:
            if lunch_starts <= cursor < lunch_ends:
                cursor = lunch_ends
                continue
            kind = self.rng.choices(kinds, weights)[0]
            ends = cursor + timedelta(minutes=kind.duration_minutes)
            fits = ends <= closes and not (cursor < lunch_starts < ends)
            if fits and self.rng.random() < SLOT_FILL_CHANCE:
                yield cursor.time(), kind
                while cursor < ends:
                    cursor += step
            else:
                cursor += step

    def _first_slot(self, clinic: str, kind: str, days_ahead: int) -> Slot | None:
        zone = ZoneInfo(self.clinics[clinic].time_zone)
        earliest = datetime.combine(self.day(days_ahead), time(0), tzinfo=zone)
        return self.session.scalar(
            select(Slot)
            .where(
                Slot.clinic_id == self.clinics[clinic].id,
                Slot.appointment_type_id == self.types[kind].id,
                Slot.starts_at >= earliest.astimezone(UTC),
            )
            .order_by(Slot.starts_at, Slot.id)
            .limit(1)
        )

    def _appointments(self) -> None:
        bookings = (
            # patient, clinic, type, days ahead, booked by, channel, reason, questionnaire status
            ("rivera-sponsor", "darnall-fm", "follow_up", 3, "rivera-sponsor", "web",
             "Blood pressure recheck and lab review", None),
            ("rivera-spouse", "darnall-fm", "wellness", 12, "rivera-spouse", "web",
             "Annual wellness exam", "completed"),
            ("rivera-child", "darnall-peds", "well_child", 9, "rivera-spouse", "sms",
             "8-year well-child check", "pending"),
            ("okafor-sponsor", "yokosuka-fm", "follow_up", 5, "okafor-sponsor", "voice",
             "Diabetes follow-up", None),
            ("sullivan-spouse", "landstuhl-pc", "womens_health", 7, "sullivan-spouse", "web",
             "Annual well-woman exam", None),
            ("torres", "nmcsd-fm", "telehealth", 2, "torres", "sms",
             "Follow-up on seasonal allergies", None),
        )  # fmt: skip
        for patient, clinic, kind, ahead, booker, channel, reason, questionnaire in bookings:
            slot = self._first_slot(clinic, kind, ahead)
            if slot is None:  # pragma: no cover - the slot plan always has these
                continue
            self.add(
                Appointment(
                    patient_id=self.people[patient].id,
                    slot_id=slot.id,
                    status="booked",
                    reason=reason,
                    booked_by_id=self.people[booker].id,
                    channel=channel,
                    created_at=self.ago(2, 16, 20),
                    questionnaire=self.types[kind].questionnaire,
                    questionnaire_status=questionnaire if self.types[kind].questionnaire else None,
                )
            )
        # Booked and then cancelled: the slot is open again.
        slot = self._first_slot("landstuhl-pc", "sports_physical", 4)
        if slot is not None:
            self.add(
                Appointment(
                    patient_id=self.people["sullivan-teen"].id,
                    slot_id=slot.id,
                    status="cancelled",
                    reason="Soccer season physical",
                    booked_by_id=self.people["sullivan-spouse"].id,
                    channel="web",
                    created_at=self.ago(6, 9, 10),
                    cancelled_at=self.ago(1, 7, 45),
                    questionnaire=self.types["sports_physical"].questionnaire,
                    questionnaire_status="pending",
                )
            )

    def _appointment_requests(self) -> None:
        requests = (
            ("johnson", "walter-reed-bh", "behavioral_health_intake", "afternoon",
             "Trouble sleeping and feeling on edge since returning from deployment."),
            ("okafor-sponsor", "yokosuka-fm", "pha", "morning", "Annual PHA is due next month."),
        )  # fmt: skip
        for key, clinic, kind, part_of_day, reason in requests:
            created = self.ago(1, 14, 30)
            zone = ZoneInfo(self.clinics[clinic].time_zone)
            created_local = created.astimezone(zone).date()
            contact_day = add_business_days(created_local, 2)
            windows = [
                {
                    "start": self.day(3).isoformat(),
                    "end": self.day(17).isoformat(),
                    "time_of_day": part_of_day,
                }
            ]
            self.add(
                AppointmentRequest(
                    patient_id=self.people[key].id,
                    clinic_id=self.clinics[clinic].id,
                    appointment_type_id=self.types[kind].id,
                    preferred_windows=json.dumps(windows),
                    reason=reason,
                    status="pending",
                    requested_by_id=self.people[key].id,
                    channel="sms",
                    created_at=created,
                    contact_by=datetime.combine(contact_day, CLINIC_CLOSES, tzinfo=zone).astimezone(
                        UTC
                    ),
                )
            )

    # -- medications --------------------------------------------------------------------------

    def _prescriptions(self) -> None:
        for spec in PRESCRIPTIONS:
            ident = _identity(spec.patient)
            rx = Prescription(
                patient_id=self.people[spec.patient].id,
                medication=spec.medication,
                strength=spec.strength,
                instructions=spec.instructions,
                prescriber_id=self.staff[spec.prescriber or ident.pcm].id,
                days_supply=spec.days_supply,
                refills_remaining=spec.refills,
                expires_on=self.day(spec.expires_in),
                last_filled_on=None if spec.filled_ago is None else self.day(-spec.filled_ago),
                controlled=spec.controlled,
                active=spec.active,
                pharmacy_id=self.pharmacies[ident.pharmacy].id,
            )
            self.add(rx)
            self.session.flush()
            if spec.refill:
                self._refill(rx, spec.refill)
            if spec.renewal_note:
                self.add(
                    RenewalRequest(
                        prescription_id=rx.id,
                        patient_id=rx.patient_id,
                        prescriber_id=rx.prescriber_id,
                        status="pending",
                        note=spec.renewal_note,
                        requested_by_id=rx.patient_id,
                        channel="web",
                        requested_at=self.ago(2, 7, 50),
                    )
                )

    def _refill(self, rx: Prescription, spec: RefillSpec) -> None:
        """The refill request and the status history that led to its status."""
        path = REFILL_PATHS[spec.status]
        steps = [self.ago(*step) for step in spec.steps]
        refill = RefillRequest(
            prescription_id=rx.id,
            patient_id=rx.patient_id,
            pharmacy_id=rx.pharmacy_id,
            status=spec.status,
            requested_by_id=self.people[spec.by].id,
            channel=spec.channel,
            requested_at=steps[0],
            updated_at=steps[-1],
        )
        self.add(refill)
        self.session.flush()
        for status, at in zip(path, steps, strict=True):
            self.add(RefillStatusEvent(refill_id=refill.id, status=status, at=at))

    # -- results ------------------------------------------------------------------------------

    def _labs(self) -> None:
        for spec in LAB_PANELS:
            collected = self.ago(spec.collected_ago, 13, 30)
            final = spec.status == "final"
            reviewed = final and spec.reviewed
            for lab in spec.tests:
                self.add(
                    LabResult(
                        patient_id=self.people[spec.patient].id,
                        test_name=lab.test,
                        panel=spec.panel,
                        value=lab.value,
                        numeric_value=_number(lab.value),
                        unit=lab.unit,
                        reference_low=lab.low,
                        reference_high=lab.high,
                        reference_text=lab.reference_text or _range_text(lab),
                        flag=lab.flag,
                        status=spec.status,
                        collected_at=collected,
                        resulted_at=collected + timedelta(hours=20) if final else None,
                        reviewed_at=collected + timedelta(days=1, hours=22) if reviewed else None,
                        reviewed_by_id=(
                            self.staff[_identity(spec.patient).pcm].id if reviewed else None
                        ),
                        source_org=spec.source_org,
                    )
                )

    def _reports(self) -> None:
        for spec in REPORTS:
            performed = self.ago(spec.performed_ago, 14, 45)
            final = spec.status == "final"
            self.add(
                Report(
                    patient_id=self.people[spec.patient].id,
                    kind=spec.kind,
                    title=spec.title,
                    summary=spec.summary,
                    body=spec.body,
                    author_id=self.staff[spec.author].id if spec.author else None,
                    status=spec.status,
                    performed_at=performed,
                    resulted_at=performed + timedelta(hours=26) if final else None,
                    reviewed_at=(
                        performed + timedelta(days=3) if final and spec.reviewed else None
                    ),
                    source_org=spec.source_org,
                )
            )

    def _immunizations(self) -> None:
        for spec in IMMUNIZATIONS:
            patient = self.people[spec.patient]
            if spec.flu_season:
                given = self._flu_season_day()
            elif spec.at_age is not None:
                years, months = spec.at_age
                given = _years_before(patient.date_of_birth, -years) + timedelta(
                    days=round(months * 30.4)
                )
            else:
                given = self.day(-(spec.days_ago or 1))
            self.add(
                Immunization(
                    patient_id=patient.id,
                    vaccine=spec.vaccine,
                    dose=spec.dose,
                    administered_on=min(given, self.day(-1)),
                    location=spec.location,
                    source_org=spec.source_org,
                )
            )

    def _flu_season_day(self) -> date:
        """Mid-October of the latest flu season that has begun."""
        shot = date(self.today.year, 10, 15)
        return shot if shot < self.today else date(self.today.year - 1, 10, 15)

    # -- messages -----------------------------------------------------------------------------

    def _messages(self) -> None:
        marcus, mateo = self.people["rivera-sponsor"], self.people["rivera-teen"]
        asked = self.ago(5, 13, 12)
        thread = MessageThread(
            patient_id=marcus.id,
            recipient_kind="pcm",
            provider_id=marcus.pcm_id,
            clinic_id=marcus.home_clinic_id,
            category="medical_question",
            subject="Home blood pressure readings",
            created_at=asked,
            reply_due_on=add_business_days(asked.date(), 3),
        )
        self.add(thread)
        self.session.flush()
        self.add(
            Message(
                thread_id=thread.id,
                sender_patient_id=marcus.id,
                body="My morning readings have been around 132/84 since starting lisinopril. "
                "Should I change anything before my follow-up?",
                channel="web",
                sent_at=asked,
            )
        )
        self.add(
            Message(
                thread_id=thread.id,
                sender_provider_id=marcus.pcm_id,
                body="Thanks, Marcus. Those readings are close to goal. Keep taking lisinopril "
                "10 mg daily and bring your log to your follow-up. - Dr. Kim",
                channel="web",
                sent_at=self.ago(4, 17, 40),
            )
        )
        asked = self.ago(1, 20, 5)
        thread = MessageThread(
            patient_id=mateo.id,
            recipient_kind="pool",
            clinic_id=mateo.home_clinic_id,
            pool="nursing",
            category="medical_question",
            subject="Inhaler before practice",
            created_at=asked,
            reply_due_on=add_business_days(asked.date(), 3),
        )
        self.add(thread)
        self.session.flush()
        self.add(
            Message(
                thread_id=thread.id,
                sender_patient_id=mateo.id,
                body="Is it ok to use my inhaler before basketball practice?",
                channel="sms",
                sent_at=asked,
            )
        )


def _member(members: Sequence[StaffSpec], credentials: str) -> str | None:
    return next((m.name for m in members if m.credentials == credentials), None)


def _identity(key: str) -> DemoIdentity:
    return next(d for d in DEMO_IDENTITIES if d.key == key)


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _range_text(lab: Lab) -> str | None:
    unit = f" {lab.unit}" if lab.unit else ""
    if lab.low is not None and lab.high is not None:
        return f"{lab.low:g}-{lab.high:g}{unit}"
    return None
