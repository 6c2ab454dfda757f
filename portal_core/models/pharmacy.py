"""Pharmacies, prescriptions, refill requests (with their status history) and renewals."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, relationship

from portal_core.models.base import Base, UTCDateTime

REFILL_STATUSES = ("requested", "in_progress", "ready", "picked_up", "cancelled")


class Pharmacy(Base):
    __tablename__ = "pharmacies"

    id: Mapped[int] = Column(Integer, primary_key=True)
    code: Mapped[str] = Column(String(40), nullable=False, unique=True)
    name: Mapped[str] = Column(String(120), nullable=False)
    military: Mapped[bool] = Column(Boolean, nullable=False, default=True)
    clinic_id: Mapped[int | None] = Column(ForeignKey("clinics.id"))
    phone: Mapped[str] = Column(String(30), nullable=False)
    time_zone: Mapped[str] = Column(String(40), nullable=False)


class Prescription(Base):
    __tablename__ = "prescriptions"
    __table_args__ = (
        CheckConstraint("refills_remaining >= 0", name="refills_nonnegative"),
        CheckConstraint("days_supply > 0", name="days_supply_positive"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    patient_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    medication: Mapped[str] = Column(String(120), nullable=False)
    strength: Mapped[str] = Column(String(60), nullable=False)
    instructions: Mapped[str] = Column(String(300), nullable=False)
    prescriber_id: Mapped[int] = Column(ForeignKey("providers.id"), nullable=False)
    days_supply: Mapped[int] = Column(Integer, nullable=False)
    refills_remaining: Mapped[int] = Column(Integer, nullable=False)
    expires_on: Mapped[date] = Column(Date, nullable=False)
    last_filled_on: Mapped[date | None] = Column(Date)
    controlled: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    active: Mapped[bool] = Column(Boolean, nullable=False, default=True)
    pharmacy_id: Mapped[int | None] = Column(ForeignKey("pharmacies.id"))

    prescriber = relationship("Provider")
    pharmacy = relationship("Pharmacy")


class RefillRequest(Base):
    __tablename__ = "refill_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN ('requested', 'in_progress', 'ready', 'picked_up', 'cancelled')",
            name="status",
        ),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    prescription_id: Mapped[int] = Column(
        ForeignKey("prescriptions.id"), nullable=False, index=True
    )
    patient_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    pharmacy_id: Mapped[int] = Column(ForeignKey("pharmacies.id"), nullable=False)
    status: Mapped[str] = Column(String(12), nullable=False, default="requested")
    requested_by_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False)
    channel: Mapped[str] = Column(String(12), nullable=False)
    requested_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)

    prescription = relationship("Prescription")
    pharmacy = relationship("Pharmacy")
    events = relationship(
        "RefillStatusEvent", order_by="RefillStatusEvent.at", back_populates="refill"
    )


class RefillStatusEvent(Base):
    """Each status a refill passed through and when, so a patient can ask where it stands."""

    __tablename__ = "refill_status_events"

    id: Mapped[int] = Column(Integer, primary_key=True)
    refill_id: Mapped[int] = Column(ForeignKey("refill_requests.id"), nullable=False, index=True)
    status: Mapped[str] = Column(String(12), nullable=False)
    at: Mapped[datetime] = Column(UTCDateTime, nullable=False)

    refill = relationship("RefillRequest", back_populates="events")


class RenewalRequest(Base):
    """A request in the prescriber's queue to write a new prescription."""

    __tablename__ = "renewal_requests"

    id: Mapped[int] = Column(Integer, primary_key=True)
    prescription_id: Mapped[int] = Column(ForeignKey("prescriptions.id"), nullable=False)
    patient_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    prescriber_id: Mapped[int] = Column(ForeignKey("providers.id"), nullable=False, index=True)
    status: Mapped[str] = Column(String(12), nullable=False, default="pending")
    note: Mapped[str | None] = Column(Text)
    requested_by_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False)
    channel: Mapped[str] = Column(String(12), nullable=False)
    requested_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)

    prescription = relationship("Prescription")
