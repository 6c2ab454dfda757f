"""Slots, appointments and appointment requests.

A slot is booked at most once: a partial unique index on active appointments enforces it in the
database itself, so two concurrent bookings cannot both commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, relationship

from portal_core.models.base import Base, UTCDateTime

APPOINTMENT_STATUSES = ("booked", "cancelled", "completed")
REQUEST_STATUSES = ("pending", "scheduled", "closed")


class Slot(Base):
    __tablename__ = "slots"

    id: Mapped[int] = Column(Integer, primary_key=True)
    clinic_id: Mapped[int] = Column(ForeignKey("clinics.id"), nullable=False)
    provider_id: Mapped[int] = Column(ForeignKey("providers.id"), nullable=False)
    appointment_type_id: Mapped[int] = Column(ForeignKey("appointment_types.id"), nullable=False)
    starts_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    duration_minutes: Mapped[int] = Column(Integer, nullable=False, default=20)

    clinic = relationship("Clinic")
    provider = relationship("Provider")
    appointment_type = relationship("AppointmentType")

    __table_args__ = (
        Index("ix_slots_search", "clinic_id", "appointment_type_id", "starts_at"),
    )


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("status IN ('booked', 'cancelled', 'completed')", name="status"),
        Index(
            "uq_appointments_active_slot",
            "slot_id",
            unique=True,
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    patient_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    slot_id: Mapped[int] = Column(ForeignKey("slots.id"), nullable=False)
    status: Mapped[str] = Column(String(12), nullable=False, default="booked")
    reason: Mapped[str | None] = Column(String(500))
    booked_by_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False)
    channel: Mapped[str] = Column(String(12), nullable=False)
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    cancelled_at: Mapped[datetime | None] = Column(UTCDateTime)
    questionnaire: Mapped[str | None] = Column(String(120))
    questionnaire_status: Mapped[str | None] = Column(String(20))

    slot = relationship("Slot")
    patient = relationship("Patient", foreign_keys=[patient_id])


class AppointmentRequest(Base):
    """Handed to the clinic's scheduling team when no slot fits or the type is request-only."""

    __tablename__ = "appointment_requests"

    id: Mapped[int] = Column(Integer, primary_key=True)
    patient_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    clinic_id: Mapped[int] = Column(ForeignKey("clinics.id"), nullable=False)
    appointment_type_id: Mapped[int] = Column(ForeignKey("appointment_types.id"), nullable=False)
    preferred_windows: Mapped[str] = Column(Text, nullable=False, default="[]")
    reason: Mapped[str | None] = Column(String(500))
    status: Mapped[str] = Column(String(12), nullable=False, default="pending")
    requested_by_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False)
    channel: Mapped[str] = Column(String(12), nullable=False)
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    contact_by: Mapped[datetime] = Column(UTCDateTime, nullable=False)

    clinic = relationship("Clinic")
    appointment_type = relationship("AppointmentType")
