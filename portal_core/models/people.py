"""Patients (DEERS-style demographics), providers, care teams, guardianship and proxy grants."""

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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, relationship

from portal_core.models.base import Base, UTCDateTime

ASSURANCE_LEVELS = ("basic", "premium")
RELATIONSHIPS = ("self", "spouse", "child", "other")


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[int] = Column(Integer, primary_key=True)
    name: Mapped[str] = Column(String(120), nullable=False)
    credentials: Mapped[str] = Column(String(20), nullable=False, default="MD")
    specialty: Mapped[str] = Column(String(80), nullable=False, default="Family Medicine")
    clinic_id: Mapped[int] = Column(ForeignKey("clinics.id"), nullable=False, index=True)

    clinic = relationship("Clinic")

    @property
    def display_name(self) -> str:
        return f"{self.name}, {self.credentials}"


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint("assurance_level IN ('basic', 'premium')", name="assurance_level"),
        CheckConstraint(
            "relationship_to_sponsor IN ('self', 'spouse', 'child', 'other')", name="relationship"
        ),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    dod_id: Mapped[str] = Column(String(10), nullable=False, unique=True)
    first_name: Mapped[str] = Column(String(60), nullable=False)
    last_name: Mapped[str] = Column(String(60), nullable=False)
    date_of_birth: Mapped[date] = Column(Date, nullable=False)
    sex: Mapped[str] = Column(String(1), nullable=False, default="U")
    phone: Mapped[str | None] = Column(String(20), index=True)
    email: Mapped[str | None] = Column(String(120))
    street: Mapped[str | None] = Column(String(120))
    city: Mapped[str | None] = Column(String(60))
    state: Mapped[str | None] = Column(String(30))
    postal_code: Mapped[str | None] = Column(String(12))
    country: Mapped[str] = Column(String(2), nullable=False, default="US")
    sponsor_id: Mapped[int | None] = Column(ForeignKey("patients.id"), index=True)
    relationship_to_sponsor: Mapped[str] = Column(String(10), nullable=False, default="self")
    assurance_level: Mapped[str] = Column(String(10), nullable=False, default="premium")
    pcm_id: Mapped[int | None] = Column(ForeignKey("providers.id"))
    home_clinic_id: Mapped[int | None] = Column(ForeignKey("clinics.id"))
    preferred_pharmacy_id: Mapped[int | None] = Column(ForeignKey("pharmacies.id"))
    sms_health_consent: Mapped[bool] = Column(Boolean, nullable=False, default=False)

    sponsor = relationship("Patient", remote_side=[id])
    pcm = relationship("Provider", foreign_keys=[pcm_id])
    home_clinic = relationship("Clinic", foreign_keys=[home_clinic_id])
    preferred_pharmacy = relationship("Pharmacy", foreign_keys=[preferred_pharmacy_id])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class CareTeamMember(Base):
    """The PCM plus the nurses and others who answer for the patient's primary care."""

    __tablename__ = "care_team_members"
    __table_args__ = (UniqueConstraint("patient_id", "provider_id"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    patient_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    provider_id: Mapped[int] = Column(ForeignKey("providers.id"), nullable=False)
    role: Mapped[str] = Column(String(40), nullable=False)

    provider = relationship("Provider")


class Guardianship(Base):
    """A parent or legal guardian of a dependent; proxy rules then depend on the child's age."""

    __tablename__ = "guardianships"
    __table_args__ = (UniqueConstraint("guardian_id", "dependent_id"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    guardian_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    dependent_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)


class ProxyGrant(Base):
    """Access an adult patient gave someone else explicitly, until it expires or is revoked."""

    __tablename__ = "proxy_grants"

    id: Mapped[int] = Column(Integer, primary_key=True)
    grantor_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    grantee_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    granted_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    expires_on: Mapped[date] = Column(Date, nullable=False)
    revoked_at: Mapped[datetime | None] = Column(UTCDateTime)
