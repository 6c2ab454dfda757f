"""The domain's codes and refusals in words: prescriptions, results and emergencies.

portal_core hands over codes and data (a refill's status, a result's flag, an emergency's kind,
a refusal's message id); these are the sentences a patient reads or hears for them, word for
word what the domain used to say itself, in each channel.
"""

from __future__ import annotations

from datetime import date

import pytest

from portal_core import safety
from portal_core.messaging import EmergencyInMessage
from portal_core.prescriptions import REFILL_TRANSITIONS
from wording import codes
from wording.catalogue import (
    CHANNELS,
    emergency_contacts,
    emergency_response,
    refill_status,
    render,
    result_flag,
    say_error,
)

# What portal_core.safety said before the move, by kind and channel ("text" for web and SMS).
MEDICAL_TEXT = (
    "This sounds like a medical emergency. Call 911 now, or go to the nearest emergency room. "
    "This service cannot send help."
)
MEDICAL_VOICE = (
    "This sounds like a medical emergency. Please hang up and dial 911 now. This service cannot "
    "send help."
)
CRISIS_TEXT = (
    "You are not alone, and help is available right now. Contact the Veterans and Military "
    "Crisis Line: dial 988, then press 1, or text 838255. If you are in immediate danger, call 911."
)
CRISIS_VOICE = (
    "You are not alone, and help is available right now. Please hang up and dial 988, then press "
    "1, to reach the Veterans and Military Crisis Line, or text 838255. If you are in immediate "
    "danger, dial 911."
)


# --- Emergencies (moved from tests/portal_core/test_safety.py with the wording) ----------------


@pytest.mark.parametrize(
    ("kind", "channel", "said"),
    [
        ("medical", "web", MEDICAL_TEXT),
        ("medical", "sms", MEDICAL_TEXT),
        ("medical", "voice", MEDICAL_VOICE),
        ("crisis", "web", CRISIS_TEXT),
        ("crisis", "sms", CRISIS_TEXT),
        ("crisis", "voice", CRISIS_VOICE),
    ],
)
def test_each_emergency_answer_reads_as_before_in_each_channel(
    kind: str, channel: str, said: str
) -> None:
    assert emergency_response(kind, channel) == said


def test_every_kind_the_detector_finds_has_an_answer() -> None:
    assert set(codes.EMERGENCY) == set(codes.EMERGENCY_CONTACTS) == set(safety.KINDS)


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("kind", sorted(safety.KINDS))
def test_an_emergency_written_in_a_message_is_answered_as_the_emergency_itself(
    kind: str, channel: str
) -> None:
    """A secure message or a renewal note about an emergency isn't sent; the person is told
    what the assistant tells anyone who says it, in the channel's words."""
    refused = EmergencyInMessage(safety.Finding(kind=kind, trigger="words"))
    assert say_error(refused, channel) == emergency_response(kind, channel)


@pytest.mark.parametrize("channel", ["web", "sms"])
def test_medical_response_in_writing(channel: str) -> None:
    text = emergency_response("medical", channel)
    assert "Call 911 now" in text and "cannot send help" in text
    assert "hang up" not in text


def test_medical_response_by_voice() -> None:
    text = emergency_response("medical", "voice")
    assert "hang up and dial 911" in text and "cannot send help" in text


@pytest.mark.parametrize("channel", ["web", "sms", "voice"])
def test_crisis_response(channel: str) -> None:
    text = emergency_response("crisis", channel)
    assert "Veterans and Military Crisis Line" in text
    assert "988, then press 1" in text and "text 838255" in text
    assert "immediate danger" in text and "911" in text
    assert not set(text) & set("*_#<>[]`")  # plain text for every channel


@pytest.mark.parametrize("kind", safety.KINDS)
def test_every_number_an_answer_names_is_offered_as_a_link(kind: str) -> None:
    contacts = emergency_contacts(kind)
    text = emergency_response(kind, "web")
    for contact in contacts:
        scheme, number = contact["href"].split(":")
        assert scheme in ("tel", "sms") and number in text and number in contact["label"]
    numbers = {c["href"].split(":")[1] for c in contacts}
    assert numbers == {n for n in ("911", "988", "838255") if n in text}
    with pytest.raises(ValueError):
        emergency_contacts("other")


def test_the_links_read_as_before() -> None:
    assert emergency_contacts("medical") == [{"label": "Call 911", "href": "tel:911"}]
    assert emergency_contacts("crisis") == [
        {"label": "Call 988, then press 1", "href": "tel:988"},
        {"label": "Text 838255", "href": "sms:838255"},
        {"label": "Call 911", "href": "tel:911"},
    ]


def test_response_rejects_unknown_kind_or_channel() -> None:
    with pytest.raises(ValueError):
        emergency_response("other", "web")
    with pytest.raises(ValueError):
        emergency_response("medical", "fax")


# --- Codes in words -----------------------------------------------------------------------------


