"""The append-only audit log of every read or change of protected health information."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped

from portal_core.models.base import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = Column(Integer, primary_key=True)
    at: Mapped[datetime] = Column(UTCDateTime, nullable=False, index=True)
    actor_id: Mapped[int | None] = Column(ForeignKey("patients.id"))
    subject_id: Mapped[int | None] = Column(ForeignKey("patients.id"), index=True)
    action: Mapped[str] = Column(String(40), nullable=False)
    resource: Mapped[str] = Column(String(40), nullable=False)
    resource_id: Mapped[str | None] = Column(String(40))
    channel: Mapped[str] = Column(String(12), nullable=False)
    # How the request really reached the portal (web, sms, voice; system for its own jobs).
    transport: Mapped[str] = Column(String(12), nullable=False)
    # The conversation (Rasa conversation id) the act belongs to, when there is one.
    session: Mapped[str | None] = Column(String(120))
    outcome: Mapped[str] = Column(String(12), nullable=False, default="ok")
    detail: Mapped[str | None] = Column(Text)


class CareTeamAlert(Base):
    """A high-priority alert to a patient's care team (e.g. an emergency said to the bot)."""

    __tablename__ = "care_team_alerts"

    id: Mapped[int] = Column(Integer, primary_key=True)
    patient_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    kind: Mapped[str] = Column(String(20), nullable=False)
    priority: Mapped[str] = Column(String(8), nullable=False, default="high")
    detail: Mapped[str] = Column(Text, nullable=False)
    channel: Mapped[str] = Column(String(12), nullable=False)
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)


class SecurityAlert(Base):
    """Something operators should look at, such as a number locked out again within a day.

    Listed with `python -m portal_core.cli security-alerts`; each is audited as well. `phone`
    is the full number so that an operator can act on it (call the patient, block the number).
    """

    __tablename__ = "security_alerts"

    id: Mapped[int] = Column(Integer, primary_key=True)
    raised_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, index=True)
    kind: Mapped[str] = Column(String(30), nullable=False)
    phone: Mapped[str | None] = Column(String(20))
    detail: Mapped[str] = Column(Text, nullable=False)
