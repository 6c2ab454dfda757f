"""STOP, START and HELP by text, as US carriers (CTIA) require of every SMS program.

A number that texts STOP (or a synonym) gets a single confirmation and then nothing more until it
texts START (or a synonym); HELP is always answered with who we are and how to reach a person.
(What each keyword gets in reply is worded in `wording.catalogue`, `sms.*`.)
The keywords are matched on the whole message, as carriers and Twilio do, so "stop" opts out
but "stop my refill" goes to the assistant. The opt-out belongs to the phone number, not to a
conversation or a patient, and is stored so every replica (and any future reminder sender, which
must call `is_opted_out`) honours it; each change is audited.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel_state.models import SmsOptOut
from portal_core import audit
from portal_core.clock import utcnow
from portal_core.database import Database, locked_row
from portal_core.identity import normalize_phone
from portal_core.models import Patient


class Keyword(enum.Enum):
    STOP = "stop"
    START = "start"
    HELP = "help"


# Twilio's default opt-out keyword lists, which follow the carriers'.
_KEYWORDS: dict[str, Keyword] = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"),
        Keyword.STOP,
    ),
    **dict.fromkeys(("START", "YES", "UNSTOP"), Keyword.START),
    **dict.fromkeys(("HELP", "INFO"), Keyword.HELP),
}
_WORD = re.compile(r"\s*([A-Za-z]+)[\s.!]*")


@dataclass(frozen=True)
class OptOutState:
    phone: str
    opted_out: bool
    keyword: str | None
    changed_at: datetime | None


def keyword_of(text: str) -> tuple[Keyword, str] | None:
    """The carrier keyword a whole message is (with the word as sent, upper-cased), or None."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    match = _WORD.fullmatch(text)
    if not match:
        return None
    word = match[1].upper()
    found = _KEYWORDS.get(word)
    return (found, word) if found else None


def is_opted_out(db: Database, phone: str) -> bool:
    """Whether texts to `phone` must stop; call before sending anything to a number."""
    return state(db, phone).opted_out


def state(db: Database, phone: str) -> OptOutState:
    with db.transaction() as session:
        return state_in(session, phone)


def state_in(session: Session, phone: str) -> OptOutState:
    """`state` inside the caller's transaction (the SMS turn claims and reads in one)."""
    number = normalize_phone(phone)
    row = session.get(SmsOptOut, number)
    if row is None:
        return OptOutState(number, False, None, None)
    return OptOutState(number, row.opted_out, row.keyword, row.changed_at)


def opt_out(db: Database, phone: str, keyword: str, *, now: datetime | None = None) -> bool:
    """Stop texting `phone`; True when this changed anything (a repeated STOP does not)."""
    return _set(db, phone, True, keyword, now or utcnow())


def opt_in(db: Database, phone: str, keyword: str, *, now: datetime | None = None) -> bool:
    """Texting `phone` may resume; True when it had opted out."""
    return _set(db, phone, False, keyword, now or utcnow())


def _set(db: Database, phone: str, opted_out: bool, keyword: str, now: datetime) -> bool:
    number = normalize_phone(phone)
    word = str(keyword).upper()[:20]
    with db.transaction() as session:
        # A number never seen is opted in; the row exists from here on so it can be locked.
        row = locked_row(
            session, SmsOptOut, "phone", phone=number, opted_out=False, keyword=word, changed_at=now
        )
        if row.opted_out == opted_out:
            return False
        row.opted_out, row.keyword, row.changed_at = opted_out, word, now
        audit.record(
            session,
            None,
            subject_id=_only_patient_on(session, number),
            action="sms_opt_out" if opted_out else "sms_opt_in",
            resource="sms_preferences",
            resource_id=masked(number),
            detail=f"keyword {word}",
            channel="sms",
            now=now,
        )
        return True


def _only_patient_on(session: Session, phone: str) -> int | None:
    """The patient the number belongs to when there is exactly one (a family may share it)."""
    ids = list(session.scalars(select(Patient.id).where(Patient.phone == phone).limit(2)))
    return ids[0] if len(ids) == 1 else None


def masked(phone: str) -> str:
    """`***-***-0100`: enough to tell numbers apart in the audit log, not to dial one."""
    return f"***-***-{phone[-4:]}"