def test_every_refill_status_reads_as_before() -> None:
    assert set(codes.REFILL_STATUS) == set(REFILL_TRANSITIONS)
    words = {status: refill_status(status) for status in REFILL_TRANSITIONS}
    assert words == {
        "requested": "requested",
        "in_progress": "being filled",
        "ready": "ready for pickup",
        "picked_up": "picked up",
        "cancelled": "cancelled",
    }
    for channel in CHANNELS:
        assert refill_status("ready", channel) == "ready for pickup"


def test_every_result_flag_reads_as_before() -> None:
    words = {flag: result_flag(flag) for flag in codes.RESULT_FLAG}
    assert words == {
        "normal": "normal",
        "high": "high",
        "low": "low",
        "critical_high": "critically high",
        "critical_low": "critically low",
        "abnormal": "abnormal",
    }
    assert result_flag("very_odd") == "very odd"  # a flag the catalogue doesn't know yet


def test_a_choice_among_names_keeps_its_serial_comma() -> None:
    """As the domain joined them: "a or b", "a, b, or c" (wording.formats' serial_or)."""
    assert render("pharmacy.which_one", choices=("X", "Y")) == "Which pharmacy do you mean: X or Y?"
    assert render("pharmacy.which_one", choices=("X", "Y", "Z")) == (
        "Which pharmacy do you mean: X, Y, or Z?"
    )
    assert render("medications.which_one", choices=["A 1 mg", "B 2 mg", "C 3 mg"]) == (
        "Which one do you mean: A 1 mg, B 2 mg, or C 3 mg?"
    )


def test_a_list_of_names_is_joined_with_commas() -> None:
    assert render("pharmacy.not_found_among", pharmacies=["P", "Q", "R"]) == (
        "Sorry, I couldn't find that pharmacy. The pharmacies are: P, Q, R."
    )


def test_a_family_members_medication_list_is_named_as_theirs() -> None:
    """(The patient's own list is checked against the service in test_prescriptions.py.)"""
    said = render(
        "medications.not_listed_theirs",
        query="q" * 80,
        first_name="Noah",
        medications=["Amoxicillin 250 mg", "Cetirizine 5 mg"],
    )
    assert said == (
        f"I couldn't find \"{'q' * 60}\" on Noah's medication list. Noah's current medications "
        "are: Amoxicillin 250 mg, Cetirizine 5 mg."
    )
    assert render("medications.none_active_theirs", first_name="Noah") == (
        "I don't see any active prescriptions on Noah's record."
    )
    assert render("medications.none_active_yours") == (
        "I don't see any active prescriptions on your record."
    )


def test_status_words_inside_a_sentence_follow_the_code() -> None:
    assert render("refill.already_open", medication="Lisinopril 10 mg", status="ready") == (
        "A refill of Lisinopril 10 mg is already ready for pickup, so there's no need to request "
        "another one."
    )
    assert render("refill.illegal_transition", status="picked_up", new_status="cancelled") == (
        "A refill that is picked up can't become cancelled."
    )


def test_a_refill_that_can_go_ahead_counts_what_is_left() -> None:
    assert render("refill.allowed", medication="Lisinopril 10 mg", left=3) == (
        "Lisinopril 10 mg can be refilled. 3 refills left."
    )
    assert render("refill.allowed", medication="Lisinopril 10 mg", left=0) == (
        "Lisinopril 10 mg can be refilled. 0 refills left."
    )
    assert render("refill.allowed_one", medication="Lisinopril 10 mg", left=1) == (
        "Lisinopril 10 mg can be refilled. 1 refill left."
    )


def test_the_too_soon_dates_are_said_with_their_weekday() -> None:
    said = render(
        "refill.too_soon",
        medication="Lisinopril 10 mg",
        last_filled_on=date(2026, 11, 1),
        earliest=date(2026, 11, 24),
    )
    assert said == (
        "It's too soon to refill Lisinopril 10 mg: it was last filled on Sunday, November 1. You "
        "can request a refill on or after Tuesday, November 24."
    )


def test_where_to_get_the_official_immunization_record_reads_as_before() -> None:
    assert render("immunizations.official_record") == (
        "For school, work or travel, download the official immunization record from the patient "
        "portal: sign in, open Health Record, then Immunizations, and choose Download (or Print)."
    )


@pytest.mark.parametrize(
    ("status", "left", "said"),
    [
        (
            "in_progress",
            2,
            "Done. Refill request number 41 for Lisinopril 10 mg is being filled at Main "
            'Pharmacy (254-288-8000). 2 refills left after this one. Ask me "where\'s my refill" '
            "any time.",
        ),
        (
            "ready",
            1,
            "Done. Refill request number 41 for Lisinopril 10 mg is ready for pickup at Main "
            'Pharmacy (254-288-8000). 1 refill left after this one. Ask me "where\'s my refill" '
            "any time.",
        ),
    ],
)
def test_a_requested_refill_is_confirmed_with_its_status_in_words(
    status: str, left: int, said: str
) -> None:
    """The view carries the status code and the count; the confirmation says them as the
    patient knows them ("being filled", "1 refill")."""
    assert (
        render(
            "refill.done",
            number=41,
            medication="Lisinopril 10 mg",
            status=status,
            pharmacy="Main Pharmacy",
            phone="254-288-8000",
            left=left,
        )
        == said
    )
