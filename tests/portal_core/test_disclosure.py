"""Health details by SMS only with consent; other channels as before."""

from __future__ import annotations

from datetime import date

import pytest

from portal_core.database import Database
from portal_core.disclosure import may_send_health_details
from tests.factories import make_family, make_patient


def _patient(db: Database, consent: bool) -> int:
    with db.transaction() as s:
        patient = make_patient(s)
        patient.sms_health_consent = consent
        return patient.id


def test_sms_needs_the_patients_consent(db: Database) -> None:
    assert may_send_health_details(db, _patient(db, True), "sms")
    assert not may_send_health_details(db, _patient(db, False), "sms")


@pytest.mark.parametrize("channel", ["web", "voice"])
def test_private_channels_need_no_sms_consent(db: Database, channel: str) -> None:
    assert may_send_health_details(db, _patient(db, False), channel)


def test_a_parent_texting_needs_both_consents(db: Database) -> None:
    with db.transaction() as s:
        family = make_family(s, date(2026, 11, 25))
        family.sponsor.sms_health_consent = True
        family.child.sms_health_consent = True
        parent, child, spouse = family.sponsor.id, family.child.id, family.spouse.id
    assert may_send_health_details(db, child, "sms", recipient_id=parent)
    assert not may_send_health_details(db, child, "sms", recipient_id=spouse)  # no consent


@pytest.mark.parametrize("channel", ["fax", "", "SMS"])
def test_unknown_channels_and_patients_get_nothing(db: Database, channel: str) -> None:
    consented = _patient(db, True)
    assert not may_send_health_details(db, consented, channel)
    assert not may_send_health_details(db, 999_999, "sms")
