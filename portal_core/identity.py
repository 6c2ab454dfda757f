"""Proving who is on the phone before the bot says anything about their health.

A caller or texter is known only by their phone number, which a whole family may share. They
prove who they are with their date of birth and the last four digits of their DoD ID; the pair
must match one person on that phone. Guessing is limited per phone: after a few wrong tries the
phone is locked for a while. A verified conversation stays verified only on the channel and the
number it was verified from, and only until it sits idle too long or reaches its absolute
lifetime, whatever the activity: a conversation id is guessable, a phone's possession is not.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal_core import access, audit
from portal_core.actors import CHANNELS, Actor
from portal_core.clock import utcnow
from portal_core.config import Settings, load_settings
from portal_core.database import Database, locked_row
from portal_core.errors import InvalidInput, LockedOut, PortalError, VerificationFailed
from portal_core.models import Patient, PhoneLockout, SecurityAlert, VerifiedSession
from understanding import numbers

VERIFY_CHANNELS = ("sms", "voice", "web")
MAX_SESSION_KEY_LENGTH = 80
MAX_PHONE_LENGTH = 40
MAX_DATE_LENGTH = 60
EARLIEST_BIRTH_YEAR = 1900
# A lockout that starts within this long of the previous one's end doubles it, up to the cap.
REPEAT_WINDOW = timedelta(hours=24)
MAX_LOCKOUT = timedelta(hours=24)


# --- Errors and views --------------------------------------------------------------------


class DetailsDoNotMatch(VerificationFailed):
    """Wrong details, counted against the phone; `attempts_left` before it locks."""

    def __init__(self, attempts_left: int) -> None:
        self.attempts_left = attempts_left
        super().__init__(key="identity.details_wrong", data={"attempts_left": attempts_left})


class PhoneLocked(LockedOut):
    """The phone is locked until `locked_until`; correct details don't help until then."""

    def __init__(self, locked_until: datetime, now: datetime) -> None:
        self.locked_until = locked_until
        super().__init__(key="identity.locked", data={"wait": locked_until - now})


@dataclass(frozen=True)
class VerifiedIdentity:
    patient_id: int
    first_name: str
    assurance_level: str
    channel: str
    session_key: str
    verified_at: datetime
    phone: str

    @property
    def actor(self) -> Actor:
        return Actor(self.patient_id, self.channel, session=self.session_key)

    @property
    def is_premium(self) -> bool:
        return access.is_premium(self.assurance_level)


# --- Phone numbers -----------------------------------------------------------------------

_PHONE_SEPARATORS = re.compile(r"[\s().\-/]")
_NANP = re.compile(r"[2-9]\d{2}[2-9]\d{6}")


def normalize_phone(raw: str) -> str:
    """E.164 (`+12545550100`). Numbers without a country code are taken as US (NANP) numbers."""
    bad = InvalidInput(key="identity.not_a_phone")
    if not isinstance(raw, str) or len(raw) > MAX_PHONE_LENGTH:
        raise bad
    text = raw.strip()
    if text.lower().startswith("tel:"):
        text = text[4:]
    compact = _PHONE_SEPARATORS.sub("", text)
    if compact.startswith("+"):
        digits = compact[1:]
        if not digits.isascii() or not digits.isdigit() or not 8 <= len(digits) <= 15:
            raise bad
        if digits.startswith("1") and not _NANP.fullmatch(digits[1:]):
            raise bad
        if digits.startswith("0"):
            raise bad
        return f"+{digits}"
    if not compact.isascii() or not compact.isdigit():
        raise bad
    if len(compact) == 11 and compact.startswith("1"):
        compact = compact[1:]
    if not _NANP.fullmatch(compact):
        raise bad
    return f"+1{compact}"


def candidates_for_phone(db: Database, phone: str) -> int:
    """How many patients use this phone: enough to ask "whose record?" without naming anyone."""
    number = normalize_phone(phone)
    with db.transaction() as session:
        return session.scalar(select(func.count(Patient.id)).where(Patient.phone == number)) or 0


# --- Dates of birth ----------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "january jan",
            "february feb",
            "march mar",
            "april apr",
            "may",
            "june jun",
            "july jul",
            "august aug",
            "september sept sep",
            "october oct",
            "november nov",
            "december dec",
        ),
        start=1,
    )
    for name in names.split()
}
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_NUMERIC = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})")
_KEYPAD = re.compile(r"\d{8}")
_MONTH_FIRST = re.compile(r"([a-z]+) (\d{1,2}) (\d{2}|\d{4})")
_DAY_FIRST = re.compile(r"(\d{1,2}) ([a-z]+) (\d{2}|\d{4})")


