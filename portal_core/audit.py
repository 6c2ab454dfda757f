"""Writing and reading the append-only audit trail.

Entries are written inside the same transaction as the disclosure or change they describe, so
one cannot commit without the other. Each names who acted (the actor), for whom (the subject),
the transport the request really came through (web, sms, voice, or system for the portal's own
jobs), the conversation it belongs to, and the outcome: a result withheld is recorded as
withheld, never as a disclosure. The database refuses to change or delete an entry (triggers,
and on PostgreSQL a runtime role without the privileges; see migrations/README).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_core import free_text
from portal_core.actors import CHANNELS, Actor
from portal_core.clock import utcnow
from portal_core.models import AuditEvent

MAX_DETAIL_CHARS = 2000
MAX_SESSION_CHARS = 120


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor_id: int | None
    subject_id: int | None
    action: str
    resource: str
    resource_id: str | None
    channel: str
    transport: str
    session: str | None
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
    transport: str | None = None,
    conversation_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """Append one entry: who (actor), for whom (subject), what, through which channel, when.

    `channel` is the channel the event concerns (where a disclosure went, where an appointment
    was booked); it defaults to the actor's. `transport` is how the request reached the portal:
    the actor's channel (actors are built only from verified identities), or for an act
    without a verified actor (a failed verification, an emergency said before verifying) the
    `transport` or `channel` given, and `system` for the portal's own jobs. The conversation is
    the actor's session unless `conversation_id` names it.
    """
    recorded_channel = channel or (actor.channel if actor else "system")
    real_transport = (actor.channel if actor else None) or transport or recorded_channel
    if real_transport not in CHANNELS:
        raise ValueError(f"unknown transport {real_transport!r}")
    conversation = conversation_id or (actor.session if actor else None)
    session.add(
        AuditEvent(
            at=now or utcnow(),
            actor_id=actor.patient_id if actor else None,
            subject_id=subject_id,
            action=action,
            resource=resource,
            resource_id=None if resource_id is None else str(resource_id)[:40],
            channel=recorded_channel,
            transport=real_transport,
            session=conversation[:MAX_SESSION_CHARS] if conversation else None,
            outcome=outcome,
            detail=free_text.clean(detail)[:MAX_DETAIL_CHARS] if detail else None,
        )
    )


def record_disclosure(
    session: Session,
    actor: Actor,
    subject_id: int,
    action: str,
    resource: str,
    ids: Iterable[object],
    now: datetime,
    *,
    channel: str | None = None,
    resource_id: object | None = None,
    outcome: str = "ok",
) -> None:
    """One entry for a read, naming every record it disclosed (or none) as `ids=3,7,12`.

    Every read of a list writes this same detail, so the patient's access report and an
    investigator can tell exactly which records were shown, whichever service showed them.
    """
    record(
        session,
        actor,
        subject_id=subject_id,
        action=action,
        resource=resource,
        resource_id=resource_id,
        outcome=outcome,
        detail="ids=" + ",".join(str(i) for i in ids),
        channel=channel,
        now=now,
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
            transport=r.transport,
            session=r.session,
            outcome=r.outcome,
            detail=r.detail,
        )
        for r in rows
    ]
