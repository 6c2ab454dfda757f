"""Clinics (military treatment facilities at home and overseas), appointment types and policies."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, relationship

from portal_core.models.base import Base

BOOKING_MODES = ("direct", "request_only")


class Clinic(Base):
    __tablename__ = "clinics"

    id: Mapped[int] = Column(Integer, primary_key=True)
    code: Mapped[str] = Column(String(40), nullable=False, unique=True)
    name: Mapped[str] = Column(String(120), nullable=False)
    facility: Mapped[str] = Column(String(120), nullable=False)
    time_zone: Mapped[str] = Column(String(40), nullable=False)
    phone: Mapped[str] = Column(String(30), nullable=False)
    country: Mapped[str] = Column(String(2), nullable=False, default="US")
    city: Mapped[str] = Column(String(60), nullable=False)
    service: Mapped[str] = Column(String(40), nullable=False, default="Primary Care")


class AppointmentType(Base):
    __tablename__ = "appointment_types"

    id: Mapped[int] = Column(Integer, primary_key=True)
    code: Mapped[str] = Column(String(40), nullable=False, unique=True)
    name: Mapped[str] = Column(String(80), nullable=False)
    duration_minutes: Mapped[int] = Column(Integer, nullable=False, default=20)
    questionnaire: Mapped[str | None] = Column(String(120))


class BookingPolicy(Base):
    """Per clinic and type: may a patient book directly, or only ask the clinic to schedule?"""

    __tablename__ = "booking_policies"
    __table_args__ = (
        UniqueConstraint("clinic_id", "appointment_type_id"),
        CheckConstraint("mode IN ('direct', 'request_only')", name="mode"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    clinic_id: Mapped[int] = Column(ForeignKey("clinics.id"), nullable=False, index=True)
    appointment_type_id: Mapped[int] = Column(ForeignKey("appointment_types.id"), nullable=False)
    mode: Mapped[str] = Column(String(20), nullable=False, default="direct")
    offered: Mapped[bool] = Column(Boolean, nullable=False, default=True)

    clinic = relationship("Clinic")
    appointment_type = relationship("AppointmentType")