def parse_date_of_birth(value: str | date, *, today: date | None = None) -> date:
    """A date of birth as people say or type it; US order (month first) for numbers.

    Accepts ISO (1985-06-15), 06/15/1985 (and with - or .), "June 15 1985", "June 15th, 1985",
    "15 June 1985", and eight keypad digits MMDDYYYY. A numeric date whose first part can't be a
    month (15/06/1985) is read day first, as someone from overseas would mean it. A two-digit
    year ("9/17/84", as people text it) is the one year ending in those digits in the hundred
    years up to today: only a centenarian would be misread, and they can give all four digits.
    """
    today = today or utcnow().date()
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return _check_birth_date(value, today)
    if not isinstance(value, str) or len(value) > MAX_DATE_LENGTH:
        raise InvalidInput(key="identity.date_unreadable")
    year, month, day = _date_parts(value)
    if year < 100:
        year = _full_year(year, today)
    try:
        born = date(year, month, day)
    except ValueError:
        raise _impossible(year, month, day) from None
    return _check_birth_date(born, today)


def _full_year(two_digits: int, today: date) -> int:
    """The year ending in `two_digits` in (today.year - 100, today.year]."""
    year = today.year - (today.year - two_digits) % 100
    return year if year > today.year - 100 else year + 100


def _impossible(year: int, month: int, day: int) -> InvalidInput:
    if 1 <= month <= 12 and 1 <= year <= 9999:
        return InvalidInput(
            key="identity.no_such_day",
            data={"month": date(year, month, 1), "year": year, "day": day},
        )
    return InvalidInput(key="identity.not_a_date")


def _date_parts(value: str) -> tuple[int, int, int]:
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", value.strip().lower())
    text = numbers.spoken_date(text, _MONTHS)
    compact = "".join(text.split())  # a voice keypad or speech engine may space the digits
    if _KEYPAD.fullmatch(compact):
        return int(compact[4:]), int(compact[:2]), int(compact[2:4])
    if match := _ISO.fullmatch(compact):
        return int(match[1]), int(match[2]), int(match[3])
    if match := _NUMERIC.fullmatch(compact):
        first, second, year = int(match[1]), int(match[2]), int(match[3])
        if first > 12 and second <= 12:
            first, second = second, first
        return year, first, second
    spoken = " ".join(re.sub(r"\bof\b|[,.]", " ", text).split())
    if (match := _MONTH_FIRST.fullmatch(spoken)) and match[1] in _MONTHS:
        return int(match[3]), _MONTHS[match[1]], int(match[2])
    if (match := _DAY_FIRST.fullmatch(spoken)) and match[2] in _MONTHS:
        return int(match[3]), _MONTHS[match[2]], int(match[1])
    raise InvalidInput(key="identity.date_unreadable")


def _check_birth_date(born: date, today: date) -> date:
    if born > today or born.year < EARLIEST_BIRTH_YEAR:
        raise InvalidInput(key="identity.birth_date_wrong")
    return born


def _parse_last4(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value) if isinstance(value, str) and len(value) <= 20 else ""
    if not re.fullmatch(r"[0-9]{4}", digits):
        raise InvalidInput(key="identity.last4_needed")
    return digits


def _check_session_key(session_key: str) -> str:
    if (
        not isinstance(session_key, str)
        or not session_key.strip()
        or len(session_key) > MAX_SESSION_KEY_LENGTH
    ):
        raise InvalidInput(key="identity.start_again")
    return session_key


# --- Verification ------------------------------------------------------------------------


