"""State the Twilio channels keep between webhook calls, shared by every Rasa replica.

Twilio retries a webhook it thinks failed, and several Rasa replicas may answer the same number,
so what a channel must remember (which deliveries it already answered, the choices it last
offered, who said STOP) lives in the portal database rather than in one process's memory.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Column, String, Text
from sqlalchemy.orm import Mapped

from portal_core.models.base import Base, UTCDateTime

DELIVERY_STATUSES = ("processing", "done")


class WebhookDelivery(Base):
    """One webhook delivery (`sms:<MessageSid>`, `voice:<CallSid>:<step>`) and the TwiML it got.

    The row is claimed before the turn runs, so a retry that arrives meanwhile finds it, and the
    stored answer is replayed to any later retry instead of running the turn twice.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (CheckConstraint("status IN ('processing', 'done')", name="status"),)

    key: Mapped[str] = Column(String(120), primary_key=True)
    channel: Mapped[str] = Column(String(12), nullable=False)
    conversation_id: Mapped[str] = Column(String(80), nullable=False)
    status: Mapped[str] = Column(String(12), nullable=False)
    response: Mapped[str | None] = Column(Text)
    received_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, index=True)
    completed_at: Mapped[datetime | None] = Column(UTCDateTime)


class SmsConversation(Base):
    """Per SMS conversation: the numbered choices last offered and any reply that came late."""

    __tablename__ = "sms_conversations"

    conversation_id: Mapped[str] = Column(String(80), primary_key=True)
    choices: Mapped[str | None] = Column(Text)  # JSON list of {"title", "payload"}
    choices_offered_at: Mapped[datetime | None] = Column(UTCDateTime)
    late_reply: Mapped[str | None] = Column(Text)  # JSON list of texts not yet delivered
    updated_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)


class SmsOptOut(Base):
    """A number's STOP/START state; a number without a row has never opted out."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = Column(String(20), primary_key=True)
    opted_out: Mapped[bool] = Column(Boolean, nullable=False)
    keyword: Mapped[str] = Column(String(20), nullable=False)
    changed_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
