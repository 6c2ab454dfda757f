"""People and accounts: profiles, care teams, the family a person acts for, and proxy grants.

Who may act for whom is decided by `proxy.decide` alone; this module only gathers the people and
asks it, so the bot's "book my son in" and the access gate can never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_core import access, audit
from portal_core.actors import Actor
from portal_core.clinics import ClinicView, clinic_view
from portal_core.clock import age_on, utcnow
from portal_core.database import Database
from portal_core.errors import AccessDenied, InvalidInput, NotFound, PatientNotFound
from portal_core.models import CareTeamMember, Clinic, Guardianship, Patient, ProxyGrant
from portal_core.proxy import ADULT_AT, Capability, Decision, decide
from understanding import relations

MAX_REFERENCE_LENGTH = 200
# A proxy grant lasts at most one year. Consent that never has to be renewed stops being a
# choice: the circumstances behind a grant (a deployment, a caregiver, a marriage) change on a
# military family's timescale of months, and a forgotten grant keeps exposing the record after
# they do. Renewing costs the grantor one message a year; this bounds the harm of forgetting.
MAX_GRANT_YEARS = 1


# --- Errors ------------------------------------------------------------------------------


class NoPrimaryCareManager(NotFound):
    default_key = "people.no_pcm"


class FamilyMemberNotFound(NotFound):
    default_key = "people.who_unclear"


class AmbiguousFamilyMember(InvalidInput):
    """More than one person fits; `choices` are the first names to offer back."""

    def __init__(self, choices: Iterable[str]) -> None:
        self.choices = tuple(choices)
        super().__init__(key="people.which_person", data={"choices": self.choices})


class ProxyGrantNotAllowed(AccessDenied):
    default_key = "people.grant_adults_only"


class ProxyGrantNotFound(NotFound):
    default_key = "people.grant_not_found"


# --- Views -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    street: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str

    def one_line(self) -> str:
        parts = [self.street, self.city, " ".join(p for p in (self.state, self.postal_code) if p)]
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class PatientProfile:
    patient_id: int
    first_name: str
    last_name: str
    date_of_birth: date
    dod_id_masked: str
    phone: str | None
    email: str | None
    address: Address
    assurance_level: str
    relationship_to_sponsor: str
    sponsor_name: str | None
    pcm_name: str | None
    clinic_name: str | None
    clinic_phone: str | None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class CareTeamMemberView:
    name: str
    role: str
    specialty: str


@dataclass(frozen=True)
class CareTeamView:
    patient_id: int
    pcm_name: str
    clinic_name: str
    clinic_phone: str
    clinic_time_zone: str
    members: tuple[CareTeamMemberView, ...]


@dataclass(frozen=True)
class FamilyMemberView:
    """Someone the actor may be acting for, and what the proxy rule lets them do for that person.

    `capabilities` can be empty (a guardian's child who has turned 18): such people are still
    listed, so "book Ava in" gets the rule's explanation rather than "I don't know Ava".
    """

    patient_id: int
    first_name: str
    relationship: str  # self, child, spouse, parent, sibling or other, as seen from the actor
    age: int
    sex: str  # M, F or U as DEERS records it; "my son" and "my wife" need it
    capabilities: frozenset[Capability]
    refusals: tuple[tuple[Capability, Decision], ...] = ()  # the rule's answer for each refused

    @property
    def is_self(self) -> bool:
        return self.relationship == "self"

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def decision(self, capability: Capability) -> Decision:
        for refused, decision in self.refusals:
            if refused == capability:
                return decision
        return Decision(True, key="proxy.allowed", data={"name": self.first_name})


def may(member: FamilyMemberView, capability: Capability) -> Decision:
    """The proxy rule's answer, with its patient-facing reason, as of when `member` was read.

    For choosing what to offer; the service that then does the work asks the access gate again.
    """
    return member.decision(capability)


@dataclass(frozen=True)
class ProxyGrantView:
    grant_id: int
    grantor_id: int
    grantee_id: int
    grantee_first_name: str
    granted_at: datetime
    expires_on: date


# --- Profile and care team ---------------------------------------------------------------


def get_profile(
    db: Database, actor: Actor, patient_id: int, *, now: datetime | None = None
) -> PatientProfile:
    """Demographics as DEERS holds them, with the DoD ID masked: the full ID is a credential."""
    with _care_read(db, actor, patient_id, Capability.CARE_TEAM, now, "profile") as found:
        _, patient, clinic = found
        return PatientProfile(
            patient_id=patient.id,
            first_name=patient.first_name,
            last_name=patient.last_name,
            date_of_birth=patient.date_of_birth,
            dod_id_masked=mask_dod_id(patient.dod_id),
            phone=patient.phone,
            email=patient.email,
            address=Address(
                patient.street, patient.city, patient.state, patient.postal_code, patient.country
            ),
            assurance_level=patient.assurance_level,
            relationship_to_sponsor=patient.relationship_to_sponsor,
            sponsor_name=patient.sponsor.full_name if patient.sponsor else None,
            pcm_name=patient.pcm.display_name if patient.pcm else None,
            clinic_name=clinic.name if clinic else None,
            clinic_phone=clinic.phone if clinic else None,
        )


def find_pcm(
    db: Database, actor: Actor, patient_id: int, *, now: datetime | None = None
) -> CareTeamView:
    """The PCM and the care team who answer for them, with the clinic's number to call."""
    with _care_read(db, actor, patient_id, Capability.CARE_TEAM, now, "care_team") as found:
        session, patient, clinic = found
        if patient.pcm is None or clinic is None:
            raise _no_pcm(clinic)
        rows = session.execute(
            select(CareTeamMember)
            .where(CareTeamMember.patient_id == patient.id)
            .order_by(CareTeamMember.id)
        ).scalars()
        members = tuple(
            CareTeamMemberView(m.provider.display_name, m.role, m.provider.specialty) for m in rows
        )
        return CareTeamView(
            patient_id=patient.id,
            pcm_name=patient.pcm.display_name,
            clinic_name=clinic.name,
            clinic_phone=clinic.phone,
            clinic_time_zone=clinic.time_zone,
            members=members,
        )


def primary_clinic(
    db: Database, actor: Actor, patient_id: int, *, now: datetime | None = None
) -> ClinicView | None:
    """Where the patient's primary care happens: the default clinic for booking."""
    with _care_read(db, actor, patient_id, Capability.APPOINTMENTS, now) as (_, _, clinic):
        return clinic_view(clinic) if clinic else None


@contextmanager
def _care_read(
    db: Database,
    actor: Actor,
    patient_id: int,
    capability: Capability,
    now: datetime | None,
    audited: str | None = None,
) -> Iterator[tuple[Session, Patient, Clinic | None]]:
    """The frame of a read about one patient's care, so each service only builds its answer.

    Opens the transaction, checks `actor` may use `capability` for the patient, and yields the
    session, the patient and their primary clinic; when the read succeeds and names what it
    `audited`, the audit row saying so is written in the same transaction.
    """
    now = now or utcnow()
    with db.transaction() as session:
        patient = access.require(session, actor, patient_id, capability, now=now)
        yield session, patient, _primary_clinic(session, patient)
        if audited is not None:
            audit.record(
                session, actor, subject_id=patient.id, action="read", resource=audited, now=now
            )


def _primary_clinic(session: Session, patient: Patient) -> Clinic | None:
    """The PCM's clinic is where care happens; the home clinic stands in until one is assigned."""
    if patient.pcm is not None:
        return patient.pcm.clinic
    return patient.home_clinic


def _no_pcm(clinic: Clinic | None) -> NoPrimaryCareManager:
    if clinic is None:
        return NoPrimaryCareManager()
    return NoPrimaryCareManager(
        key="people.no_pcm_call_clinic", data={"clinic": clinic.name, "phone": clinic.phone}
    )


def mask_dod_id(dod_id: str) -> str:
    return "*" * max(len(dod_id) - 4, 0) + dod_id[-4:]


# --- Family ------------------------------------------------------------------------------


def family_members(
    db: Database, actor: Actor, *, now: datetime | None = None
) -> list[FamilyMemberView]:
    """Self first, then dependents (oldest first), then adults who granted the actor access."""
    now = now or utcnow()
    with db.transaction() as session:
        members = _family(session, actor, now)
        for member in members:
            audit.record(
                session,
                actor,
                subject_id=member.patient_id,
                action="read",
                resource="family_member",
                now=now,
            )
    return members


def resolve_family_member(
    db: Database,
    actor: Actor,
    reference: str,
    *,
    now: datetime | None = None,
    capability: Capability | None = None,
) -> FamilyMemberView:
    """Turn "my son", "Noah's", "me" or "my wife" into one person, or ask which one.

    A wrong guess would book or read for the wrong person, so nothing is guessed: names must match
    exactly (case and accents aside) and a relationship word that fits several people raises
    `AmbiguousFamilyMember` with the names to offer. Given the `capability` a task needs, a
    relationship word that fits several people means those the speaker may do it for ("my kid's
    results" is the one child whose results the parent may see), and only they are offered; a
    person named outright is still returned, so the caller can say why they are refused.
    """
    words = _reference_words(reference)
    now = now or utcnow()
    with db.transaction() as session:
        members = _family(session, actor, now)
        chosen = _resolve(members, words, capability)
        audit.record(
            session,
            actor,
            subject_id=chosen.patient_id,
            action="read",
            resource="family_member",
            now=now,
        )
    return chosen


def resolve_among(
    members: Sequence[FamilyMemberView], reference: str, capability: Capability | None = None
) -> FamilyMemberView:
    """`resolve_family_member` among a family already read (and audited) by `family_members`.

    For a caller that reads the family once and then resolves several references against it
    (a form settling whom a task is for): the same rule, without reading the family again.
    """
    return _resolve(list(members), _reference_words(reference), capability)


def _family(session: Session, actor: Actor, now: datetime) -> list[FamilyMemberView]:
    # Acting for anyone, oneself included, needs a premium account; the gate says so (audited).
    me = access.require(session, actor, actor.patient_id, Capability.CARE_TEAM, now=now)
    today = now.date()
    dependents = session.scalars(
        select(Patient)
        .join(Guardianship, Guardianship.dependent_id == Patient.id)
        .where(Guardianship.guardian_id == me.id)
        .order_by(Patient.date_of_birth, Patient.id)
    ).all()
    grantors = session.scalars(
        select(Patient)
        .join(ProxyGrant, ProxyGrant.grantor_id == Patient.id)
        .where(
            ProxyGrant.grantee_id == me.id,
            ProxyGrant.revoked_at.is_(None),
            ProxyGrant.expires_on >= today,
        )
        .order_by(Patient.first_name, Patient.id)
    ).all()
    guarded = {p.id for p in dependents}
    people: list[Patient] = [me]
    for person in [*dependents, *grantors]:
        if all(person.id != seen.id for seen in people):
            people.append(person)
    return [_view(session, me, person, person.id in guarded, today) for person in people]


def _view(
    session: Session, me: Patient, person: Patient, is_guardian: bool, today: date
) -> FamilyMemberView:
    facts = access.proxy_facts(session, me.id, person, today)
    decisions = {c: decide(facts, c, today) for c in Capability}
    return FamilyMemberView(
        patient_id=person.id,
        first_name=person.first_name,
        relationship=_relationship(me, person, is_guardian),
        age=age_on(person.date_of_birth, today),
        sex=person.sex,
        capabilities=frozenset(c for c, d in decisions.items() if d.allowed),
        refusals=tuple((c, d) for c, d in decisions.items() if not d.allowed),
    )


def _relationship(me: Patient, other: Patient, is_guardian: bool) -> str:
    if other.id == me.id:
        return "self"
    if is_guardian or (other.sponsor_id == me.id and other.relationship_to_sponsor == "child"):
        return "child"
    if (other.sponsor_id == me.id and other.relationship_to_sponsor == "spouse") or (
        me.sponsor_id == other.id and me.relationship_to_sponsor == "spouse"
    ):
        return "spouse"
    if me.sponsor_id is not None and me.relationship_to_sponsor == "child":
        if other.id == me.sponsor_id:
            return "parent"
        if other.sponsor_id == me.sponsor_id:
            return {"spouse": "parent", "child": "sibling"}.get(
                other.relationship_to_sponsor, "other"
            )
    return "other"


# --- Understanding "my son" (the words: `understanding.relations`) ------------------------


def _reference_words(reference: str) -> list[str]:
    if not isinstance(reference, str) or not reference.strip():
        raise InvalidInput(key="people.who_is_it_for")
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise InvalidInput(key="people.reference_too_long")
    return relations.reference_words(reference)


def _resolve(
    members: list[FamilyMemberView], words: list[str], capability: Capability | None = None
) -> FamilyMemberView:
    by_name = _name_matches(members, words)
    by_relation = _relation_matches(members, words)
    if by_name:
        narrowed = [m for m in by_name if by_relation and m in by_relation]
        return _one(narrowed or by_name)
    if by_relation is not None:
        if not by_relation:
            raise _not_found(members, capability)
        if len(by_relation) > 1:
            by_relation = _by_order(by_relation, words)
        if len(by_relation) > 1 and capability is not None:
            allowed = [m for m in by_relation if m.can(capability)]
            by_relation = allowed or by_relation
        return _one(by_relation)
    if any(w in relations.SELF_WORDS for w in words):
        return members[0]
    if "my" in words and not any(w in relations.OTHER_PEOPLE for w in words):
        return members[0]
    raise _not_found(members, capability)


def _name_matches(members: list[FamilyMemberView], words: list[str]) -> list[FamilyMemberView]:
    """Members named in `words`; "sofias shots" (a possessive typed without its apostrophe)
    names Sofia too."""
    joined = f" {' '.join(words)} "
    found = []
    for member in members:
        name = relations.name_words(member.first_name)
        if name and (f" {name} " in joined or f" {name}s " in joined):
            found.append(member)
    return found


def _relation_matches(
    members: list[FamilyMemberView], words: list[str]
) -> list[FamilyMemberView] | None:
    """None when no relationship word was said; otherwise everyone any of the words fits."""
    phrases = [*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))]
    wanted = [relations.RELATION_WORDS[w] for w in phrases if w in relations.RELATION_WORDS]
    if not wanted:
        return None
    return [
        m for m in members if any(m.relationship == rel and m.sex in fit for rel, fit in wanted)
    ]


