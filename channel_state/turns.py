"""A Twilio turn's bookkeeping in two transactions: one before the bot runs, one after.

Before the bot sees a text the SMS channel needs the delivery claimed (a retry replays the
stored answer), the number's opt-out, the choice a "2" stands for and any late reply held for
this conversation; a call step needs the claim, the choices offered and the late reply.
Afterwards both store the choices the answer offers and the answer itself, for retries. Done
one call at a time that was six transactions a text and five a call step, each its own trip off
the event loop; on PostgreSQL under load those trips were a visible part of the Twilio answer
time (`eval/load_bench.py`). Together they are two, with the same rules as the single calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from channel_state import conversations, deliveries, opt_out
from channel_state.conversations import Choice
from channel_state.deliveries import Claim
from portal_core.clock import utcnow
from portal_core.config import Settings
from portal_core.database import Database


@dataclass(frozen=True)
class Opening:
    """What the channel knows before the bot runs; everything but the claim is read only for a
    fresh delivery.

    SMS: `opted_out`, and `choice` and `late` only for an ordinary text of a number that hasn't
    opted out (a carrier keyword is answered by the channel). Voice: `offered` and `late`."""

    claim: Claim
    opted_out: bool = False
    choice: Choice | None = None
    offered: list[Choice] = field(default_factory=list)
    late: list[str] = field(default_factory=list)


def open_text(
    db: Database,
    *,
    key: str,
    conversation_id: str,
    phone: str,
    text: str,
    keyword: bool,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> Opening:
    """Claim delivery `key` and read what the turn needs, in one transaction.

    The late reply is taken (removed) here, so it goes out with exactly this answer."""
    now = now or utcnow()
    with deliveries.claiming(db, key, "sms", conversation_id, now=now, settings=settings) as (
        session,
        claim,
    ):
        if not claim.fresh:
            return Opening(claim)
        opted_out = opt_out.state_in(session, phone).opted_out
        if opted_out or keyword or not text:
            return Opening(claim, opted_out)
        return Opening(
            claim,
            opted_out=False,
            choice=conversations.choice_in(session, conversation_id, text, now=now),
            late=conversations.take_late_reply_in(session, conversation_id, now=now),
        )


def open_call_step(
    db: Database,
    *,
    key: str,
    conversation_id: str,
    take_late: bool,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> Opening:
    """Claim call step `key` and read the choices still offered, in one transaction; with
    `take_late` (the caller said or keyed something), also take the held late reply."""
    now = now or utcnow()
    with deliveries.claiming(db, key, "voice", conversation_id, now=now, settings=settings) as (
        session,
        claim,
    ):
        if not claim.fresh:
            return Opening(claim)
        late = (
            conversations.take_late_reply_in(session, conversation_id, now=now) if take_late else []
        )
        return Opening(
            claim, offered=conversations.offered_in(session, conversation_id, now=now), late=late
        )


def close_turn(
    db: Database,
    *,
    key: str,
    conversation_id: str,
    choices: Sequence[Choice] | None,
    response: str,
    now: datetime | None = None,
) -> None:
    """Remember the choices the answer offered (None keeps the earlier ones: a "try again"
    must leave "2" meaning what it meant) and store the answer for retries, in one transaction.
    """
    now = now or utcnow()
    with db.transaction() as session:
        if choices is not None:
            conversations.remember_choices_in(session, conversation_id, choices, now=now)
        deliveries.complete_in(session, key, response, now=now)
