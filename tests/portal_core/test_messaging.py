"""Secure messages: routing, reply-by dates in business days, limits, privacy and emergencies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from portal_core import audit, messaging, safety
from portal_core.actors import Actor
from portal_core.config import Settings
from portal_core.database import Database
from portal_core.errors import AccessDenied, InvalidInput, PatientNotFound
from portal_core.messaging import (
    AmbiguousRecipient,
    EmergencyInMessage,
    EmptyMessage,
    MessageTooLong,
    UnknownRecipient,
)
from portal_core.models import Message, MessageThread
from tests.factories import make_clinic, make_family, make_patient, make_provider
from wording.catalogue import say_error

# Wednesday 25 November 2026, 15:00 UTC (09:00 in Texas), the day before Thanksgiving.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
SETTINGS = Settings()


@dataclass
class World:
    patient: int
    no_pcm_patient: int
    pcm: int
    home_clinic: int
    dermatology: int
    other_doctor: str


@pytest.fixture
def world(db: Database) -> World:
    with db.transaction() as s:
        home = make_clinic(s, name="Family Medicine Clinic")
        derm = make_clinic(s, name="Dermatology Clinic")
        pcm = make_provider(s, home, name="Dr. Sarah Kim")
        other = make_provider(s, derm, name="Dr. Omar Haddad")
        patient = make_patient(s, pcm=pcm, clinic=home)
        orphan = make_patient(s, first_name="Nia", clinic=home)
        return World(patient.id, orphan.id, pcm.id, home.id, derm.id, other.name)


def send(db: Database, world: World, **kwargs: object) -> messaging.SentMessageView:
    kwargs.setdefault("to", "my doctor")
    kwargs.setdefault("body", "Is it okay to take ibuprofen with my new medication?")
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("settings", SETTINGS)
    patient = kwargs.pop("patient", world.patient)
    actor = kwargs.pop("actor", Actor(patient, "sms"))  # type: ignore[arg-type]
    return messaging.send_message(db, actor, patient, **kwargs)  # type: ignore[arg-type]


def thread_count(db: Database) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count(MessageThread.id)))


# ------------------------------------------------------------------------------------ routing


@pytest.mark.parametrize("to", ["my PCM", "my doctor", "Dr. Kim", "kim", "doctor kim", ""])
def test_to_the_pcm(db: Database, world: World, to: str) -> None:
    sent = send(db, world, to=to)
    assert sent.recipient_kind == "pcm" and sent.pool is None
    assert sent.recipient == "Dr. Sarah Kim, MD"
    with db.transaction() as s:
        assert s.get(MessageThread, sent.thread_id).provider_id == world.pcm


@pytest.mark.parametrize(
    ("to", "category", "pool"),
    [
        ("nurse", None, "nursing"),
        ("the nurses", None, "nursing"),
        ("front desk", None, "administration"),
        ("billing", None, "administration"),
        ("medical records", None, "administration"),
        ("appointment desk", None, "scheduling"),
        ("refill", None, "pharmacy"),
        ("pharmacy", None, "pharmacy"),
        ("", "appointment", "scheduling"),
        ("", "refill", "pharmacy"),
        ("", "billing", "administration"),
        ("someone", "records_request", "administration"),
    ],
)
def test_to_a_pool_of_the_home_clinic(
    db: Database, world: World, to: str, category: str | None, pool: str
) -> None:
    sent = send(db, world, to=to, category=category)
    assert (sent.recipient_kind, sent.pool) == ("pool", pool)
    assert sent.clinic_name == "Family Medicine Clinic"
    with db.transaction() as s:
        assert s.get(MessageThread, sent.thread_id).clinic_id == world.home_clinic


def test_the_word_said_wins_over_the_category(db: Database, world: World) -> None:
    sent = send(db, world, to="nurse", category="refill")
    assert sent.pool == "nursing" and sent.category == "refill"


def test_a_named_clinic_goes_to_its_nurses_or_named_pool(db: Database, world: World) -> None:
    sent = send(db, world, to="Dermatology")
    assert (sent.pool, sent.clinic_name) == ("nursing", "Dermatology Clinic")
    sent = send(db, world, to="dermatolgy clinic front desk")
    assert (sent.pool, sent.clinic_name) == ("administration", "Dermatology Clinic")


def test_same_named_clinics_prefer_the_home_facility(db: Database, world: World) -> None:
    with db.transaction() as s:
        make_clinic(s, name="Dermatology Clinic").facility = "Naval Hospital Okinawa"
    sent = send(db, world, to="dermatology")
    with db.transaction() as s:
        assert s.get(MessageThread, sent.thread_id).clinic_id == world.dermatology
    with db.transaction() as s:
        make_clinic(s, name="Dermatology Clinic")  # a second one at the home facility
    with pytest.raises(AmbiguousRecipient) as err:
        send(db, world, to="dermatology clinic")
    assert len(err.value.choices) == 2


@pytest.mark.parametrize(
    ("to", "body", "category"),
    [
        ("tech support", "My allergy list is wrong, I'm not allergic to penicillin.", None),
        ("help desk", "Please fix my medication list, I stopped metformin.", None),
        ("medical records", "Please add penicillin to my allergy list", None),
        ("front desk", "Something on my chart", "record_correction"),
    ],
)
def test_record_corrections_go_to_the_care_team(
    db: Database, world: World, to: str, body: str, category: str | None
) -> None:
    sent = send(db, world, to=to, body=body, category=category)
    assert sent.recipient_kind == "pcm" and sent.category == "record_correction"
    assert sent.subject == "Correction to my medical record"


def test_record_correction_without_a_pcm_goes_to_the_nurses(db: Database, world: World) -> None:
    sent = send(
        db, world, patient=world.no_pcm_patient, to="support", body="My allergy list is wrong"
    )
    assert (sent.recipient_kind, sent.pool) == ("pool", "nursing")


def test_my_doctor_without_a_pcm_goes_to_the_nurses(db: Database, world: World) -> None:
    sent = send(db, world, patient=world.no_pcm_patient, to="my doctor")
    assert sent.pool == "nursing" and "Family Medicine Clinic" in sent.recipient


def test_technical_support_is_not_a_secure_message(db: Database, world: World) -> None:
    with pytest.raises(UnknownRecipient) as err:
        send(db, world, to="tech support", body="I can't log in on my phone")
    assert "1-800-600-9332" in say_error(err.value)
    assert thread_count(db) == 0


def test_a_doctor_who_is_not_the_pcm_is_not_guessed(db: Database, world: World) -> None:
    with pytest.raises(UnknownRecipient) as err:
        send(db, world, to=world.other_doctor)
    assert "Dr. Omar Haddad" in say_error(err.value) and "Dr. Sarah Kim" in say_error(err.value)


def test_an_unknown_recipient_is_asked_about(db: Database, world: World) -> None:
    with pytest.raises(UnknownRecipient):
        send(db, world, to="zzyzx")
    assert thread_count(db) == 0


# ------------------------------------------------------------------------------ reply-by date


@pytest.mark.parametrize(
    ("now", "due"),
    [
        # Wednesday before Thanksgiving: Fri 27, Mon 30, Tue 1 (Thursday 26 is a holiday).
        (NOW, date(2026, 12, 1)),
        # 21:00 Wednesday in Texas is already Thursday in UTC: the clinic's date counts.
        (datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc), date(2026, 12, 1)),
        # Friday: the weekend is skipped (Mon 23, Tue 24, Wed 25).
        (datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc), date(2026, 11, 25)),
        # Saturday counts from the next business day the same way.
        (datetime(2026, 11, 21, 15, 0, tzinfo=timezone.utc), date(2026, 11, 25)),
        # Thanksgiving itself: Fri 27, Mon 30, Tue 1.
        (datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc), date(2026, 12, 1)),
    ],
)
def test_reply_due_in_business_days(db: Database, world: World, now: datetime, due: date) -> None:
    sent = send(db, world, now=now)
    assert sent.reply_due_on == due
    with db.transaction() as s:
        assert s.get(MessageThread, sent.thread_id).reply_due_on == due


def test_reply_days_come_from_settings(db: Database, world: World) -> None:
    sent = send(db, world, settings=Settings(message_reply_business_days=5))
    assert sent.reply_due_on == date(2026, 12, 3)


# ---------------------------------------------------------------------------------- the body


def test_message_is_stored_verbatim_and_audited(db: Database, world: World) -> None:
    body = "  Robert'); DROP TABLE messages;-- 💊🙂 ünïcödé\nsecond line  "
    sent = send(db, world, body=body, subject="Hi 👋")
    with db.transaction() as s:
        message = s.get(Message, sent.message_id)
        assert message.body == body.strip()
        assert (message.channel, message.sender_patient_id) == ("sms", world.patient)
        assert s.get(MessageThread, sent.thread_id).subject == "Hi 👋"
        entries = audit.entries_for(s, world.patient)
    assert [(e.action, e.resource, e.resource_id) for e in entries] == [
        ("send_message", "message_thread", str(sent.thread_id))
    ]
    assert body.strip() not in (entries[0].detail or "")  # the audit log names, not copies


def test_control_characters_are_dropped(db: Database, world: World) -> None:
    sent = send(db, world, body="refill\x00 please\x07")
    with db.transaction() as s:
        assert s.get(Message, sent.message_id).body == "refill please"


def test_bidirectional_controls_are_dropped_from_body_and_subject(
    db: Database, world: World
) -> None:
    """U+202E would make staff read the text in another order than it was written."""
    sent = send(db, world, body="call me \u202e0010-555\u202c ok", subject="\u2067Hi\u2069")
    with db.transaction() as s:
        message = s.get(Message, sent.message_id)
        assert message.body == "call me 0010-555 ok"
        assert s.get(MessageThread, sent.thread_id).subject == "Hi"


@pytest.mark.parametrize("body", ["", "   \n\t ", "\x00"])
def test_empty_message(db: Database, world: World, body: str) -> None:
    with pytest.raises(EmptyMessage):
        send(db, world, body=body)


def test_length_limit(db: Database, world: World) -> None:
    assert send(db, world, body="a" * 4000).message_id
    with pytest.raises(MessageTooLong) as err:
        send(db, world, body="a" * 4001)
    assert "4,000" in say_error(err.value)
    with pytest.raises(MessageTooLong):
        send(db, world, body="b" * 10_240)
    with pytest.raises(InvalidInput):
        send(db, world, body="ok", subject="s" * 161)
    assert thread_count(db) == 1


def test_default_subject(db: Database, world: World) -> None:
    assert send(db, world, category="appointment", to="").subject == "Appointment"
    long_body = "word " * 40
    subject = send(db, world, body=long_body).subject
    assert len(subject) <= 60 and subject.endswith("…")


def test_unknown_category(db: Database, world: World) -> None:
    with pytest.raises(InvalidInput):
        send(db, world, category="gossip")


# ------------------------------------------------------------------------------------ privacy


def test_parent_cannot_message_for_a_teen_but_can_for_a_young_child(db: Database) -> None:
    with db.transaction() as s:
        fam = make_family(s, NOW.date())
        ids = fam.sponsor.id, fam.teen.id, fam.child.id
    parent = Actor(ids[0], "web")
    with pytest.raises(AccessDenied) as err:
        messaging.send_message(
            db, parent, ids[1], to="my doctor", body="How is Noah doing?", now=NOW
        )
    assert "secure messages" in say_error(err.value)
    with pytest.raises(AccessDenied):
        messaging.threads(db, parent, ids[1], now=NOW)
    sent = messaging.send_message(
        db, parent, ids[2], to="nurse", body="Lily has a rash", now=NOW, settings=SETTINGS
    )
    with db.transaction() as s:
        thread = s.get(MessageThread, sent.thread_id)
        assert thread.patient_id == ids[2]
        assert thread.messages[0].sender_patient_id == ids[0]
    teen = messaging.send_message(
        db, Actor(ids[1]), ids[1], to="nurse", body="question", now=NOW, settings=SETTINGS
    )
    assert teen.pool == "nursing"


def test_unknown_patient(db: Database, world: World) -> None:
    with pytest.raises(PatientNotFound):
        send(db, world, patient=999_999, actor=Actor(world.patient))


@pytest.mark.parametrize("bad", [0, -5, 2**40, "1", None])
def test_bad_patient_id(db: Database, world: World, bad: object) -> None:
    with pytest.raises(InvalidInput):
        send(db, world, patient=bad, actor=Actor(world.patient))


# --------------------------------------------------------------------------------- emergencies


def test_an_emergency_is_never_filed_as_routine(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real detector is being written separately; stand in for it in this test only.
    seen: list[str] = []

    def detect(text: str) -> safety.Finding | None:
        seen.append(text)
        return (
            safety.Finding(kind="crisis", trigger="want to die") if "want to die" in text else None
        )

    monkeypatch.setattr(safety, "detect", detect)
    with pytest.raises(EmergencyInMessage) as err:
        send(db, world, to="nurse", body="I don't want to live anymore, I want to die")
    assert err.value.finding == safety.Finding(kind="crisis", trigger="want to die")
    assert "988" in say_error(err.value)
    assert thread_count(db) == 0
    # Checked before length limits: a long message about an emergency is still an emergency.
    with pytest.raises(EmergencyInMessage):
        send(db, world, body="x" * 5000 + " I want to die")
    # And before permissions, so a parent writing about a teen is not just told "no access".
    with db.transaction() as s:
        fam = make_family(s, NOW.date())
        parent, teen = fam.sponsor.id, fam.teen.id
    with pytest.raises(EmergencyInMessage):
        send(db, world, actor=Actor(parent), patient=teen, body="Noah texted me: I want to die")
    assert thread_count(db) == 0
    assert send(db, world, body="routine question").message_id
    assert seen[-1] == "routine question"


# ------------------------------------------------------------------------------------ threads


def test_threads_with_last_message_and_due_date(db: Database, world: World) -> None:
    first = send(db, world, to="nurse", body="first question")
    second = send(db, world, to="pharmacy", body="second", now=NOW + timedelta(hours=1))
    with db.transaction() as s:
        s.add(
            Message(
                thread_id=first.thread_id,
                sender_provider_id=world.pcm,
                body="Yes, that's fine.",
                channel="web",
                sent_at=NOW + timedelta(hours=2),
            )
        )
    later = NOW + timedelta(days=8)
    views = messaging.threads(db, Actor(world.patient), world.patient, now=later)
    assert [v.thread_id for v in views] == [first.thread_id, second.thread_id]
    answered, waiting = views
    assert answered.last_message is not None
    assert answered.last_message.body == "Yes, that's fine."
    assert answered.last_message.sender == "Dr. Sarah Kim, MD"
    assert not answered.awaiting_reply and not answered.overdue
    assert answered.message_count == 2
    assert waiting.awaiting_reply and waiting.overdue
    assert waiting.reply_due_on == date(2026, 12, 1)
    assert waiting.recipient == "the pharmacy team at Family Medicine Clinic"
    with db.transaction() as s:
        last = audit.entries_for(s, world.patient)[-1]
    assert last.action == "view_threads"
    assert last.detail == f"ids={first.thread_id},{second.thread_id}"
