"""STOP / START / HELP: keyword matching, the stored opt-out and its audit trail."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from channel_state import opt_out
from channel_state.models import SmsOptOut
from channel_state.opt_out import Keyword, keyword_of
from portal_core import audit
from portal_core.database import Database
from portal_core.errors import InvalidInput
from portal_core.models import AuditEvent
from tests.factories import make_patient

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
PHONE = "+12545550100"


@pytest.mark.parametrize(
    ("text", "keyword", "word"),
    [
        ("STOP", Keyword.STOP, "STOP"),
        ("stop", Keyword.STOP, "STOP"),
        ("  Stop. ", Keyword.STOP, "STOP"),
        ("STOPALL", Keyword.STOP, "STOPALL"),
        ("unsubscribe", Keyword.STOP, "UNSUBSCRIBE"),
        ("Cancel", Keyword.STOP, "CANCEL"),
        ("end", Keyword.STOP, "END"),
        ("QUIT!", Keyword.STOP, "QUIT"),
        ("start", Keyword.START, "START"),
        ("Yes", Keyword.START, "YES"),
        ("unstop", Keyword.START, "UNSTOP"),
        ("HELP", Keyword.HELP, "HELP"),
        ("info", Keyword.HELP, "INFO"),
    ],
)
def test_carrier_keywords_are_whole_messages(text: str, keyword: Keyword, word: str) -> None:
    assert keyword_of(text) == (keyword, word)


@pytest.mark.parametrize(
    "text",
    ["stop my refill", "please stop", "help me book", "cancel my appointment", "", "st0p",
     "STOP" * 20, "yes please"],
)  # fmt: skip
def test_keywords_inside_a_sentence_go_to_the_assistant(text: str) -> None:
    assert keyword_of(text) is None


def test_stop_is_stored_and_audited_then_start_undoes_it(db: Database) -> None:
    with db.transaction() as s:
        patient_id = make_patient(s, phone=PHONE).id

    assert not opt_out.is_opted_out(db, PHONE)
    assert opt_out.opt_out(db, "(254) 555-0100", "stop", now=NOW) is True
    assert opt_out.is_opted_out(db, PHONE)
    state = opt_out.state(db, PHONE)
    assert (state.opted_out, state.keyword, state.changed_at) == (True, "STOP", NOW)

    later = NOW + timedelta(days=1)
    assert opt_out.opt_in(db, PHONE, "START", now=later) is True
    assert not opt_out.is_opted_out(db, PHONE)

    with db.transaction() as s:
        entries = audit.entries_for(s, patient_id)
    assert [(e.action, e.detail, e.channel, e.resource_id) for e in entries] == [
        ("sms_opt_out", "keyword STOP", "sms", "***-***-0100"),
        ("sms_opt_in", "keyword START", "sms", "***-***-0100"),
    ]


def test_repeating_stop_changes_nothing_and_is_not_audited_twice(db: Database) -> None:
    assert opt_out.opt_out(db, PHONE, "STOP", now=NOW) is True
    assert opt_out.opt_out(db, PHONE, "QUIT", now=NOW + timedelta(minutes=1)) is False
    assert opt_out.opt_in(db, "+12535550141", "START") is False  # never opted out
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 1
        assert s.get(SmsOptOut, PHONE).keyword == "STOP"


def test_a_shared_family_phone_is_audited_without_naming_anyone(db: Database) -> None:
    with db.transaction() as s:
        make_patient(s, phone=PHONE, first_name="Marcus")
        make_patient(s, phone=PHONE, first_name="Sofia")
    opt_out.opt_out(db, PHONE, "STOP", now=NOW)
    with db.transaction() as s:
        event = s.scalars(select(AuditEvent)).one()
    assert event.subject_id is None and event.action == "sms_opt_out"


def test_concurrent_stops_store_one_opt_out(db: Database) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        changed = list(pool.map(lambda _: opt_out.opt_out(db, PHONE, "STOP", now=NOW), range(4)))
    assert changed.count(True) == 1
    assert opt_out.is_opted_out(db, PHONE)


@pytest.mark.parametrize("phone", ["", "12", "not a phone", "+1" + "5" * 60, "'; DROP TABLE x"])
def test_a_malformed_number_is_refused_politely(db: Database, phone: str) -> None:
    with pytest.raises(InvalidInput):
        opt_out.opt_out(db, phone, "STOP")
    with pytest.raises(InvalidInput):
        opt_out.is_opted_out(db, phone)