def _by_order(matches: list[FamilyMemberView], words: list[str]) -> list[FamilyMemberView]:
    """Pick by age for "my oldest" or "my youngest"; two people the same age stay ambiguous."""
    if any(w in relations.OLDEST for w in words):
        top = max(m.age for m in matches)
        return [m for m in matches if m.age == top]
    if any(w in relations.YOUNGEST for w in words):
        low = min(m.age for m in matches)
        return [m for m in matches if m.age == low]
    return matches


def _one(matches: list[FamilyMemberView]) -> FamilyMemberView:
    if len(matches) == 1:
        return matches[0]
    raise AmbiguousFamilyMember(m.first_name for m in matches)


def _not_found(
    members: list[FamilyMemberView], capability: Capability | None = None
) -> FamilyMemberNotFound:
    """Names only the people the speaker may act for (for this task, when it is known)."""
    others = tuple(
        m.first_name
        for m in members
        if not m.is_self and (m.can(capability) if capability else m.capabilities)
    )
    if not others:
        return FamilyMemberNotFound(key="people.not_found_only_self")
    return FamilyMemberNotFound(key="people.not_found", data={"others": others})


# --- Proxy grants ------------------------------------------------------------------------


def grant_proxy(
    db: Database,
    actor: Actor,
    grantee_dod_id_or_id: str | int,
    expires_on: date,
    *,
    now: datetime | None = None,
) -> ProxyGrantView:
    """Give another person access to the actor's own record until `expires_on` (inclusive).

    Only an adult may grant (a minor's access is the guardians' by rule, not by consent), and
    the expiry must be after today and at most `MAX_GRANT_YEARS` ahead (see the constant for
    why). A new grant replaces any active one to the same person, so there is one expiry to read.
    """
    now = now or utcnow()
    today = now.date()
    expires_on = _check_expiry(expires_on, today)
    with db.transaction() as session:
        me = access.require(session, actor, actor.patient_id, Capability.CARE_TEAM, now=now)
        if age_on(me.date_of_birth, today) < ADULT_AT:
            raise ProxyGrantNotAllowed()
        grantee = _find_person(session, grantee_dod_id_or_id)
        if grantee.id == me.id:
            raise InvalidInput(key="people.grant_to_self")
        for old in _active_grants(session, me.id, grantee.id, today):
            old.revoked_at = now
        grant = ProxyGrant(
            grantor_id=me.id, grantee_id=grantee.id, granted_at=now, expires_on=expires_on
        )
        session.add(grant)
        session.flush()
        audit.record(
            session,
            actor,
            subject_id=me.id,
            action="grant",
            resource="proxy_grant",
            resource_id=grant.id,
            detail=f"grantee patient {grantee.id} until {expires_on.isoformat()}",
            now=now,
        )
        view = _grant_view(grant, grantee)
    return view


