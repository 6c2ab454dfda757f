"""Phone and SMS verification: matching, lockout, idle sessions, and hostile input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from portal_core import audit, identity, security_alerts
from portal_core.actors import Actor
from portal_core.config import Settings, load_settings
from portal_core.database import Database
from portal_core.errors import InvalidInput, LockedOut, VerificationFailed
from portal_core.models import (
    AuditEvent,
    Patient,
    PhoneLockout,
    SecurityAlert,
    VerifiedSession,
)
from tests.factories import make_family, make_patient
from wording.catalogue import say_error

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
PHONE = "+12545550100"
KEY = "sms:+12545550100"
SETTINGS = Settings(lockout_attempts=3, lockout_minutes=30, session_idle_minutes=15)


def _patient(db: Database, **kwargs: object) -> tuple[int, str]:
    """A patient born 15 June 1985 on PHONE; returns the id and the DoD ID's last four."""
    with db.transaction() as s:
        p = make_patient(s, **kwargs)  # type: ignore[arg-type]
        return p.id, p.dod_id[-4:]


def _verify(
    db: Database,
    dob: str | date,
    last4: str,
    *,
    at: datetime = NOW,
    phone: str = PHONE,
    key: str = KEY,
    settings: Settings = SETTINGS,
) -> identity.VerifiedIdentity:
    return identity.verify(db, phone, key, "sms", dob, last4, now=at, settings=settings)


def _current(
    db: Database,
    at: datetime,
    *,
    key: str = KEY,
    channel: str = "sms",
    phone: str | None = PHONE,
    settings: Settings = SETTINGS,
) -> identity.VerifiedIdentity | None:
    return identity.current_identity(
        db, key, channel=channel, phone=phone, now=at, settings=settings
    )


def _wrong(last4: str) -> str:
    return f"{(int(last4) + 1) % 10000:04d}"


# --- Phone numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "(254) 555-0100",
        "254.555.0100",
        "+1 254 555 0100",
        "2545550100",
        "1-254-555-0100",
        "  254 555 0100 ",
        "tel:+12545550100",
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw: str) -> None:
    assert identity.normalize_phone(raw) == PHONE


def test_international_numbers_keep_their_country_code() -> None:
    assert identity.normalize_phone("+49 6371 86 8106") == "+496371868106"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "banana",
        "555-0100",
        "054-555-0100",  # no US area code starts with 0
        "+1 254 055 0100",  # nor an exchange
        "254-555-01000",
        "+0 123 456 789",
        "'; DROP TABLE patients; --",
        "٢٥٤٥٥٥٠١٠٠",  # Arabic-Indic digits are digits to Python, not to a phone network
        "2" * 10_000,
    ],
)
def test_garbage_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        identity.normalize_phone(raw)


def test_candidates_are_counted_without_names(db: Database) -> None:
    with db.transaction() as s:
        make_family(s, NOW.date())  # five people, all on PHONE
        make_patient(s, phone="+12545550199")
    assert identity.candidates_for_phone(db, "(254) 555-0100") == 5
    assert identity.candidates_for_phone(db, "254-555-0199") == 1
    assert identity.candidates_for_phone(db, "254-555-0123") == 0


# --- Dates of birth ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "said",
    [
        "1985-06-15",
        "06/15/1985",
        "6/15/1985",
        "06-15-1985",
        "06.15.1985",
        "June 15 1985",
        "june 15th, 1985",
        "Jun. 15 1985",
        "15 June 1985",
        "15th of June, 1985",
        "06151985",
        "0 6 1 5 1 9 8 5",
        "15/06/1985",  # can only be day first
        date(1985, 6, 15),
    ],
)
def test_dates_of_birth_as_people_say_them(said: str | date) -> None:
    assert identity.parse_date_of_birth(said, today=NOW.date()) == date(1985, 6, 15)


@pytest.mark.parametrize(
    ("said", "born"),
    [
        ("6/15/85", date(1985, 6, 15)),
        ("06-15-85", date(1985, 6, 15)),
        ("1/2/05", date(2005, 1, 2)),
        (f"1/1/{NOW.year % 100:02d}", date(NOW.year, 1, 1)),
        (f"1/1/{(NOW.year + 1) % 100:02d}", date(NOW.year + 1 - 100, 1, 1)),
    ],
)
def test_a_two_digit_year_is_the_one_in_the_last_hundred_years(said: str, born: date) -> None:
    assert identity.parse_date_of_birth(said, today=NOW.date()) == born


