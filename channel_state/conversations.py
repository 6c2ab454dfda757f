"""What an SMS conversation remembers between texts: the numbered choices and any late reply.

A text message has no buttons, so the SMS channel numbers them ("Reply 1 for Yes, 2 for No") and
must recognise "1" in the next text, which may reach another replica. Only the choices of the
bot's latest reply count, and only for a while: a "2" sent the next day is just text. A reply
that came too late for Twilio's deadline is kept here and sent with the next answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from channel_state.models import SmsConversation
from portal_core.clock import utcnow
from portal_core.database import Database, locked_row
from portal_core.errors import InvalidInput
from wording.sms import choice_number

MAX_CONVERSATION_ID_LENGTH = 80
MAX_CHOICES = 20
MAX_TITLE_LENGTH = 200
MAX_PAYLOAD_LENGTH = 500
MAX_LATE_TEXTS = 20
# As long as Rasa keeps a conversation going (session_expiration_time in bot/domain.yml).
DEFAULT_CHOICES_TTL = timedelta(minutes=30)


@dataclass(frozen=True)
class Choice:
    """One button as offered: what the patient saw, and what selecting it sends to the bot."""

    title: str
    payload: str


def _checked_id(conversation_id: str) -> str:
    if (
        not isinstance(conversation_id, str)
        or not conversation_id.strip()
        or len(conversation_id) > MAX_CONVERSATION_ID_LENGTH
    ):
        raise InvalidInput(key="channel.conversation_invalid")
    return conversation_id


def _row(session: Session, conversation_id: str, now: datetime) -> SmsConversation:
    """The conversation's row, created if new and locked: two replicas may write at once."""
    return locked_row(
        session, SmsConversation, "conversation_id", conversation_id=conversation_id, updated_at=now
    )


def remember_choices(
    db: Database, conversation_id: str, choices: Sequence[Choice], *, now: datetime | None = None
) -> None:
    """The choices the latest reply offered, numbered from 1; an empty list forgets them."""
    with db.transaction() as session:
        remember_choices_in(session, conversation_id, choices, now=now or utcnow())


def remember_choices_in(
    session: Session, conversation_id: str, choices: Sequence[Choice], *, now: datetime
) -> None:
    """`remember_choices` inside the caller's transaction."""
    conversation_id = _checked_id(conversation_id)
    kept = [
        {"title": c.title[:MAX_TITLE_LENGTH], "payload": c.payload[:MAX_PAYLOAD_LENGTH]}
        for c in list(choices)[:MAX_CHOICES]
    ]
    row = _row(session, conversation_id, now)
    row.choices = json.dumps(kept) if kept else None
    row.choices_offered_at = now if kept else None
    row.updated_at = now


def offered_choices(
    db: Database,
    conversation_id: str,
    *,
    now: datetime | None = None,
    ttl: timedelta = DEFAULT_CHOICES_TTL,
) -> list[Choice]:
    """The choices still open in this conversation, in the order they were numbered."""
    with db.transaction() as session:
        return offered_in(session, conversation_id, now=now or utcnow(), ttl=ttl)


def offered_in(
    session: Session, conversation_id: str, *, now: datetime, ttl: timedelta = DEFAULT_CHOICES_TTL
) -> list[Choice]:
    """`offered_choices` inside the caller's transaction."""
    row = session.get(SmsConversation, _checked_id(conversation_id))
    if row is None or not row.choices or row.choices_offered_at is None:
        return []
    if now - row.choices_offered_at > ttl:
        return []
    return [Choice(str(c["title"]), str(c["payload"])) for c in json.loads(row.choices)]


def choice_for(
    db: Database,
    conversation_id: str,
    reply: str,
    *,
    now: datetime | None = None,
    ttl: timedelta = DEFAULT_CHOICES_TTL,
) -> Choice | None:
    """The choice a reply like "2" selects, or None: not a number, out of range, or too late."""
    if choice_number(reply) is None:
        return None
    with db.transaction() as session:
        return choice_in(session, conversation_id, reply, now=now or utcnow(), ttl=ttl)


def choice_in(
    session: Session,
    conversation_id: str,
    reply: str,
    *,
    now: datetime,
    ttl: timedelta = DEFAULT_CHOICES_TTL,
) -> Choice | None:
    """`choice_for` inside the caller's transaction."""
    number = choice_number(reply)
    if number is None:
        return None
    offered = offered_in(session, conversation_id, now=now, ttl=ttl)
    return offered[number - 1] if 1 <= number <= len(offered) else None


def hold_late_reply(
    db: Database, conversation_id: str, texts: Sequence[str], *, now: datetime | None = None
) -> None:
    """Keep what the bot said after Twilio's deadline, to go out with the next answer."""
    conversation_id = _checked_id(conversation_id)
    if not texts:
        return
    now = now or utcnow()
    with db.transaction() as session:
        row = _row(session, conversation_id, now)
        held = json.loads(row.late_reply) if row.late_reply else []
        row.late_reply = json.dumps((held + [str(t) for t in texts])[-MAX_LATE_TEXTS:])
        row.updated_at = now


def take_late_reply(
    db: Database, conversation_id: str, *, now: datetime | None = None
) -> list[str]:
    """The held late texts, oldest first, removed so they go out exactly once."""
    with db.transaction() as session:
        return take_late_reply_in(session, conversation_id, now=now or utcnow())


def take_late_reply_in(session: Session, conversation_id: str, *, now: datetime) -> list[str]:
    """`take_late_reply` inside the caller's transaction."""
    row = session.get(SmsConversation, _checked_id(conversation_id), with_for_update=True)
    if row is None or not row.late_reply:
        return []
    held = [str(t) for t in json.loads(row.late_reply)]
    row.late_reply = None
    row.updated_at = now
    return held
