"""Numbered choices and late replies, remembered per SMS conversation in the database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from channel_state import conversations as conv
from channel_state.conversations import Choice
from portal_core.database import Database
from portal_core.errors import InvalidInput

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
ID = "sms:+12545550100"
YES_NO = [Choice("Yes", "/affirm"), Choice("No", "/deny")]


def test_a_number_selects_the_latest_choices(db: Database) -> None:
    conv.remember_choices(db, ID, YES_NO, now=NOW)
    assert conv.choice_for(db, ID, "1", now=NOW) == Choice("Yes", "/affirm")
    assert conv.choice_for(db, ID, " 2. ", now=NOW) == Choice("No", "/deny")
    assert conv.choice_for(db, ID, "3", now=NOW) is None
    assert conv.choice_for(db, ID, "0", now=NOW) is None
    assert conv.choice_for(db, ID, "yes", now=NOW) is None


def test_new_choices_replace_old_ones_and_no_choices_forget_them(db: Database) -> None:
    conv.remember_choices(db, ID, YES_NO, now=NOW)
    conv.remember_choices(db, ID, [Choice("Sofia", "Sofia")], now=NOW)
    assert conv.offered_choices(db, ID, now=NOW) == [Choice("Sofia", "Sofia")]
    conv.remember_choices(db, ID, [], now=NOW)
    assert conv.choice_for(db, ID, "1", now=NOW) is None


def test_choices_expire_with_the_conversation(db: Database) -> None:
    conv.remember_choices(db, ID, YES_NO, now=NOW)
    later = NOW + conv.DEFAULT_CHOICES_TTL + timedelta(seconds=1)
    assert conv.choice_for(db, ID, "1", now=later) is None


def test_conversations_are_separate(db: Database) -> None:
    conv.remember_choices(db, ID, YES_NO, now=NOW)
    assert conv.choice_for(db, "sms:+12545550199", "1", now=NOW) is None


def test_a_late_reply_is_held_once_and_delivered_once(db: Database) -> None:
    assert conv.take_late_reply(db, ID, now=NOW) == []
    conv.hold_late_reply(db, ID, ["Your appointment is booked."], now=NOW)
    conv.hold_late_reply(db, ID, ["Anything else?"], now=NOW)
    assert conv.take_late_reply(db, ID, now=NOW) == [
        "Your appointment is booked.",
        "Anything else?",
    ]
    assert conv.take_late_reply(db, ID, now=NOW) == []


def test_huge_and_hostile_values_are_bounded(db: Database) -> None:
    many = [Choice("t" * 5000, "'; DROP TABLE sms_conversations; --" * 50)] * 100
    conv.remember_choices(db, ID, many, now=NOW)
    offered = conv.offered_choices(db, ID, now=NOW)
    assert len(offered) == conv.MAX_CHOICES
    assert len(offered[0].title) == conv.MAX_TITLE_LENGTH
    assert len(offered[0].payload) == conv.MAX_PAYLOAD_LENGTH


@pytest.mark.parametrize("bad", ["", " ", "x" * 81])
def test_a_malformed_conversation_id_is_refused(db: Database, bad: str) -> None:
    with pytest.raises(InvalidInput):
        conv.remember_choices(db, bad, YES_NO)
