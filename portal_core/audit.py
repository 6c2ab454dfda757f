"""Writing and reading the append-only audit trail.

Entries are written inside the same transaction as the disclosure or change they describe, so
one cannot commit without the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_core.actors import Actor
from portal_core.clock import utcnow
from portal_core.models import AuditEvent


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor_id: int | None
    subject_id: int | None
    action: str
    resource: str
    resource_id: str | None
    channel: str
    outcome: str
    detail: str | None


def record(
    session: Session,
    actor: Actor | None,
    *,
    subject_id: int | None,
    action: str,
    resource: str,
    resource_id: object | None = None,
    outcome: str = "ok",
    detail: str | None = None,
    channel: str | None = None,
    now: datetime | None = None,
) -> None:
    """Append one entry: who (actor), for whom (subject), what, through which channel, when."""
    session.add(
        AuditEvent(
            at=now or utcnow(),
            actor_id=actor.patient_id if actor else None,
            subject_id=subject_id,
            action=action,
            resource=resource,
            resource_id=None if resource_id is None else str(resource_id),
            channel=channel or (actor.channel if actor else "system"),
            outcome=outcome,
            detail=detail[:2000] if detail else None,
        )
    )


def entries_for(session: Session, subject_id: int) -> list[AuditEntry]:
    """Oldest first; for the patient's own access report and for tests."""
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.subject_id == subject_id).order_by(AuditEvent.id)
    )
    return [
        AuditEntry(
            at=r.at,
            actor_id=r.actor_id,
            subject_id=r.subject_id,
            action=r.action,
            resource=r.resource,
            resource_id=r.resource_id,
            channel=r.channel,
            outcome=r.outcome,
            detail=r.detail,
        )
        for r in rows
    ]
