"""Secure message threads to a PCM or a clinic pool, and the messages in them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, relationship

from portal_core.models.base import Base, UTCDateTime

POOLS = ("nursing", "administration", "scheduling", "pharmacy")


class MessageThread(Base):
    __tablename__ = "message_threads"
    __table_args__ = (
        CheckConstraint("recipient_kind IN ('pcm', 'pool')", name="recipient_kind"),
        CheckConstraint(
            "pool IS NULL OR pool IN ('nursing', 'administration', 'scheduling', 'pharmacy')",
            name="pool",
        ),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    patient_id: Mapped[int] = Column(ForeignKey("patients.id"), nullable=False, index=True)
    recipient_kind: Mapped[str] = Column(String(8), nullable=False)
    provider_id: Mapped[int | None] = Column(ForeignKey("providers.id"))
    clinic_id: Mapped[int] = Column(ForeignKey("clinics.id"), nullable=False)
    pool: Mapped[str | None] = Column(String(16))
    category: Mapped[str] = Column(String(40), nullable=False)
    subject: Mapped[str] = Column(String(160), nullable=False)
    status: Mapped[str] = Column(String(12), nullable=False, default="open")
    priority: Mapped[str] = Column(String(8), nullable=False, default="routine")
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    reply_due_on: Mapped[date] = Column(Date, nullable=False)

    provider = relationship("Provider")
    clinic = relationship("Clinic")
    messages = relationship("Message", order_by="Message.sent_at", back_populates="thread")


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = Column(Integer, primary_key=True)
    thread_id: Mapped[int] = Column(ForeignKey("message_threads.id"), nullable=False, index=True)
    sender_patient_id: Mapped[int | None] = Column(ForeignKey("patients.id"))
    sender_provider_id: Mapped[int | None] = Column(ForeignKey("providers.id"))
    body: Mapped[str] = Column(Text, nullable=False)
    channel: Mapped[str] = Column(String(12), nullable=False)
    sent_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)

    thread = relationship("MessageThread", back_populates="messages")