def revoke_proxy(
    db: Database,
    actor: Actor,
    grantee_dod_id_or_id: str | int,
    *,
    now: datetime | None = None,
) -> int:
    """End every active grant from the actor to that person; returns how many ended.

    Deliberately not behind the premium check: taking access away must never be harder than
    giving it.
    """
    now = now or utcnow()
    with db.transaction() as session:
        access.load_patient(session, actor.patient_id)
        grantee = _find_person(session, grantee_dod_id_or_id)
        grants = _active_grants(session, actor.patient_id, grantee.id, now.date())
        if not grants:
            raise ProxyGrantNotFound()
        for grant in grants:
            grant.revoked_at = now
            audit.record(
                session,
                actor,
                subject_id=actor.patient_id,
                action="revoke",
                resource="proxy_grant",
                resource_id=grant.id,
                detail=f"grantee patient {grantee.id}",
                now=now,
            )
    return len(grants)


def proxy_grants(
    db: Database, actor: Actor, *, now: datetime | None = None
) -> list[ProxyGrantView]:
    """Who the actor has given access to their record, and until when (active grants only)."""
    now = now or utcnow()
    with db.transaction() as session:
        me = access.require(session, actor, actor.patient_id, Capability.CARE_TEAM, now=now)
        rows = session.execute(
            select(ProxyGrant, Patient)
            .join(Patient, Patient.id == ProxyGrant.grantee_id)
            .where(
                ProxyGrant.grantor_id == me.id,
                ProxyGrant.revoked_at.is_(None),
                ProxyGrant.expires_on >= now.date(),
            )
            .order_by(ProxyGrant.expires_on, ProxyGrant.id)
        ).all()
        views = [_grant_view(grant, grantee) for grant, grantee in rows]
        audit.record(
            session, actor, subject_id=me.id, action="read", resource="proxy_grant", now=now
        )
    return views


