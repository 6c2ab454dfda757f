"""Profiles, care teams, who a person acts for, "my son", and proxy grants."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from portal_core import access, audit, people
from portal_core.actors import Actor
from portal_core.database import Database
from portal_core.errors import (
    AccessDenied,
    InvalidInput,
    PatientNotFound,
    PremiumRequired,
)
from portal_core.models import CareTeamMember, Guardianship, Patient, ProxyGrant
from portal_core.proxy import TEEN_PARENT_CAPABILITIES, Capability
from tests.factories import Family, make_clinic, make_family, make_patient, make_provider
from wording.catalogue import render, say_error

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
TODAY = NOW.date()
ALL = frozenset(Capability)


@pytest.fixture
def fam(db: Database) -> Family:
    """The factory family with sexes recorded: Lily (8) and Ava (19) girls, Noah (14) a boy."""
    with db.transaction() as s:
        family = make_family(s, TODAY)
        family.sponsor.sex, family.spouse.sex = "M", "F"
        family.child.sex, family.teen.sex, family.adult_child.sex = "F", "M", "F"
    return family


def _update(db: Database, patient_id: int, **changes: object) -> None:
    with db.transaction() as s:
        patient = s.get(Patient, patient_id)
        for name, value in changes.items():
            setattr(patient, name, value)


def _resolve(db: Database, fam: Family, said: str) -> str:
    return people.resolve_family_member(db, Actor(fam.sponsor.id, "sms"), said, now=NOW).first_name


# --- Profile and care team ---------------------------------------------------------------


def test_profile_masks_the_dod_id_and_is_audited(db: Database, fam: Family) -> None:
    _update(db, fam.teen.id, street="1 Main St", city="Killeen", state="TX", postal_code="76544")
    profile = people.get_profile(db, Actor(fam.sponsor.id, "sms"), fam.teen.id, now=NOW)
    assert profile.full_name == "Noah Doe"
    assert profile.dod_id_masked == "******" + fam.teen.dod_id[-4:]
    assert fam.teen.dod_id not in repr(profile)
    assert profile.address.one_line() == "1 Main St, Killeen, TX 76544"
    assert (profile.relationship_to_sponsor, profile.sponsor_name) == ("child", "Marcus Doe")
    assert profile.pcm_name == fam.pcm.display_name
    assert (profile.clinic_name, profile.clinic_phone) == (fam.clinic.name, fam.clinic.phone)
    with db.transaction() as s:
        [entry] = audit.entries_for(s, fam.teen.id)
    assert (entry.actor_id, entry.action, entry.resource) == (fam.sponsor.id, "read", "profile")


def test_profile_of_an_adult_child_is_refused(db: Database, fam: Family) -> None:
    with pytest.raises(AccessDenied) as err:
        people.get_profile(db, Actor(fam.sponsor.id), fam.adult_child.id, now=NOW)
    assert say_error(err.value) == (
        "Ava is an adult, so parents no longer have access to Ava's record. Ava can grant you "
        "proxy access through the patient portal."
    )


def test_basic_accounts_are_told_to_upgrade(db: Database) -> None:
    with db.transaction() as s:
        pid = make_patient(s, assurance_level="basic").id
    with pytest.raises(PremiumRequired):
        people.get_profile(db, Actor(pid), pid, now=NOW)
    with pytest.raises(PremiumRequired):
        people.family_members(db, Actor(pid), now=NOW)


def test_unknown_patient(db: Database, fam: Family) -> None:
    with pytest.raises(PatientNotFound):
        people.get_profile(db, Actor(fam.sponsor.id), 987_654, now=NOW)


def test_care_team_lists_pcm_clinic_and_members(db: Database, fam: Family) -> None:
    with db.transaction() as s:
        nurse = make_provider(s, fam.clinic, name="Jo Reyes")
        nurse.credentials, nurse.specialty = "RN", "Nursing"
        s.add(CareTeamMember(patient_id=fam.sponsor.id, provider_id=fam.pcm.id, role="PCM"))
        s.add(CareTeamMember(patient_id=fam.sponsor.id, provider_id=nurse.id, role="Nurse"))
    team = people.find_pcm(db, Actor(fam.sponsor.id), fam.sponsor.id, now=NOW)
    assert team.pcm_name == fam.pcm.display_name
    assert (team.clinic_name, team.clinic_phone, team.clinic_time_zone) == (
        fam.clinic.name,
        fam.clinic.phone,
        "America/Chicago",
    )
    assert [(m.name, m.role) for m in team.members] == [
        (fam.pcm.display_name, "PCM"),
        ("Jo Reyes, RN", "Nurse"),
    ]
    with db.transaction() as s:
        assert [e.resource for e in audit.entries_for(s, fam.sponsor.id)] == ["care_team"]


def test_no_pcm_says_whom_to_call(db: Database) -> None:
    with db.transaction() as s:
        clinic = make_clinic(s, name="Robertson Blvd Clinic")
        with_clinic = make_patient(s, clinic=clinic).id
        without = make_patient(s).id
    with pytest.raises(people.NoPrimaryCareManager) as err:
        people.find_pcm(db, Actor(with_clinic), with_clinic, now=NOW)
    assert "Robertson Blvd Clinic at 254-288-8000" in say_error(err.value)
    with pytest.raises(people.NoPrimaryCareManager) as err:
        people.find_pcm(db, Actor(without), without, now=NOW)
    assert "TRICARE" in say_error(err.value)


# --- Family ------------------------------------------------------------------------------


def test_family_members_and_what_the_rule_allows(db: Database, fam: Family) -> None:
    members = people.family_members(db, Actor(fam.sponsor.id), now=NOW)
    assert [(m.first_name, m.relationship, m.age) for m in members] == [
        ("Marcus", "self", 41),
        ("Ava", "child", 19),
        ("Noah", "child", 14),
        ("Lily", "child", 8),
    ]
    caps = {m.first_name: m.capabilities for m in members}
    assert caps == {
        "Marcus": ALL,
        "Ava": frozenset(),
        "Noah": TEEN_PARENT_CAPABILITIES,
        "Lily": ALL,
    }
    with db.transaction() as s:
        assert [e.resource for e in audit.entries_for(s, fam.child.id)] == ["family_member"]


def test_refusals_carry_the_rules_reason(db: Database, fam: Family) -> None:
    members = {m.first_name: m for m in people.family_members(db, Actor(fam.sponsor.id), now=NOW)}
    refused = people.may(members["Noah"], Capability.RESULTS)
    assert not refused.allowed and refused.key == "proxy.teen_private"
    assert refused.data == {
        "name": "Noah",
        "age": 14,
        "what": "results",
        "teen_from": 12,
        "teen_to": 17,
    }
    assert render(refused.key, **refused.data) == (
        "Because Noah is 14, parents can't see Noah's test results. For privacy, teens aged 12 "
        "to 17 see these themselves. Noah can share them with you, or you can call the clinic."
    )
    adult = people.may(members["Ava"], Capability.APPOINTMENTS)
    assert (adult.allowed, adult.key, adult.data) == (False, "proxy.adult", {"name": "Ava"})
    assert people.may(members["Lily"], Capability.MESSAGES).allowed


def test_listed_capabilities_agree_with_the_access_gate(db: Database, fam: Family) -> None:
    actor = Actor(fam.sponsor.id)
    for member in people.family_members(db, actor, now=NOW):
        for capability in Capability:
            try:
                with db.transaction() as s:
                    access.require(s, actor, member.patient_id, capability, now=NOW)
                allowed = True
            except AccessDenied:
                allowed = False
            assert allowed == member.can(capability), (member.first_name, capability)
            assert people.may(member, capability).allowed == allowed


def test_a_grant_adds_the_grantor_and_expiry_removes_them(db: Database, fam: Family) -> None:
    until = TODAY + timedelta(days=30)
    people.grant_proxy(db, Actor(fam.spouse.id), fam.sponsor.dod_id, until, now=NOW)
    members = people.family_members(db, Actor(fam.sponsor.id), now=NOW)
    dana = next(m for m in members if m.first_name == "Dana")
    assert (dana.relationship, dana.capabilities) == ("spouse", ALL)
    on_expiry = datetime.combine(until, NOW.timetz())
    assert "Dana" in [
        m.first_name for m in people.family_members(db, Actor(fam.sponsor.id), now=on_expiry)
    ]
    after = on_expiry + timedelta(days=1)
    assert "Dana" not in [
        m.first_name for m in people.family_members(db, Actor(fam.sponsor.id), now=after)
    ]


def test_a_teen_sees_a_parent_who_granted_access_as_a_parent(db: Database, fam: Family) -> None:
    people.grant_proxy(db, Actor(fam.spouse.id), fam.teen.id, TODAY + timedelta(days=7), now=NOW)
    members = people.family_members(db, Actor(fam.teen.id), now=NOW)
    assert [(m.first_name, m.relationship) for m in members] == [
        ("Noah", "self"),
        ("Dana", "parent"),
    ]


SAID_AND_MEANT = [
    ("me", "Marcus"),
    ("Myself", "Marcus"),
    ("for me", "Marcus"),
    ("Noah", "Noah"),
    ("noah's", "Noah"),
    ("NOAH’S appointment", "Noah"),
    ("my son", "Noah"),
    ("book my son in", "Noah"),
    ("my boy", "Noah"),
    ("my youngest daughter", "Lily"),
    ("my little girl", "Lily"),
    ("my oldest", "Ava"),
    ("my eldest daughter", "Ava"),
    ("my daughter Lily", "Lily"),
    ("Ava", "Ava"),
]


@pytest.mark.parametrize(("said", "who"), SAID_AND_MEANT)
def test_resolving_what_people_say(db: Database, fam: Family, said: str, who: str) -> None:
    assert _resolve(db, fam, said) == who


def test_ambiguous_references_list_the_names(db: Database, fam: Family) -> None:
    with pytest.raises(people.AmbiguousFamilyMember) as err:
        _resolve(db, fam, "my daughter")
    assert err.value.choices == ("Ava", "Lily")
    assert say_error(err.value) == "Who do you mean: Ava or Lily?"
    with pytest.raises(people.AmbiguousFamilyMember) as err:
        _resolve(db, fam, "my kid")
    assert err.value.choices == ("Ava", "Noah", "Lily")


def test_unknown_sex_never_hides_the_right_person(db: Database, fam: Family) -> None:
    _update(db, fam.teen.id, sex="U")
    assert _resolve(db, fam, "my son") == "Noah"
    with pytest.raises(people.AmbiguousFamilyMember) as err:
        _resolve(db, fam, "my daughter")
    assert set(err.value.choices) == {"Ava", "Noah", "Lily"}


def test_my_kid_with_only_one_child(db: Database) -> None:
    with db.transaction() as s:
        parent = make_patient(s, first_name="Sam")
        kid = make_patient(
            s,
            first_name="Zoë",
            date_of_birth=date(2020, 2, 29),
            sponsor=parent,
            relationship="child",
        )
        s.add(Guardianship(guardian_id=parent.id, dependent_id=kid.id))
    actor = Actor(parent.id)
    assert people.resolve_family_member(db, actor, "my kid", now=NOW).patient_id == kid.id
    assert people.resolve_family_member(db, actor, "zoe", now=NOW).patient_id == kid.id
    assert people.resolve_family_member(db, actor, "my child", now=NOW).age == 6


def test_my_wife_needs_her_grant(db: Database, fam: Family) -> None:
    with pytest.raises(people.FamilyMemberNotFound) as err:
        _resolve(db, fam, "my wife")
    # Ava (19) gave no proxy access, so she is not among the people the sponsor can act for.
    assert "yourself, Noah and Lily" in say_error(err.value)
    assert "Ava" not in say_error(err.value)
    assert "proxy access" in say_error(err.value)
    people.grant_proxy(db, Actor(fam.spouse.id), fam.sponsor.id, TODAY + timedelta(1), now=NOW)
    assert _resolve(db, fam, "my wife") == "Dana"
    with pytest.raises(people.FamilyMemberNotFound):
        _resolve(db, fam, "my husband")


@pytest.mark.parametrize(
    ("said", "who"),
    [
        ("noahs shots", "Noah"),  # a possessive typed without its apostrophe
        ("lilys labs", "Lily"),
        ("I need to see my doctor about my knee", "Marcus"),  # "my ..." is the speaker's own
        ("refill my lisinopril", "Marcus"),
    ],
)
def test_how_people_name_themselves_and_their_family(
    db: Database, fam: Family, said: str, who: str
) -> None:
    assert _resolve(db, fam, said) == who


def test_a_relation_means_the_people_the_speaker_may_do_the_task_for(
    db: Database, fam: Family
) -> None:
    speaker = Actor(fam.sponsor.id, "web")

    def resolve(said: str, capability: Capability | None) -> str:
        found = people.resolve_family_member(db, speaker, said, now=NOW, capability=capability)
        return found.first_name

    # Lily (8) and Ava (19, no proxy grant) are both daughters: for results, only Lily.
    with pytest.raises(people.AmbiguousFamilyMember):
        resolve("my daughter's results", None)
    assert resolve("my daughter's results", Capability.RESULTS) == "Lily"
    # Three children; only Lily's results may be seen (Noah is 14, Ava gave no grant).
    assert resolve("my kid's test results", Capability.RESULTS) == "Lily"
    # Named outright, Ava is still found, so the refusal can say why.
    assert resolve("Ava's results", Capability.RESULTS) == "Ava"


@pytest.mark.parametrize("said", ["Zed", "my cousin", "Robert'); DROP TABLE patients;--", "???"])
def test_nobody_matches(db: Database, fam: Family, said: str) -> None:
    with pytest.raises(people.FamilyMemberNotFound):
        _resolve(db, fam, said)
    assert _resolve(db, fam, "Noah") == "Noah"  # the tables are intact


@pytest.mark.parametrize("said", ["", "   ", "x" * 10_000])
def test_empty_or_huge_references_are_refused(db: Database, fam: Family, said: str) -> None:
    with pytest.raises(InvalidInput):
        _resolve(db, fam, said)


def test_resolution_is_audited_for_the_person_chosen(db: Database, fam: Family) -> None:
    _resolve(db, fam, "my son")
    with db.transaction() as s:
        assert [e.resource for e in audit.entries_for(s, fam.teen.id)] == ["family_member"]
        assert audit.entries_for(s, fam.child.id) == []


# --- Proxy grants ------------------------------------------------------------------------


def test_an_adult_grants_access_until_the_expiry_date(db: Database, fam: Family) -> None:
    until = TODAY + timedelta(days=90)
    grant = people.grant_proxy(db, Actor(fam.adult_child.id), fam.sponsor.dod_id, until, now=NOW)
    assert (grant.grantee_id, grant.grantee_first_name, grant.expires_on) == (
        fam.sponsor.id,
        "Marcus",
        until,
    )
    parent = Actor(fam.sponsor.id)
    last_day = datetime.combine(until, NOW.timetz())
    with db.transaction() as s:
        access.require(s, parent, fam.adult_child.id, Capability.RESULTS, now=last_day)
    with pytest.raises(AccessDenied), db.transaction() as s:
        access.require(
            s, parent, fam.adult_child.id, Capability.RESULTS, now=last_day + timedelta(days=1)
        )
    with db.transaction() as s:
        entries = [e for e in audit.entries_for(s, fam.adult_child.id) if e.action == "grant"]
    assert len(entries) == 1 and entries[0].resource_id == str(grant.grant_id)


def test_minors_cannot_grant(db: Database, fam: Family) -> None:
    with pytest.raises(people.ProxyGrantNotAllowed):
        people.grant_proxy(db, Actor(fam.teen.id), fam.sponsor.id, TODAY + timedelta(9), now=NOW)
    with db.transaction() as s:
        assert s.scalars(select(ProxyGrant)).all() == []


def test_the_18th_birthday_is_the_first_day_one_may_grant(db: Database) -> None:
    with db.transaction() as s:
        teen = make_patient(s, date_of_birth=date(2008, 11, 26)).id
        other = make_patient(s).id
    with pytest.raises(people.ProxyGrantNotAllowed):
        people.grant_proxy(db, Actor(teen), other, TODAY + timedelta(9), now=NOW)
    birthday = NOW + timedelta(days=1)
    people.grant_proxy(db, Actor(teen), other, TODAY + timedelta(9), now=birthday)


@pytest.mark.parametrize(
    ("expires_on", "why"),
    [
        (TODAY, "after today"),
        (TODAY - timedelta(days=1), "after today"),
        (date(2027, 11, 26), "up to one year"),
        (date(2031, 1, 1), "up to one year"),
    ],
)
def test_expiry_must_be_in_the_next_year(
    db: Database, fam: Family, expires_on: date, why: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        people.grant_proxy(db, Actor(fam.spouse.id), fam.sponsor.id, expires_on, now=NOW)
    assert why in say_error(err.value)
    if why == "up to one year":
        latest = people.add_years(TODAY, 1)
        assert f"the latest end date is {latest:%B} {latest.day}, {latest.year}. You can" in (
            say_error(err.value)
        )


def test_a_full_year_is_allowed(db: Database, fam: Family) -> None:
    grant = people.grant_proxy(
        db, Actor(fam.spouse.id), fam.sponsor.id, date(2027, 11, 25), now=NOW
    )
    assert grant.expires_on == date(2027, 11, 25)
    assert people.add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)


@pytest.mark.parametrize(
    ("grantee", "error"),
    [
        ("9999999999", PatientNotFound),
        (987_654, PatientNotFound),
        ("12345", InvalidInput),
        ("'; DROP TABLE proxy_grants; --", InvalidInput),
        ("1" * 10_000, InvalidInput),
        (True, InvalidInput),
        (None, InvalidInput),
    ],
)
def test_bad_grantees(db: Database, fam: Family, grantee: object, error: type) -> None:
    until = TODAY + timedelta(days=9)
    with pytest.raises(error):
        people.grant_proxy(db, Actor(fam.spouse.id), grantee, until, now=NOW)  # type: ignore[arg-type]


def test_granting_to_oneself_is_refused(db: Database, fam: Family) -> None:
    with pytest.raises(InvalidInput) as err:
        people.grant_proxy(db, Actor(fam.spouse.id), fam.spouse.id, TODAY + timedelta(9), now=NOW)
    assert say_error(err.value) == "You already have full access to your own record."


def test_a_new_grant_replaces_the_old_one(db: Database, fam: Family) -> None:
    actor = Actor(fam.spouse.id)
    people.grant_proxy(db, actor, fam.sponsor.id, TODAY + timedelta(days=200), now=NOW)
    people.grant_proxy(db, actor, fam.sponsor.id, TODAY + timedelta(days=10), now=NOW)
    [active] = people.proxy_grants(db, actor, now=NOW)
    assert active.expires_on == TODAY + timedelta(days=10)
    with db.transaction() as s:
        assert len(s.scalars(select(ProxyGrant)).all()) == 2


def test_revoking_ends_access(db: Database, fam: Family) -> None:
    actor = Actor(fam.spouse.id)
    people.grant_proxy(db, actor, fam.sponsor.dod_id, TODAY + timedelta(days=30), now=NOW)
    later = NOW + timedelta(hours=1)
    assert people.revoke_proxy(db, actor, fam.sponsor.dod_id, now=later) == 1
    assert people.proxy_grants(db, actor, now=later) == []
    with pytest.raises(AccessDenied), db.transaction() as s:
        access.require(s, Actor(fam.sponsor.id), fam.spouse.id, Capability.RESULTS, now=later)
    with pytest.raises(people.ProxyGrantNotFound):
        people.revoke_proxy(db, actor, fam.sponsor.dod_id, now=later)
    with db.transaction() as s:
        actions = [e.action for e in audit.entries_for(s, fam.spouse.id)]
    assert actions.count("grant") == 1 and actions.count("revoke") == 1


def test_revoking_needs_no_premium_account(db: Database, fam: Family) -> None:
    people.grant_proxy(db, Actor(fam.spouse.id), fam.sponsor.id, TODAY + timedelta(9), now=NOW)
    _update(db, fam.spouse.id, assurance_level="basic")
    assert people.revoke_proxy(db, Actor(fam.spouse.id), fam.sponsor.id, now=NOW) == 1


# --- Accounts and contact details --------------------------------------------------------


def test_account_level(db: Database) -> None:
    with db.transaction() as s:
        basic = make_patient(s, assurance_level="basic").id
        premium = make_patient(s).id
    assert people.account_level(db, basic) == "basic" and not people.is_premium(db, basic)
    assert people.account_level(db, premium) == "premium" and people.is_premium(db, premium)
    with pytest.raises(PatientNotFound):
        people.account_level(db, 987_654)


def test_resolving_among_a_family_already_read_follows_the_same_rule(
    db: Database, fam: Family
) -> None:
    """A form reads the family once and resolves against it (`resolve_among`): the same
    person as `resolve_family_member` reading it again, and the same question when unsure."""
    actor = Actor(fam.sponsor.id, "sms")
    family = people.family_members(db, actor, now=NOW)
    for said, who in SAID_AND_MEANT:
        assert people.resolve_among(family, said).first_name == who, said
    with pytest.raises(people.AmbiguousFamilyMember) as err:
        people.resolve_among(family, "my daughter")
    assert err.value.choices == ("Ava", "Lily")
    kids = people.resolve_among(family, "my kid's results", Capability.RESULTS)
    assert (
        kids.first_name
        == people.resolve_family_member(
            db, actor, "my kid's results", now=NOW, capability=Capability.RESULTS
        ).first_name
    )
    with pytest.raises(InvalidInput):
        people.resolve_among(family, "  ")
