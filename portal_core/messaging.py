"""Secure messages: who a message goes to, when a reply is due, and what is never filed.

Secure messages are read in business hours, so a message that describes an emergency or a
crisis is refused before anything is written (`EmergencyInMessage`) and the channel answers
with the emergency advice instead. Everything else is routed by `route`: to the primary care
manager (PCM), to one of the clinic's pools (nursing, administration, scheduling, pharmacy), or
to a named clinic's nurses. A request to correct the medical record always goes to the care
team, who can change the record, and never to technical support.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from difflib import get_close_matches
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal_core import access, audit, free_text, safety
from portal_core.actors import Actor
from portal_core.business_days import add_business_days
from portal_core.clock import now_or
from portal_core.config import Settings, load_settings
from portal_core.database import Database
from portal_core.errors import InvalidInput, PortalError, WithChoices
from portal_core.ids import require_id as _require_id
from portal_core.models import Clinic, Message, MessageThread, Patient, Provider
from portal_core.models.messaging import POOLS
from portal_core.proxy import Capability
from portal_core.safety import Finding
from understanding.text import normalise

MAX_BODY_CHARS = 4000
MAX_SUBJECT_CHARS = 160
MAX_RECIPIENT_CHARS = 200
MAX_THREADS = 100  # conversations listed at once
_HARD_CEILING = 100_000  # beyond this, not even the emergency check is worth running

CARE_TEAM = "care_team"  # the PCM, or the home clinic's nurses when there is no PCM
# Each category and where it goes when the person didn't say who to write to.
CATEGORIES: dict[str, str] = {
    "general": CARE_TEAM,
    "medical_question": CARE_TEAM,
    "test_results": CARE_TEAM,
    "record_correction": CARE_TEAM,
    "nurse_advice": "nursing",
    "appointment": "scheduling",
    "refill": "pharmacy",
    "pharmacy": "pharmacy",
    "billing": "administration",
    "records_request": "administration",
    "referral": "administration",
    "administrative": "administration",
}
CATEGORY_SUBJECTS = {
    "medical_question": "Medical question",
    "test_results": "Question about test results",
    "record_correction": "Correction to my medical record",
    "nurse_advice": "Question for the nurse",
    "appointment": "Appointment",
    "refill": "Prescription refill",
    "pharmacy": "Pharmacy question",
    "billing": "Billing question",
    "records_request": "Medical records request",
    "referral": "Referral question",
    "administrative": "Administrative question",
}
_POOL_CATEGORY = {
    "nursing": "medical_question",
    "administration": "administrative",
    "scheduling": "appointment",
    "pharmacy": "refill",
}
POOL_TEXT = {
    "nursing": "nursing team",
    "administration": "front desk (administration) team",
    "scheduling": "scheduling team",
    "pharmacy": "pharmacy team",
}

# What people call each recipient. Checked in this order.
_PCM_WORDS = re.compile(
    r"\b(?:pcm|primary care(?: manager| provider| doctor| physician)?|doctor|doc|dr|physician|"
    r"provider)\b"
)
_POOL_WORDS: dict[str, re.Pattern[str]] = {
    "nursing": re.compile(r"\b(?:nurse|nurses|nursing|triage|rn)\b"),
    "pharmacy": re.compile(r"\b(?:refill|refills|pharmacy|pharmacist|prescriptions?)\b"),
    "scheduling": re.compile(r"\b(?:appointments?|appts?|scheduling|schedule|scheduler|booking)\b"),
    "administration": re.compile(
        r"\b(?:front desk|billing|bills?|records|admin|administration|administrative|"
        r"reception|receptionist|paperwork)\b"
    ),
}
_TECH_SUPPORT = re.compile(
    r"\b(?:tech(?:nical)? support|it support|help ?desk|support|website|web site|login|log in|"
    r"password|app)\b"
)
# "My allergy list is wrong", "please fix my medication list", "update my medical record".
_RECORD_PART = (
    r"(?:allerg\w*|medication list|med list|medications? on (?:my|the) (?:list|record|chart)|"
    r"problem list|diagnos\w*|medical record|health record|my record|my chart|the chart|"
    r"immunization record|vaccine record|shot record|medical history)"
)
_WRONG = r"(?:wrong|incorrect|inaccurate|not right|isn'?t right|not correct|mistake|error|outdated)"
_FIX = r"(?:correct|correction|fix|update|amend|change|remove|delete|add)"
_CORRECTION = re.compile(
    rf"\b{_RECORD_PART}\b.{{0,80}}\b{_WRONG}\b|\b{_WRONG}\b.{{0,80}}\b{_RECORD_PART}\b|"
    rf"\b{_FIX}\b.{{0,40}}\b{_RECORD_PART}\b"
)
_STOPWORD_TEXT = (
    "to the my a an at in of for from please send message write with our your team clinic "
    "clinics office care someone anyone whoever hey hi hello thanks thank you and or me i "
    "it this that about on is can could want would like need needs main"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# ------------------------------------------------------------------------------------- errors


class EmergencyInMessage(PortalError):
    """The message describes an emergency or a crisis; `finding` says which and why.

    Said as the emergency answer of the finding's kind (`wording.catalogue.say_error`), the
    same words the assistant answers the emergency itself with, in the channel's words."""

    default_key = "messaging.emergency"

    def __init__(self, finding: Finding) -> None:
        super().__init__()
        self.finding = finding


