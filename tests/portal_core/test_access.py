"""The access gate: premium accounts, proxy ages, and refusals that are audited."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from portal_core import access, audit
from portal_core.actors import Actor
from portal_core.database import Database
from portal_core.errors import AccessDenied, PatientNotFound, PremiumRequired
from portal_core.proxy import Capability
from tests.factories import make_family, make_patient
from wording.catalogue import say_error

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)


def test_parent_may_book_for_teen_but_not_see_results(db: Database) -> None:
    with db.transaction() as s:
        fam = make_family(s, NOW.date())
        ids = fam.sponsor.id, fam.teen.id
    actor = Actor(ids[0], "sms")
    with db.transaction() as s:
        assert access.require(s, actor, ids[1], Capability.APPOINTMENTS, now=NOW).id == ids[1]
    with pytest.raises(AccessDenied) as err, db.transaction() as s:
        access.require(s, actor, ids[1], Capability.RESULTS, now=NOW)
    said = say_error(err.value)
    assert said.startswith("Because Noah is 14, parents can't see Noah's test results.")
    with db.transaction() as s:
        denials = [e for e in audit.entries_for(s, ids[1]) if e.outcome == "denied"]
    assert len(denials) == 1 and denials[0].channel == "sms"


def test_basic_account_is_told_to_upgrade(db: Database) -> None:
    with db.transaction() as s:
        pid = make_patient(s, assurance_level="basic").id
    with pytest.raises(PremiumRequired), db.transaction() as s:
        access.require(s, Actor(pid), pid, Capability.APPOINTMENTS, now=NOW)


def test_unknown_patient(db: Database) -> None:
    with db.transaction() as s:
        pid = make_patient(s).id
    with pytest.raises(PatientNotFound), db.transaction() as s:
        access.require(s, Actor(pid), 999_999, Capability.RESULTS, now=NOW)


def test_age_is_computed_on_the_request_date(db: Database) -> None:
    with db.transaction() as s:
        fam = make_family(s, date(2026, 11, 25))
        parent, child = fam.sponsor.id, fam.child.id
    with db.transaction() as s:
        access.require(s, Actor(parent), child, Capability.RESULTS, now=NOW)
    later = NOW.replace(year=2031)  # the child is 13 by then
    with pytest.raises(AccessDenied), db.transaction() as s:
        access.require(s, Actor(parent), child, Capability.RESULTS, now=later)


def test_the_premium_rule_asked_on_its_own() -> None:
    """The bot turns a basic account away with the gate's own rule and error, before any
    record is touched (so nothing is audited)."""
    access.require_premium("premium")
    with pytest.raises(PremiumRequired):
        access.require_premium("basic")
    assert access.is_premium("premium") and not access.is_premium("basic")