def verify(
    db: Database,
    phone: str,
    session_key: str,
    channel: str,
    date_of_birth: str | date,
    dod_last4: str,
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> VerifiedIdentity:
    """Match the details to one patient on this phone and mark the conversation verified.

    Input that can't be a date or a last-four is refused with `InvalidInput` and does not count
    as a failure (a typo is not a guess). Wrong details count against the phone; the attempt that
    reaches `settings.lockout_attempts` locks it for `settings.lockout_minutes`, twice as long
    for each further lockout within a day (`lockout_length`), with an operator alert from the
    second on. Failures older than `lockout_minutes` are forgiven: the limit is on a burst of
    guessing. The counter, the alert and the audit entry are committed before the call raises,
    so a failure is never lost.
    """
    settings = settings or load_settings()
    now = now or utcnow()
    number = normalize_phone(phone)
    session_key = _check_session_key(session_key)
    if channel not in VERIFY_CHANNELS:
        raise InvalidInput(key="identity.wrong_channel")
    born = parse_date_of_birth(date_of_birth, today=now.date())
    last4 = _parse_last4(dod_last4)
    with db.transaction() as session:
        outcome = _attempt(session, number, session_key, channel, born, last4, now, settings)
    if isinstance(outcome, PortalError):
        raise outcome
    return outcome


def _attempt(
    session: Session,
    phone: str,
    session_key: str,
    channel: str,
    born: date,
    last4: str,
    now: datetime,
    settings: Settings,
) -> VerifiedIdentity | PortalError:
    lockout = _lock_row(session, phone)
    window = timedelta(minutes=settings.lockout_minutes)
    on_phone = list(session.scalars(select(Patient).where(Patient.phone == phone)))
    only = on_phone[0].id if len(on_phone) == 1 else None

    def log(outcome: str, detail: str, patient: Patient | None = None) -> None:
        audit.record(
            session,
            Actor(patient.id, channel, session=session_key) if patient else None,
            subject_id=patient.id if patient else only,
            action="verify",
            resource="identity",
            resource_id=_masked_phone(phone),
            outcome=outcome,
            detail=detail,
            channel=channel,
            conversation_id=session_key,
            now=now,
        )

    if lockout.locked_until is not None:
        if now < lockout.locked_until:
            log("locked", f"attempt while locked until {lockout.locked_until.isoformat()}")
            return PhoneLocked(lockout.locked_until, now)
        lockout.failed_attempts, lockout.locked_until = 0, None  # the lockout has run out
    elif lockout.last_failure_at is not None and now - lockout.last_failure_at >= window:
        lockout.failed_attempts = 0  # old mistakes don't leave someone one typo from a lockout

    matches = _matching(on_phone, born, last4)
    if len(matches) == 1:
        patient = matches[0]
        lockout.failed_attempts, lockout.last_failure_at = 0, None
        identity = _start_session(session, patient, session_key, channel, phone, now)
        log("ok", "verified", patient)
        return identity
    if len(matches) > 1:
        # Two people on one phone with the same birthday and last four: the details can't
        # tell them apart, and that is no one's mistake, so it is not counted as a failure.
        log("failed", "details match more than one patient")
        return VerificationFailed(key="identity.cannot_confirm")

    def alert(row: PhoneLockout, length: timedelta) -> None:
        _raise_lockout_alert(
            session,
            row,
            length,
            subject_id=only,
            channel=channel,
            session_key=session_key,
            now=now,
        )

    return _count_failure(lockout, now, settings, log, alert)


def lockout_length(base_minutes: int, lockouts: int) -> timedelta:
    """How long the `lockouts`-th lockout of a streak lasts: the configured minutes, then twice
    as long each time the number is locked again within a day, at most MAX_LOCKOUT.

    A fixed 30-minute lockout allows three guesses every half hour, 144 a day, forever;
    doubling leaves about 18 on the first day and 3 a day after that.
    """
    doublings = min(max(lockouts, 1) - 1, 16)  # 2**16 half hours is far past the cap anyway
    return min(timedelta(minutes=base_minutes) * 2**doublings, MAX_LOCKOUT)


def _count_failure(
    lockout: PhoneLockout,
    now: datetime,
    settings: Settings,
    log: Callable[[str, str], None],
    alert: Callable[[PhoneLockout, timedelta], None],
) -> PortalError:
    """One more wrong guess for the phone; the one that reaches the limit starts the lockout.

    A lockout that starts within REPEAT_WINDOW of the previous one's end continues its streak
    and lasts twice as long; from the second in a streak on, operators get an alert.
    """
    lockout.failed_attempts += 1
    lockout.last_failure_at = now
    if lockout.failed_attempts < settings.lockout_attempts:
        log("failed", f"failure {lockout.failed_attempts} of {settings.lockout_attempts}")
        return DetailsDoNotMatch(settings.lockout_attempts - lockout.failed_attempts)
    previous_end = lockout.last_locked_until
    repeated = previous_end is not None and now - previous_end < REPEAT_WINDOW
    lockout.lockouts = (lockout.lockouts or 0) + 1 if repeated else 1
    length = lockout_length(settings.lockout_minutes, lockout.lockouts)
    lockout.locked_until = lockout.last_locked_until = now + length
    minutes = int(length.total_seconds() // 60)
    log(
        "failed",
        f"failure {lockout.failed_attempts}; lockout {lockout.lockouts} in a row, "
        f"locked for {minutes} min",
    )
    if lockout.lockouts >= 2:
        alert(lockout, length)
    return PhoneLocked(lockout.locked_until, now)


def _raise_lockout_alert(
    session: Session,
    lockout: PhoneLockout,
    length: timedelta,
    *,
    subject_id: int | None,
    channel: str,
    session_key: str,
    now: datetime,
) -> None:
    """A security alert operators can list, audited in the same transaction as the lockout."""
    masked = _masked_phone(lockout.phone)
    assert lockout.locked_until is not None  # just set by the caller
    alert = SecurityAlert(
        raised_at=now,
        kind="repeated_lockout",
        phone=lockout.phone,
        detail=(
            f"{masked} locked out again within 24 h of its last lockout ending "
            f"(lockout {lockout.lockouts} in a row, now {int(length.total_seconds() // 60)} "
            f"min, until {lockout.locked_until.isoformat()}); attempts came by {channel}. "
            "Someone may be guessing this number's details, or locking its owner out."
        ),
    )
    session.add(alert)
    session.flush()
    audit.record(
        session,
        None,
        subject_id=subject_id,
        action="security_alert",
        resource="identity",
        resource_id=masked,
        outcome="alert",
        detail=f"alert {alert.id}: repeated_lockout, lockout {lockout.lockouts} in a row",
        channel=channel,
        conversation_id=session_key,
        now=now,
    )


def _lock_row(session: Session, phone: str) -> PhoneLockout:
    """The phone's counter, created if new and row-locked so concurrent guesses queue up."""
    return locked_row(session, PhoneLockout, "phone", phone=phone, failed_attempts=0)


def _matching(on_phone: list[Patient], born: date, last4: str) -> list[Patient]:
    """Every candidate is compared, in constant time, so timing doesn't reveal which was close."""
    matches = []
    for patient in on_phone:
        same_last4 = hmac.compare_digest(patient.dod_id[-4:].encode(), last4.encode())
        if same_last4 and patient.date_of_birth == born:
            matches.append(patient)
    return matches


def _masked_phone(phone: str) -> str:
    """Enough to tie an audit entry to a lockout with the patient's help, not to call them."""
    return f"phone ...{phone[-4:]}"


def _start_session(
    session: Session, patient: Patient, session_key: str, channel: str, phone: str, now: datetime
) -> VerifiedIdentity:
    row = session.get(VerifiedSession, session_key)
    if row is None:
        row = VerifiedSession(session_key=session_key)
        session.add(row)
    row.patient_id, row.channel, row.phone = patient.id, channel, phone
    row.verified_at = row.last_seen_at = now
    return _identity(row, patient)


def _identity(row: VerifiedSession, patient: Patient) -> VerifiedIdentity:
    return VerifiedIdentity(
        patient_id=patient.id,
        first_name=patient.first_name,
        assurance_level=patient.assurance_level,
        channel=row.channel,
        session_key=row.session_key,
        verified_at=row.verified_at,
        phone=row.phone,
    )


# --- Sessions ----------------------------------------------------------------------------


def current_identity(
    db: Database,
    session_key: str,
    *,
    channel: str,
    phone: str | None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> VerifiedIdentity | None:
    """Who this conversation proved to be, asked from `channel` by the holder of `phone`.

    None, and the session deleted so it can't come back to life, when the request comes from
    another channel or another number than the verification did (someone naming a conversation
    id they guessed; audited, since it is an attack or a bug), when the session has sat idle
    past `session_idle_minutes`, or when it is `session_max_minutes` old, however busy it was:
    a session kept alive by polling must still end. Each successful use counts as activity.
    """
    settings = settings or load_settings()
    now = now or utcnow()
    session_key = _check_session_key(session_key)
    with db.transaction() as session:
        row = session.get(VerifiedSession, session_key)
        if row is None:
            return None
        mismatch = _mismatch(row, channel, phone)
        if mismatch is not None:
            audit.record(
                session,
                None,
                subject_id=row.patient_id,
                action="use_session",
                resource="identity",
                resource_id=_masked_phone(row.phone),
                outcome="refused",
                detail=f"{mismatch}; the session was ended",
                channel=channel if channel in CHANNELS else "system",
                conversation_id=session_key,
                now=now,
            )
            session.delete(row)
            return None
        idle = now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
        too_old = now - row.verified_at >= timedelta(minutes=settings.session_max_minutes)
        if idle or too_old:
            session.delete(row)
            return None
        row.last_seen_at = max(row.last_seen_at, now)
        patient = session.get(Patient, row.patient_id)
        assert patient is not None  # foreign key
        return _identity(row, patient)


def _mismatch(row: VerifiedSession, channel: str, phone: str | None) -> str | None:
    """Why this request may not use the session, or None when it comes from where it was made."""
    if channel != row.channel:
        return f"asked from channel {str(channel)[:12]!r}, verified on {row.channel!r}"
    try:
        number = normalize_phone(phone) if phone is not None else None
    except InvalidInput:
        number = None
    if number is None or not hmac.compare_digest(number.encode(), row.phone.encode()):
        return "asked from another phone number"
    return None


def end_session(db: Database, session_key: str, *, now: datetime | None = None) -> bool:
    """Forget the verification ("log out"); returns whether there was one to end."""
    session_key = _check_session_key(session_key)
    with db.transaction() as session:
        row = session.get(VerifiedSession, session_key)
        if row is None:
            return False
        audit.record(
            session,
            Actor(row.patient_id, row.channel, session=row.session_key),
            subject_id=row.patient_id,
            action="end_session",
            resource="identity",
            now=now,
        )
        session.delete(row)
    return True
