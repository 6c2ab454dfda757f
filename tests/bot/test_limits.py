"""The one bound every channel applies before NLU, and the tracker redaction of identity answers."""

from __future__ import annotations

from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.actions import sealed
from bot.channels import limits
from bot.tracker_store import REDACTED, redact_identity_answers


def test_short_text_passes_unchanged() -> None:
    assert limits.bound("refill my lisinopril") == limits.Bounded("refill my lisinopril", False)


def test_long_text_is_cut_to_the_bound() -> None:
    bounded = limits.bound("word " * 5000)
    assert bounded.cut and len(bounded.text) <= limits.MAX_MESSAGE_CHARS


def test_an_emergency_past_the_bound_is_what_is_kept() -> None:
    text = "question about parking " * 300 + "my son swallowed bleach"
    bounded = limits.bound(text)
    assert bounded.cut and "swallowed bleach" in bounded.text
    assert len(bounded.text) <= limits.MAX_MESSAGE_CHARS


def test_control_and_bidirectional_characters_are_removed() -> None:
    bounded = limits.bound("hello\x00\x1b[31m\u202eworld\u2066 ok\n")
    assert "\x00" not in bounded.text and "\u202e" not in bounded.text
    assert "\u2066" not in bounded.text and "\x1b" not in bounded.text
    assert "hello" in bounded.text and "world" in bounded.text


def test_emoji_survive() -> None:
    assert limits.bound("💊 refill pls 🙏").text == "💊 refill pls 🙏"


def test_non_text_is_empty() -> None:
    assert limits.bound(None).text == ""  # type: ignore[arg-type]


def _tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("sms:+12025550100", list(events))


def test_identity_answers_are_redacted_and_nothing_else() -> None:
    tracker = _tracker(
        UserUttered("show me my results", {"name": "check_results"}),
        ActionExecuted("results_form"),
        SlotSet("requested_slot", "dob"),
        BotUttered("What's your date of birth?"),
        UserUttered("09/11/1984", {"name": "inform"}),
        SlotSet("requested_slot", "dod_last4"),
        UserUttered("4821", {"name": "inform"}),
        SlotSet("dod_last4", "verified"),
        SlotSet("requested_slot", None),
        UserUttered("thanks", {"name": "thank"}),
    )
    assert redact_identity_answers(tracker) == 2
    said = [e.text for e in tracker.events if isinstance(e, UserUttered)]
    assert said == ["show me my results", REDACTED, REDACTED, "thanks"]
    dumped = str([e.as_dict() for e in tracker.events])
    assert "09/11/1984" not in dumped and "4821" not in dumped


def test_a_sealed_value_opens_only_with_the_same_key(monkeypatch) -> None:
    monkeypatch.setenv("GENESIS_ACTION_TOKEN", "k" * 48)
    box = sealed.seal("1984-09-11")
    assert "1984" not in box and sealed.unseal(box) == "1984-09-11"
    monkeypatch.setenv("GENESIS_ACTION_TOKEN", "other" * 10)
    assert sealed.unseal(box) is None
    assert sealed.unseal("1984-09-11") is None  # a slot set through the API is not trusted
    assert sealed.unseal("sealed:garbage") is None