def test_numeric_dates_are_month_first_when_both_readings_exist() -> None:
    assert identity.parse_date_of_birth("03/04/1990", today=NOW.date()) == date(1990, 3, 4)


def test_leap_day_birthdays() -> None:
    assert identity.parse_date_of_birth("02292000", today=NOW.date()) == date(2000, 2, 29)
    with pytest.raises(InvalidInput) as err:
        identity.parse_date_of_birth("02/29/1985", today=NOW.date())
    assert say_error(err.value) == (
        "February 1985 doesn't have a day 29. Please check your date of birth and try again."
    )


@pytest.mark.parametrize(
    "said",
    [
        "02/30/1985",
        "February 30 1985",
        "13/13/1985",
        "00001985",
        "2027-01-01",  # not born yet
        "1850-01-01",
        "yesterday",
        "",
        "1985-06-15' OR '1'='1",
        "1" * 10_000,
    ],
)
def test_impossible_or_unreadable_dates_are_refused(said: str) -> None:
    with pytest.raises(InvalidInput) as err:
        identity.parse_date_of_birth(said, today=NOW.date())
    assert say_error(err.value)


def test_today_defaults_to_the_clock() -> None:
    assert identity.parse_date_of_birth("June 15 1985") == date(1985, 6, 15)
    with pytest.raises(InvalidInput):
        identity.parse_date_of_birth(f"12/31/{date.today().year + 1}")


# --- Verification ------------------------------------------------------------------------


def test_matching_details_verify_the_conversation(db: Database) -> None:
    pid, last4 = _patient(db)
    who = _verify(db, "June 15, 1985", last4)
    assert (who.patient_id, who.channel, who.session_key) == (pid, "sms", KEY)
    assert who.actor.patient_id == pid and who.is_premium
    assert _current(db, NOW) == who
    with db.transaction() as s:
        [entry] = audit.entries_for(s, pid)
    assert (entry.action, entry.outcome, entry.actor_id, entry.channel) == (
        "verify",
        "ok",
        pid,
        "sms",
    )


def test_family_members_sharing_a_phone_each_verify_as_themselves(db: Database) -> None:
    with db.transaction() as s:
        fam = make_family(s, NOW.date())
        people = [(p.id, p.date_of_birth, p.dod_id[-4:]) for p in (fam.sponsor, fam.teen)]
    for pid, born, last4 in people:
        key = f"sms:{pid}"
        assert _verify(db, born.strftime("%m/%d/%Y"), last4, key=key).patient_id == pid
    sponsor_born, teen_last4 = people[0][1], people[1][2]
    with pytest.raises(VerificationFailed):  # one person's birthday, another's ID
        _verify(db, sponsor_born, teen_last4)


def test_wrong_details_count_and_the_third_locks_the_phone(db: Database) -> None:
    _, last4 = _patient(db)
    with pytest.raises(identity.DetailsDoNotMatch) as first:
        _verify(db, "06/15/1985", _wrong(last4))
    with pytest.raises(identity.DetailsDoNotMatch) as second:
        _verify(db, "06/16/1985", last4, at=NOW + timedelta(minutes=1))
    assert (first.value.attempts_left, second.value.attempts_left) == (2, 1)
    with pytest.raises(LockedOut) as locked:
        _verify(db, "06/15/1985", _wrong(last4), at=NOW + timedelta(minutes=2))
    assert "1-800-600-9332" in say_error(locked.value)
    assert "clinic" in say_error(locked.value)