def _check_expiry(expires_on: date, today: date) -> date:
    if isinstance(expires_on, datetime) or not isinstance(expires_on, date):
        raise InvalidInput(key="people.grant_end_date")
    latest = add_years(today, MAX_GRANT_YEARS)
    if expires_on <= today:
        raise InvalidInput(key="people.grant_end_after_today")
    if expires_on > latest:
        raise InvalidInput(key="people.grant_up_to_a_year", data={"latest": latest})
    return expires_on


def add_years(day: date, years: int) -> date:
    """Same calendar day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _find_person(session: Session, dod_id_or_id: str | int) -> Patient:
    """A DoD ID is ten digits (given as text so leading zeros survive); an int is our own id."""
    if isinstance(dod_id_or_id, bool):
        raise InvalidInput(key="people.dod_id_needed")
    if isinstance(dod_id_or_id, int):
        return access.load_patient(session, dod_id_or_id)
    if not isinstance(dod_id_or_id, str):
        raise InvalidInput(key="people.dod_id_needed")
    digits = re.sub(r"[\s-]", "", dod_id_or_id)
    if not re.fullmatch(r"\d{10}", digits):
        raise InvalidInput(key="people.dod_id_digits")
    person = session.scalar(select(Patient).where(Patient.dod_id == digits))
    if person is None:
        raise PatientNotFound(key="people.dod_id_unknown")
    return person


def _active_grants(
    session: Session, grantor_id: int, grantee_id: int, today: date
) -> list[ProxyGrant]:
    return list(
        session.scalars(
            select(ProxyGrant).where(
                ProxyGrant.grantor_id == grantor_id,
                ProxyGrant.grantee_id == grantee_id,
                ProxyGrant.revoked_at.is_(None),
                ProxyGrant.expires_on >= today,
            )
        )
    )


def _grant_view(grant: ProxyGrant, grantee: Patient) -> ProxyGrantView:
    return ProxyGrantView(
        grant_id=grant.id,
        grantor_id=grant.grantor_id,
        grantee_id=grant.grantee_id,
        grantee_first_name=grantee.first_name,
        granted_at=grant.granted_at,
        expires_on=grant.expires_on,
    )


# --- Accounts ----------------------------------------------------------------------------
# (Where contact details are changed, DEERS, is the Rasa response `utter_update_contact_info`'s
# to say: the portal only mirrors them, so it never changes them.)


def account_level(db: Database, patient_id: int) -> str:
    """ "basic" or "premium" (DS Logon Level 2); not PHI, so neither gated nor audited."""
    with db.transaction() as session:
        return access.load_patient(session, patient_id).assurance_level


def is_premium(db: Database, patient_id: int) -> bool:
    return access.is_premium(account_level(db, patient_id))
