"""A Twilio turn's bookkeeping in two transactions: the same rules as the single calls."""

from __future__ import annotations

from datetime import datetime, timezone

from channel_state import conversations, opt_out
from channel_state.conversations import Choice
from channel_state.turns import Opening, close_turn, open_call_step, open_text
from portal_core.database import Database

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
PHONE = "+12545550100"
ID = f"sms:{PHONE}"
YES_NO = [Choice("Yes", "/affirm"), Choice("No", "/deny")]


def opening(db: Database, key: str, text: str, *, keyword: bool = False) -> Opening:
    return open_text(
        db, key=key, conversation_id=ID, phone=PHONE, text=text, keyword=keyword, now=NOW
    )


def closing(db: Database, key: str, choices: list[Choice] | None) -> None:
    close_turn(db, key=key, conversation_id=ID, choices=choices, response="<Response/>", now=NOW)


def test_a_fresh_text_reads_its_choice_and_takes_the_late_reply_once(db: Database) -> None:
    conversations.remember_choices(db, ID, YES_NO, now=NOW)
    conversations.hold_late_reply(db, ID, ["You're booked."], now=NOW)
    first = opening(db, "sms:SM1", "2")
    assert first.claim.fresh and not first.opted_out
    assert first.choice == Choice("No", "/deny")
    assert first.late == ["You're booked."]
    again = opening(db, "sms:SM2", "hi")
    assert again.choice is None and again.late == []


def test_a_retry_is_not_fresh_and_gets_the_stored_answer(db: Database) -> None:
    conversations.hold_late_reply(db, ID, ["Held."], now=NOW)
    opening(db, "sms:SM1", "hi")
    while_running = opening(db, "sms:SM1", "hi")
    assert not while_running.claim.fresh and while_running.claim.response is None
    closing(db, "sms:SM1", YES_NO)
    retry = opening(db, "sms:SM1", "hi")
    assert not retry.claim.fresh and retry.claim.response == "<Response/>"


def test_an_opted_out_number_or_a_keyword_reads_no_choice_and_keeps_the_late_reply(
    db: Database,
) -> None:
    conversations.remember_choices(db, ID, YES_NO, now=NOW)
    conversations.hold_late_reply(db, ID, ["Held."], now=NOW)
    keyword = opening(db, "sms:SM1", "1", keyword=True)
    assert keyword.claim.fresh and keyword.choice is None and keyword.late == []
    opt_out.opt_out(db, PHONE, "STOP", now=NOW)
    stopped = opening(db, "sms:SM2", "1")
    assert stopped.opted_out and stopped.choice is None and stopped.late == []
    assert conversations.take_late_reply(db, ID, now=NOW) == ["Held."]


def test_closing_remembers_new_choices_or_keeps_the_old_ones(db: Database) -> None:
    conversations.remember_choices(db, ID, YES_NO, now=NOW)
    opening(db, "sms:SM1", "hi")
    closing(db, "sms:SM1", None)
    assert (
        conversations.offered_choices(db, ID, now=NOW) == YES_NO
    )  # a "try again" keeps "2" as it was
    opening(db, "sms:SM2", "hi")
    closing(db, "sms:SM2", [])
    assert conversations.offered_choices(db, ID, now=NOW) == []


def test_sql_metacharacters_in_the_text_are_just_text(db: Database) -> None:
    text = "1'; DROP TABLE webhook_deliveries; --"
    first = opening(db, "sms:SM1", text)
    assert first.claim.fresh and first.choice is None
    retry = opening(db, "sms:SM1", text)
    assert not retry.claim.fresh


def test_a_call_step_reads_the_offered_choices_and_takes_the_late_reply_only_when_asked(
    db: Database,
) -> None:
    call = "voice:CA1"
    conversations.remember_choices(db, call, YES_NO, now=NOW)
    conversations.hold_late_reply(db, call, ["You're booked."], now=NOW)

    def step(key: str, take_late: bool) -> Opening:
        return open_call_step(db, key=key, conversation_id=call, take_late=take_late, now=NOW)

    silent = step("voice:CA1:1", take_late=False)  # nothing heard: the late reply waits
    assert silent.claim.fresh and silent.offered == YES_NO and silent.late == []
    heard = step("voice:CA1:2", take_late=True)
    assert heard.offered == YES_NO and heard.late == ["You're booked."]
    retry = step("voice:CA1:2", take_late=True)
    assert not retry.claim.fresh and retry.offered == [] and retry.late == []