def test_a_locked_phone_stays_locked_for_the_configured_minutes(db: Database) -> None:
    pid, last4 = _patient(db)
    short = Settings(lockout_attempts=2, lockout_minutes=5, session_idle_minutes=15)
    with pytest.raises(identity.DetailsDoNotMatch):
        _verify(db, "06/15/1985", _wrong(last4), settings=short)
    with pytest.raises(identity.PhoneLocked):
        _verify(db, "06/15/1985", _wrong(last4), settings=short)
    lock_ends = NOW + timedelta(minutes=5)
    with db.transaction() as s:
        assert s.get(PhoneLockout, PHONE).locked_until == lock_ends
    with pytest.raises(identity.PhoneLocked) as err:  # correct details don't help
        _verify(db, "06/15/1985", last4, at=lock_ends - timedelta(seconds=1), settings=short)
    assert err.value.locked_until == lock_ends and "1 minute" in say_error(err.value)
    assert _verify(db, "06/15/1985", last4, at=lock_ends, settings=short).patient_id == pid
    with db.transaction() as s:
        outcomes = [e.outcome for e in audit.entries_for(s, pid)]
    assert outcomes == ["failed", "failed", "locked", "ok"]


def _lock(db: Database, last4: str, at: datetime) -> datetime:
    """Three wrong guesses from `at`, a minute apart; returns when the lockout ends."""
    for i in range(2):
        with pytest.raises(identity.DetailsDoNotMatch):
            _verify(db, "06/15/1985", _wrong(last4), at=at + timedelta(minutes=i))
    with pytest.raises(identity.PhoneLocked) as locked:
        _verify(db, "06/15/1985", _wrong(last4), at=at + timedelta(minutes=2))
    return locked.value.locked_until