class MessageTooLong(InvalidInput):
    default_key = "messaging.too_long"


class EmptyMessage(InvalidInput):
    default_key = "message.empty"


class UnknownRecipient(InvalidInput):
    default_key = "messaging.unknown_recipient"


class AmbiguousRecipient(WithChoices, InvalidInput):
    default_key = "clinics.which"
    choices: tuple[str, ...]


# -------------------------------------------------------------------------------------- views


@dataclass(frozen=True)
class Route:
    """Where a message goes: the PCM (`provider_id`) or a pool of a clinic."""

    recipient_kind: str  # pcm | pool
    provider_id: int | None
    clinic_id: int
    clinic_name: str
    time_zone: str
    pool: str | None
    category: str
    label: str  # "Dr. Kim, MD", "the nursing team at Family Medicine Clinic"


@dataclass(frozen=True)
class SentMessageView:
    thread_id: int
    message_id: int
    recipient: str
    recipient_kind: str
    pool: str | None
    clinic_name: str
    category: str
    subject: str
    sent_at: datetime
    reply_due_on: date


@dataclass(frozen=True)
class MessageView:
    message_id: int
    body: str
    sent_at: datetime
    from_patient_side: bool
    sender: str


@dataclass(frozen=True)
class ThreadView:
    thread_id: int
    recipient: str
    recipient_kind: str
    pool: str | None
    clinic_name: str
    category: str
    subject: str
    status: str
    created_at: datetime
    reply_due_on: date
    message_count: int
    last_message: MessageView | None
    awaiting_reply: bool
    overdue: bool


# ---------------------------------------------------------------------------------- services


