"""Lab results, reports (radiology, pathology, clinical notes) and immunizations.

`source_org` names the community partner for records that came through the health information
exchange; None means the military treatment facility itself.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, relationship

from portal_core.models.base import Base, UTCDateTime

LAB_FLAGS = ("normal", "high", "low", "critical_high", "critical_low", "abnormal")
REPORT_KINDS = ("radiology", "pathology", "clinical_note")


class LabResult(Base):
    __tablename__ = "lab_results"
    __table_args__ = (
        CheckConstraint("status IN ('preliminary', 'final')", name="status"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    patient_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    test_name: Mapped[str] = Column(String(120), nullable=False)
    panel: Mapped[str | None] = Column(String(120))
    value: Mapped[str] = Column(String(40), nullable=False)
    numeric_value: Mapped[float | None] = Column(Float)
    unit: Mapped[str | None] = Column(String(30))
    reference_low: Mapped[float | None] = Column(Float)
    reference_high: Mapped[float | None] = Column(Float)
    reference_text: Mapped[str | None] = Column(String(60))
    flag: Mapped[str] = Column(String(16), nullable=False, default="normal")
    status: Mapped[str] = Column(String(12), nullable=False, default="final")
    collected_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    resulted_at: Mapped[datetime | None] = Column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = Column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = Column(ForeignKey("providers.id"))
    source_org: Mapped[str | None] = Column(String(120))

    reviewed_by = relationship("Provider")


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint("kind IN ('radiology', 'pathology', 'clinical_note')", name="kind"),
        CheckConstraint("status IN ('preliminary', 'final')", name="status"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    patient_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    kind: Mapped[str] = Column(String(16), nullable=False)
    title: Mapped[str] = Column(String(160), nullable=False)
    summary: Mapped[str] = Column(Text, nullable=False)
    body: Mapped[str] = Column(Text, nullable=False)
    author_id: Mapped[int | None] = Column(ForeignKey("providers.id"))
    status: Mapped[str] = Column(String(12), nullable=False, default="final")
    performed_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    resulted_at: Mapped[datetime | None] = Column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = Column(UTCDateTime)
    source_org: Mapped[str | None] = Column(String(120))

    author = relationship("Provider")


class Immunization(Base):
    __tablename__ = "immunizations"

    id: Mapped[int] = Column(Integer, primary_key=True)
    patient_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    vaccine: Mapped[str] = Column(String(120), nullable=False)
    dose: Mapped[str | None] = Column(String(40))
    administered_on: Mapped[date] = Column(Date, nullable=False)
    location: Mapped[str] = Column(String(120), nullable=False)
    source_org: Mapped[str | None] = Column(String(120))
