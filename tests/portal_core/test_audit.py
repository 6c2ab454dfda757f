"""What each audit entry records: the real transport, the conversation, the actor, the outcome."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from portal_core import audit
from portal_core.actors import Actor
from portal_core.database import Database
from tests.factories import make_patient

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)


def _record(db: Database, actor: Actor | None, **kwargs: object) -> audit.AuditEntry:
    with db.transaction() as s:
        pid = make_patient(s).id
        audit.record(
            s, actor and Actor(pid, actor.channel, actor.session), subject_id=pid,
            action="read", resource="results", now=NOW, **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip
        [entry] = audit.entries_for(s, pid)
    return entry


def test_an_actor_gives_the_transport_and_the_conversation(db: Database) -> None:
    entry = _record(db, Actor(0, "voice", session="voice:CA0123"))
    assert (entry.channel, entry.transport, entry.session) == ("voice", "voice", "voice:CA0123")


def test_the_channel_an_event_concerns_is_kept_apart_from_the_transport(db: Database) -> None:
    """A web visitor booking for an appointment first made by phone: channel voice, came by web."""
    entry = _record(db, Actor(0, "web", session="web-1"), channel="voice")
    assert (entry.channel, entry.transport) == ("voice", "web")
    # An explicit transport can't overrule the verified actor's.
    entry = _record(db, Actor(0, "web"), transport="sms")
    assert entry.transport == "web"


def test_without_an_actor(db: Database) -> None:
    failed = _record(db, None, channel="sms", conversation_id="sms:+12545550100")
    assert (failed.actor_id, failed.transport, failed.session) == (None, "sms", "sms:+12545550100")
    job = _record(db, None)
    assert (job.channel, job.transport, job.session) == ("system", "system", None)


def test_an_unknown_transport_is_a_bug(db: Database) -> None:
    with pytest.raises(ValueError):
        _record(db, None, channel="fax")


def test_long_conversation_ids_and_details_are_kept_within_their_columns(db: Database) -> None:
    entry = _record(db, Actor(0, "web", session="w" * 500), detail="\u202eids=1\x00" + "x" * 5000)
    assert entry.session == "w" * 120
    assert entry.detail is not None and entry.detail.startswith("ids=1x")
    assert len(entry.detail) == audit.MAX_DETAIL_CHARS


@pytest.mark.parametrize("session", ["", 42])
def test_an_actor_session_is_a_conversation_id(session: object) -> None:
    with pytest.raises(ValueError):
        Actor(1, "sms", session=session)  # type: ignore[arg-type]