def send_message(
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    to: str,
    body: str,
    category: str | None = None,
    subject: str | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> SentMessageView:
    """File a routine secure message and say by when the clinic will reply."""
    now = now_or(now)
    settings = settings or load_settings()
    patient_id = _require_id(patient_id)
    body = _clean(body, what="message")
    subject = _clean(subject, what="subject") if subject is not None else None
    to = _clean(to, what="recipient") if to is not None else ""
    # Emergencies first: before length limits, permissions or routing can get in the way.
    finding = safety.detect(f"{subject}\n{body}" if subject else body)
    if finding is not None:
        raise EmergencyInMessage(finding)
    if not body:
        raise EmptyMessage()
    if len(body) > MAX_BODY_CHARS:
        raise MessageTooLong(key="messaging.too_long_by", data={"length": len(body)})
    if subject is not None and len(subject) > MAX_SUBJECT_CHARS:
        raise InvalidInput(key="messaging.subject_too_long", data={"most": MAX_SUBJECT_CHARS})
    if len(to) > MAX_RECIPIENT_CHARS:
        raise UnknownRecipient()
    if category is not None and category not in CATEGORIES:
        raise InvalidInput(key="messaging.unknown_category")

    with db.transaction() as session:
        patient = access.require(session, actor, patient_id, Capability.MESSAGES, now=now)
        where = route(session, patient, to=to, category=category, body=body)
        today = now.astimezone(ZoneInfo(where.time_zone)).date()
        thread = MessageThread(
            patient_id=patient_id,
            recipient_kind=where.recipient_kind,
            provider_id=where.provider_id,
            clinic_id=where.clinic_id,
            pool=where.pool,
            category=where.category,
            subject=subject or _default_subject(where.category, body),
            status="open",
            priority="routine",
            created_at=now,
            reply_due_on=add_business_days(today, settings.message_reply_business_days),
        )
        message = Message(
            thread=thread,
            sender_patient_id=actor.patient_id,
            body=body,
            channel=actor.channel,
            sent_at=now,
        )
        session.add_all([thread, message])
        session.flush()
        audit.record(
            session,
            actor,
            subject_id=patient_id,
            action="send_message",
            resource="message_thread",
            resource_id=thread.id,
            detail=f"to={where.recipient_kind}:{where.pool or where.provider_id}; "
            f"category={where.category}",
            now=now,
        )
        return SentMessageView(
            thread_id=thread.id,
            message_id=message.id,
            recipient=where.label,
            recipient_kind=where.recipient_kind,
            pool=where.pool,
            clinic_name=where.clinic_name,
            category=where.category,
            subject=thread.subject,
            sent_at=now,
            reply_due_on=thread.reply_due_on,
        )


def preview_route(
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    to: str,
    category: str | None = None,
    now: datetime | None = None,
) -> Route:
    """Who a message would go to, so the assistant can confirm it before asking for the text."""
    now = now_or(now)
    patient_id = _require_id(patient_id)
    with db.transaction() as session:
        patient = access.require(session, actor, patient_id, Capability.MESSAGES, now=now)
        return route(session, patient, to=to, category=category)


def threads(
    db: Database, actor: Actor, patient_id: int, *, limit: int = 20, now: datetime | None = None
) -> list[ThreadView]:
    """Message threads, most recent activity first, each with its last message and due date."""
    now = now_or(now)
    patient_id = _require_id(patient_id)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_THREADS:
        raise InvalidInput(key="messaging.thread_limit", data={"most": MAX_THREADS})
    with db.transaction() as session:
        patient = access.require(session, actor, patient_id, Capability.MESSAGES, now=now)
        rows = list(
            session.scalars(
                select(MessageThread)
                .where(MessageThread.patient_id == patient_id)
                .options(
                    selectinload(MessageThread.messages),
                    selectinload(MessageThread.clinic),
                    selectinload(MessageThread.provider),
                )
            )
        )
        rows.sort(key=lambda t: (_last_activity(t), t.id), reverse=True)
        views = [_thread_view(session, t, patient, now) for t in rows[:limit]]
        audit.record_disclosure(
            session, actor, patient_id, "view_threads", "message_thread",
            [v.thread_id for v in views], now,
        )  # fmt: skip
    return views


# ------------------------------------------------------------------------------------ routing


def route(
    session: Session,
    patient: Patient,
    *,
    to: str,
    category: str | None = None,
    body: str = "",
) -> Route:
    """Decide who receives a message from what the person said (`to`) and what it is about.

    Order: record corrections go to the care team whatever was said; then the PCM (by role or
    name); then a named clinic (its nurses, or the pool named with it); then a pool by its
    words; then the category's default. Anything else is asked about rather than guessed.
    """
    said = normalise(to, possessives=True)
    if category == "record_correction" or _CORRECTION.search(
        f"{said} {normalise(body, possessives=True)}"
    ):
        return _care_team(session, patient, "record_correction")

    pool = next((name for name, words in _POOL_WORDS.items() if words.search(said)), None)
    asks_for_pcm = bool(_PCM_WORDS.search(said))
    leftover = _leftover_words(said)

    if leftover and patient.pcm is not None and _names_provider(leftover, patient.pcm):
        return _pcm(patient.pcm, category or "general")
    if leftover:
        clinic = _named_clinic(session, patient, leftover)
        if clinic is not None:
            chosen = pool or "nursing"
            return _pool(clinic, chosen, category or _POOL_CATEGORY[chosen])
    if asks_for_pcm:
        other = _other_provider_named(session, patient, leftover)
        if other is not None:
            if patient.pcm is None:
                raise UnknownRecipient(
                    key="messaging.not_to_provider_no_pcm",
                    data={"provider": other.display_name},
                )
            raise UnknownRecipient(
                key="messaging.not_to_provider",
                data={"provider": other.display_name, "pcm": patient.pcm.display_name},
            )
        return _care_team(session, patient, category or "general")
    if pool is not None:
        return _pool(_home_clinic(session, patient), pool, category or _POOL_CATEGORY[pool])
    if _TECH_SUPPORT.search(said):
        raise UnknownRecipient(key="messaging.portal_help")
    if leftover and category is None:
        raise UnknownRecipient()
    chosen_category = category or "general"
    default = CATEGORIES[chosen_category]
    if default == CARE_TEAM:
        return _care_team(session, patient, chosen_category)
    return _pool(_home_clinic(session, patient), default, chosen_category)


def _care_team(session: Session, patient: Patient, category: str) -> Route:
    if patient.pcm is not None:
        return _pcm(patient.pcm, category)
    return _pool(_home_clinic(session, patient), "nursing", category)


def _pcm(pcm: Provider, category: str) -> Route:
    return Route(
        recipient_kind="pcm",
        provider_id=pcm.id,
        clinic_id=pcm.clinic_id,
        clinic_name=pcm.clinic.name,
        time_zone=pcm.clinic.time_zone,
        pool=None,
        category=category,
        label=pcm.display_name,
    )


def _pool(clinic: Clinic, pool: str, category: str) -> Route:
    assert pool in POOLS
    return Route(
        recipient_kind="pool",
        provider_id=None,
        clinic_id=clinic.id,
        clinic_name=clinic.name,
        time_zone=clinic.time_zone,
        pool=pool,
        category=category,
        label=f"the {POOL_TEXT[pool]} at {clinic.name}",
    )


def _home_clinic(session: Session, patient: Patient) -> Clinic:
    if patient.home_clinic is not None:
        return patient.home_clinic
    if patient.pcm is not None:
        return patient.pcm.clinic
    raise UnknownRecipient(key="messaging.no_clinic")


def _leftover_words(said: str) -> list[str]:
    """The words left once the role, pool and filler words are taken out: names, if any."""
    rest = _PCM_WORDS.sub(" ", said)
    for words in _POOL_WORDS.values():
        rest = words.sub(" ", rest)
    return [w for w in rest.split() if w not in _STOPWORDS and len(w) >= 2]


def _name_words(text: str) -> list[str]:
    return [w for w in _leftover_words(normalise(text, possessives=True)) if len(w) >= 3]


def _names_provider(words: Sequence[str], provider: Provider) -> bool:
    names = _name_words(provider.name)
    return bool(names) and any(
        get_close_matches(word, names, n=1, cutoff=0.8) for word in words if len(word) >= 3
    )


def _other_provider_named(
    session: Session, patient: Patient, words: Sequence[str]
) -> Provider | None:
    if not words:
        return None
    for provider in session.scalars(select(Provider).order_by(Provider.id)):
        if provider.id != patient.pcm_id and _names_provider(words, provider):
            return provider
    return None


def _named_clinic(session: Session, patient: Patient, words: Sequence[str]) -> Clinic | None:
    """The clinic every leftover word names ("dermatology", "family medicine")."""
    matches = []
    for clinic in session.scalars(select(Clinic).order_by(Clinic.id)):
        names = _name_words(f"{clinic.name} {clinic.service}")
        if names and all(get_close_matches(w, names, n=1, cutoff=0.8) for w in words):
            matches.append(clinic)
    if len(matches) > 1 and patient.home_clinic is not None:
        same_facility = [c for c in matches if c.facility == patient.home_clinic.facility]
        matches = same_facility or matches
    if len(matches) > 1:
        choices = [f"{c.name} ({c.facility})" for c in matches]
        raise AmbiguousRecipient(
            key="messaging.which_clinic_of", data={"choices": choices}, choices=choices
        )
    return matches[0] if matches else None


# ------------------------------------------------------------------------------------ helpers


def _thread_view(
    session: Session, thread: MessageThread, patient: Patient, now: datetime
) -> ThreadView:
    last = thread.messages[-1] if thread.messages else None
    awaiting = thread.status == "open" and (last is None or last.sender_provider_id is None)
    today = now.astimezone(ZoneInfo(thread.clinic.time_zone)).date()
    recipient = (
        thread.provider.display_name
        if thread.recipient_kind == "pcm" and thread.provider is not None
        else f"the {POOL_TEXT.get(thread.pool or '', 'care team')} at {thread.clinic.name}"
    )
    return ThreadView(
        thread_id=thread.id,
        recipient=recipient,
        recipient_kind=thread.recipient_kind,
        pool=thread.pool,
        clinic_name=thread.clinic.name,
        category=thread.category,
        subject=thread.subject,
        status=thread.status,
        created_at=thread.created_at,
        reply_due_on=thread.reply_due_on,
        message_count=len(thread.messages),
        last_message=_message_view(session, last) if last is not None else None,
        awaiting_reply=awaiting,
        overdue=awaiting and thread.reply_due_on < today,
    )


def _message_view(session: Session, message: Message) -> MessageView:
    if message.sender_provider_id is not None:
        provider = session.get(Provider, message.sender_provider_id)
        sender = provider.display_name if provider is not None else "your care team"
    else:
        person = session.get(Patient, message.sender_patient_id)
        sender = person.full_name if person is not None else "you"
    return MessageView(
        message_id=message.id,
        body=message.body,
        sent_at=message.sent_at,
        from_patient_side=message.sender_provider_id is None,
        sender=sender,
    )


def _last_activity(thread: MessageThread) -> datetime:
    return thread.messages[-1].sent_at if thread.messages else thread.created_at


def _default_subject(category: str, body: str) -> str:
    if category in CATEGORY_SUBJECTS:
        return CATEGORY_SUBJECTS[category]
    first_line = " ".join(body.split())
    return first_line if len(first_line) <= 60 else first_line[:59].rstrip() + "…"


def _clean(text: object, *, what: str) -> str:
    """The text without control characters (`free_text.clean`), trimmed."""
    if not isinstance(text, str):
        raise InvalidInput(key="messaging.unreadable", data={"what": what})
    if len(text) > _HARD_CEILING:
        raise MessageTooLong()
    return free_text.clean(text).strip()
