"""Phone lockouts and verified conversation sessions for SMS and voice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped

from portal_core.models.base import Base, UTCDateTime


class PhoneLockout(Base):
    """Failed verification attempts per phone; `locked_until` set once the limit is reached.

    `lockouts` counts the lockouts in the current streak (each started within a day of the
    previous one ending) and `last_locked_until` is when the latest one ended or ends: each
    lockout in a streak lasts twice as long as the one before.
    """

    __tablename__ = "phone_lockouts"

    phone: Mapped[str] = Column(String(20), primary_key=True)
    failed_attempts: Mapped[int] = Column(Integer, nullable=False, default=0)
    last_failure_at: Mapped[datetime | None] = Column(UTCDateTime)
    locked_until: Mapped[datetime | None] = Column(UTCDateTime)
    lockouts: Mapped[int] = Column(Integer, nullable=False, default=0, server_default="0")
    last_locked_until: Mapped[datetime | None] = Column(UTCDateTime)


class VerifiedSession(Base):
    """A conversation (e.g. `sms:+15551234567`) whose speaker proved who they are.

    The verification holds only for the channel and the phone number it was made on: a request
    that names the same conversation from another channel or number gets nothing.
    """

    __tablename__ = "verified_sessions"

    session_key: Mapped[str] = Column(String(80), primary_key=True)
    patient_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False)
    channel: Mapped[str] = Column(String(12), nullable=False)
    phone: Mapped[str] = Column(String(20), nullable=False)
    verified_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    last_seen_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
