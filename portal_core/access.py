"""The gate every protected-health-information service passes through.

It asks two questions in order: is the actor's own account premium (Level 2), and do the proxy
rules let the actor do this for this patient today. A refusal is audited and raised with a reason
fit to show the person.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_core import audit
from portal_core.actors import Actor
from portal_core.clock import utcnow
from portal_core.errors import AccessDenied, PatientNotFound, PremiumRequired
from portal_core.models import Guardianship, Patient, ProxyGrant
from portal_core.proxy import Capability, ProxyFacts, decide

PREMIUM = "premium"


def is_premium(assurance_level: str) -> bool:
    """The gate's first question: only a premium (DS Logon Level 2) account reaches health
    information, for oneself or anyone else."""
    return assurance_level == PREMIUM


def require_premium(assurance_level: str) -> None:
    """The first question asked on its own, before any record is touched (so not audited):
    the bot turns a basic account away before it asks a single question of the task."""
    if not is_premium(assurance_level):
        raise PremiumRequired()


def load_patient(session: Session, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise PatientNotFound()
    return patient


def proxy_facts(session: Session, actor_id: int, patient: Patient, on: date) -> ProxyFacts:
    is_guardian = (
        session.scalar(
            select(Guardianship.id).where(
                Guardianship.guardian_id == actor_id, Guardianship.dependent_id == patient.id
            )
        )
        is not None
    )
    grant_expiry = session.scalar(
        select(ProxyGrant.expires_on)
        .where(
            ProxyGrant.grantor_id == patient.id,
            ProxyGrant.grantee_id == actor_id,
            ProxyGrant.revoked_at.is_(None),
            ProxyGrant.expires_on >= on,
        )
        .order_by(ProxyGrant.expires_on.desc())
        .limit(1)
    )
    return ProxyFacts(
        actor_id=actor_id,
        patient_id=patient.id,
        patient_first_name=patient.first_name,
        patient_birth_date=patient.date_of_birth,
        actor_is_guardian=is_guardian,
        grant_expires_on=grant_expiry,
    )


def require(
    session: Session,
    actor: Actor,
    patient_id: int,
    capability: Capability,
    *,
    now: datetime | None = None,
) -> Patient:
    """Return the patient if the actor may use `capability` for them; otherwise raise."""
    now = now or utcnow()
    actor_patient = load_patient(session, actor.patient_id)
    patient = actor_patient if patient_id == actor.patient_id else load_patient(session, patient_id)
    if not is_premium(actor_patient.assurance_level):
        raise _audited(PremiumRequired(), actor, patient_id, capability, "basic account", now)
    decision = decide(
        proxy_facts(session, actor.patient_id, patient, now.date()), capability, now.date()
    )
    if not decision.allowed:
        raise _audited(
            AccessDenied(key=decision.key, data=decision.data),
            actor,
            patient_id,
            capability,
            decision.key,
            now,
        )
    return patient


def _audited(
    error: AccessDenied,
    actor: Actor,
    patient_id: int,
    capability: Capability,
    reason: str,
    now: datetime,
) -> AccessDenied:
    """Attach the refusal's audit entry; the transaction keeps it through its rollback."""

    def write(session: Session) -> None:
        audit.record(
            session,
            actor,
            subject_id=patient_id,
            action="access_denied",
            resource=capability.value,
            outcome="denied",
            detail=reason,
            now=now,
        )

    error.after_rollback.append(write)
    return error