def test_each_lockout_within_a_day_of_the_last_lasts_twice_as_long_up_to_a_day(
    db: Database,
) -> None:
    """A fixed 30-minute lockout let anyone holding the number lock its owner out forever."""
    _, last4 = _patient(db)
    t, lengths = NOW, []
    for _ in range(8):
        start = t + timedelta(minutes=2)  # the third guess locks
        ends = _lock(db, last4, t)
        lengths.append(int((ends - start).total_seconds() // 60))
        t = ends  # the guessing resumes the moment the lockout is over
    assert lengths == [30, 60, 120, 240, 480, 960, 1440, 1440]
    with db.transaction() as s:
        assert s.get(PhoneLockout, PHONE).lockouts == 8


def test_a_lockout_more_than_a_day_after_the_last_one_ended_starts_over(db: Database) -> None:
    _, last4 = _patient(db)
    first_end = _lock(db, last4, NOW)
    second_end = _lock(db, last4, first_end + timedelta(hours=2))
    assert second_end - (first_end + timedelta(hours=2, minutes=2)) == timedelta(minutes=60)
    day_later = second_end + timedelta(hours=24)
    third_end = _lock(db, last4, day_later)
    assert third_end - (day_later + timedelta(minutes=2)) == timedelta(minutes=30)
    with db.transaction() as s:
        assert s.get(PhoneLockout, PHONE).lockouts == 1
        assert s.scalar(select(func.count()).select_from(SecurityAlert)) == 1  # the second


def test_a_number_locked_again_within_a_day_raises_an_audited_operator_alert(
    db: Database,
) -> None:
    pid, last4 = _patient(db)
    first_end = _lock(db, last4, NOW)
    assert security_alerts.list_alerts(db) == []

    second_end = _lock(db, last4, first_end + timedelta(hours=3))
    _lock(db, last4, second_end)

    alerts = security_alerts.list_alerts(db)
    assert [(a.kind, a.phone) for a in alerts] == [("repeated_lockout", PHONE)] * 2
    newest, older = alerts
    assert newest.raised_at == second_end + timedelta(minutes=2)
    assert "lockout 3 in a row" in newest.detail and "lockout 2 in a row" in older.detail
    assert "...0100" in newest.detail and PHONE not in newest.detail
    since = security_alerts.list_alerts(db, since=second_end)
    assert [a.alert_id for a in since] == [newest.alert_id]
    with db.transaction() as s:
        audited = [e for e in audit.entries_for(s, pid) if e.action == "security_alert"]
    assert [(e.outcome, e.transport, e.session, e.actor_id) for e in audited] == [
        ("alert", "sms", KEY, None)
    ] * 2
    assert audited[0].detail == f"alert {older.alert_id}: repeated_lockout, lockout 2 in a row"


def test_a_long_lockout_is_told_in_hours() -> None:
    err = identity.PhoneLocked(NOW + timedelta(hours=16), NOW)
    assert "try again in 16 hours" in say_error(err)
    assert "90 minutes" in say_error(identity.PhoneLocked(NOW + timedelta(minutes=90), NOW))


@pytest.mark.parametrize(
    ("base", "lockouts", "minutes"),
    [(30, 1, 30), (30, 2, 60), (30, 6, 960), (30, 7, 1440), (30, 500, 1440), (5, 0, 5)],
)
def test_lockout_length(base: int, lockouts: int, minutes: int) -> None:
    assert identity.lockout_length(base, lockouts) == timedelta(minutes=minutes)


def test_success_resets_the_failure_count(db: Database) -> None:
    _, last4 = _patient(db)
    for _ in range(2):
        with pytest.raises(identity.DetailsDoNotMatch):
            _verify(db, "06/15/1985", _wrong(last4))
    _verify(db, "06/15/1985", last4)
    with pytest.raises(identity.DetailsDoNotMatch) as err:
        _verify(db, "06/15/1985", _wrong(last4))
    assert err.value.attempts_left == 2


def test_old_failures_are_forgiven_after_the_lockout_window(db: Database) -> None:
    _, last4 = _patient(db)
    for _ in range(2):
        with pytest.raises(identity.DetailsDoNotMatch):
            _verify(db, "06/15/1985", _wrong(last4))
    with pytest.raises(identity.DetailsDoNotMatch) as err:
        _verify(db, "06/15/1985", _wrong(last4), at=NOW + timedelta(minutes=30))
    assert err.value.attempts_left == 2


def test_impossible_dates_do_not_count_as_failures(db: Database) -> None:
    pid, last4 = _patient(db)
    for said in ("02/30/1985", "2/30/85", "banana", "1" * 10_000):
        with pytest.raises(InvalidInput):
            _verify(db, said, _wrong(last4))
    for malformed in ("12", "abcd", "12345", "1'--"):
        with pytest.raises(InvalidInput):
            _verify(db, "06/15/1985", malformed)
    with pytest.raises(identity.DetailsDoNotMatch) as err:
        _verify(db, "06/15/1985", _wrong(last4))
    assert err.value.attempts_left == 2
    with db.transaction() as s:
        assert [e.outcome for e in audit.entries_for(s, pid)] == ["failed"]


def test_an_unknown_phone_is_locked_out_like_any_other(db: Database) -> None:
    pid, last4 = _patient(db)
    stranger = "+12545550111"
    for _ in range(2):
        with pytest.raises(identity.DetailsDoNotMatch):
            _verify(db, "06/15/1985", "1234", phone=stranger)
    with pytest.raises(LockedOut):
        _verify(db, "06/15/1985", "1234", phone=stranger)
    assert _verify(db, "06/15/1985", last4).patient_id == pid  # the lock is per phone


def test_every_attempt_is_audited_without_phi(db: Database) -> None:
    pid, last4 = _patient(db, first_name="Zelda", last_name="Quartermaine", dod_id="1234567890")
    with pytest.raises(VerificationFailed):
        _verify(db, "06/15/1985", _wrong(last4))
    _verify(db, "1985-06-15", last4)
    with db.transaction() as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        dumped = " ".join(f"{r.resource_id} {r.detail}" for r in rows)
        assert [(r.action, r.outcome, r.subject_id) for r in rows] == [
            ("verify", "failed", pid),
            ("verify", "ok", pid),
        ]
    for phi in ("1985", "06/15", last4, _wrong(last4), "Zelda", "Quartermaine", "2545550100"):
        assert phi not in dumped


def test_hostile_text_is_just_text(db: Database) -> None:
    pid, last4 = _patient(db)
    nasty = "'; DROP TABLE patients; --"
    for args in (
        (nasty, KEY, "06/15/1985", last4),
        (PHONE, KEY, nasty, last4),
        (PHONE, KEY, "06/15/1985", nasty),
        (PHONE, "x" * 10_000, "06/15/1985", last4),
        (PHONE, KEY, "06/15/1985", "9" * 10_000),
    ):
        with pytest.raises(InvalidInput):
            identity.verify(db, *args[:2], "sms", *args[2:], now=NOW, settings=SETTINGS)
    # A quote in the session key is a legitimate (if odd) key, stored as a bound parameter.
    odd_key = "web:o'brien\"; --"
    assert _verify(db, "06/15/1985", last4, key=odd_key).session_key == odd_key
    with db.transaction() as s:
        assert s.scalar(select(func.count(Patient.id))) == 1
        assert s.get(VerifiedSession, odd_key).patient_id == pid


def test_unknown_channel_is_refused(db: Database) -> None:
    _, last4 = _patient(db)
    with pytest.raises(InvalidInput):
        identity.verify(db, PHONE, KEY, "fax", "06/15/1985", last4, now=NOW, settings=SETTINGS)


# --- Sessions ----------------------------------------------------------------------------


def test_sessions_expire_after_idle_minutes_and_activity_keeps_them_alive(db: Database) -> None:
    pid, last4 = _patient(db)
    _verify(db, "06/15/1985", last4)
    t = NOW
    for _ in range(3):  # 45 minutes of conversation, never 15 idle
        t += timedelta(minutes=15)
        who = _current(db, t)
        assert who is not None and who.patient_id == pid
    too_late = t + timedelta(minutes=15, seconds=1)
    assert _current(db, too_late) is None
    with db.transaction() as s:
        assert s.get(VerifiedSession, KEY) is None
    # Gone for good: going back in time does not revive it.
    assert _current(db, t) is None


def test_the_session_remembers_the_number_it_was_verified_from(db: Database) -> None:
    _, last4 = _patient(db)
    identity.verify(db, "(254) 555-0100", KEY, "sms", "06/15/1985", last4, now=NOW)
    with db.transaction() as s:
        assert s.get(VerifiedSession, KEY).phone == PHONE
    # The same number written another way is the same number.
    assert _current(db, NOW, phone="254.555.0100") is not None


def test_a_session_named_from_another_channel_gives_nothing_and_ends(db: Database) -> None:
    """Conversation ids are guessable (`sms:<number>`): knowing one must not be enough."""
    pid, last4 = _patient(db)
    _verify(db, "06/15/1985", last4)

    assert _current(db, NOW, channel="voice") is None
    assert _current(db, NOW, channel="web") is None

    # The probe burned the session: even its own channel must verify again.
    assert _current(db, NOW) is None
    with db.transaction() as s:
        assert s.get(VerifiedSession, KEY) is None
        refused = [e for e in audit.entries_for(s, pid) if e.action == "use_session"]
    assert [(e.outcome, e.transport, e.session, e.actor_id) for e in refused] == [
        ("refused", "voice", KEY, None)
    ]
    assert "verified on 'sms'" in (refused[0].detail or "")


@pytest.mark.parametrize("phone", ["+12545550111", None, "", "not a phone", "+1" + "9" * 50])
def test_a_session_asked_from_another_number_gives_nothing_and_ends(
    db: Database, phone: str | None
) -> None:
    pid, last4 = _patient(db)
    _verify(db, "06/15/1985", last4)

    assert _current(db, NOW, phone=phone) is None
    assert _current(db, NOW) is None
    with db.transaction() as s:
        outcomes = [(e.action, e.outcome) for e in audit.entries_for(s, pid)]
    assert outcomes == [("verify", "ok"), ("use_session", "refused")]


def test_a_session_ends_at_its_absolute_lifetime_however_busy(db: Database) -> None:
    """Polling every 14 minutes used to keep a session alive for hours."""
    pid, last4 = _patient(db)
    _verify(db, "06/15/1985", last4)
    t = NOW
    while t + timedelta(minutes=14) < NOW + timedelta(minutes=60):
        t += timedelta(minutes=14)
        who = _current(db, t)
        assert who is not None and who.patient_id == pid
    assert t == NOW + timedelta(minutes=56)
    assert _current(db, NOW + timedelta(minutes=60)) is None
    with db.transaction() as s:
        assert s.get(VerifiedSession, KEY) is None


def test_the_absolute_lifetime_is_a_setting_and_counts_from_verification(db: Database) -> None:
    _, last4 = _patient(db)
    short = Settings(session_idle_minutes=15, session_max_minutes=20)
    _verify(db, "06/15/1985", last4, settings=short)
    assert _current(db, NOW + timedelta(minutes=10), settings=short) is not None
    assert _current(db, NOW + timedelta(minutes=19), settings=short) is not None
    assert _current(db, NOW + timedelta(minutes=20), settings=short) is None
    # Verifying again starts a new lifetime.
    later = NOW + timedelta(minutes=21)
    _verify(db, "06/15/1985", last4, at=later, settings=short)
    assert _current(db, later + timedelta(minutes=14), settings=short) is not None


def test_the_session_lifetime_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_SESSION_MAX_MINUTES", "45")
    assert load_settings().session_max_minutes == 45
    monkeypatch.delenv("PORTAL_SESSION_MAX_MINUTES")
    assert load_settings().session_max_minutes == 60


def test_the_actor_of_a_verified_session_names_its_conversation(db: Database) -> None:
    pid, last4 = _patient(db)
    who = _verify(db, "06/15/1985", last4)
    assert who.actor == Actor(pid, "sms", session=KEY)


def test_reverifying_as_someone_else_replaces_the_session(db: Database) -> None:
    with db.transaction() as s:
        fam = make_family(s, NOW.date())
        sponsor = (fam.sponsor.id, fam.sponsor.date_of_birth, fam.sponsor.dod_id[-4:])
        spouse = (fam.spouse.id, fam.spouse.date_of_birth, fam.spouse.dod_id[-4:])
    _verify(db, sponsor[1], sponsor[2])
    _verify(db, spouse[1], spouse[2], at=NOW + timedelta(minutes=1))
    who = _current(db, NOW + timedelta(minutes=2))
    assert who is not None and who.patient_id == spouse[0]


def test_ending_a_session(db: Database) -> None:
    pid, last4 = _patient(db)
    _verify(db, "06/15/1985", last4)
    assert identity.end_session(db, KEY, now=NOW) is True
    assert identity.end_session(db, KEY, now=NOW) is False
    assert _current(db, NOW) is None
    with db.transaction() as s:
        assert [e.action for e in audit.entries_for(s, pid)] == ["verify", "end_session"]


def test_unknown_session_is_simply_unverified(db: Database) -> None:
    assert _current(db, NOW, key="sms:+19995550100") is None
    with pytest.raises(InvalidInput):
        _current(db, NOW, key="k" * 10_000)


def test_basic_accounts_can_verify_but_are_not_premium(db: Database) -> None:
    _, last4 = _patient(db, assurance_level="basic")
    assert not _verify(db, "06/15/1985", last4).is_premium


def test_concurrent_guesses_are_all_counted(db: Database) -> None:
    _, last4 = _patient(db)

    def guess(_: int) -> type[Exception]:
        try:
            _verify(db, "06/15/1985", _wrong(last4))
        except (VerificationFailed, LockedOut) as exc:
            return type(exc)
        raise AssertionError("a wrong guess verified")

    with ThreadPoolExecutor(max_workers=5) as pool:
        outcomes = list(pool.map(guess, range(5)))
    assert sorted(o.__name__ for o in outcomes) == [
        "DetailsDoNotMatch",
        "DetailsDoNotMatch",
        "PhoneLocked",
        "PhoneLocked",
        "PhoneLocked",
    ]
    with db.transaction() as s:
        assert s.get(PhoneLockout, PHONE).failed_attempts == 3


@pytest.mark.parametrize(
    ("said", "born"),
    [
        ("september eleventh nineteen eighty four", date(1984, 9, 11)),
        ("the eleventh of september nineteen eighty four", date(1984, 9, 11)),
        ("born july fourth nineteen eighty two", date(1982, 7, 4)),
        ("may twenty ninth two thousand two", date(2002, 5, 29)),
        ("march third two thousand and seven", date(2007, 3, 3)),
        ("july fourth nineteen oh five", date(1905, 7, 4)),
        ("august twenty-seventh two thousand seven", date(2007, 8, 27)),
    ],
)
def test_dates_of_birth_spoken_in_words(said: str, born: date) -> None:
    """Speech engines transcribe a spoken date in words; a caller must not be asked to re-key."""
    assert identity.parse_date_of_birth(said, today=date(2026, 11, 25)) == born


def test_an_impossible_spoken_date_is_refused_politely() -> None:
    with pytest.raises(InvalidInput) as err:
        identity.parse_date_of_birth(
            "february thirtieth nineteen eighty four", today=date(2026, 11, 25)
        )
    assert "doesn't have a day 30" in say_error(err.value)
