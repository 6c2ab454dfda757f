"""The questions forms ask that need no lookup, kept beside the code that reads the answers.

They are actions rather than domain responses so that `rasa data validate --fail-on-warnings`
stays clean (it counts form questions as unused responses) and so the phone wording can differ.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.conversation import channel_of

QUESTIONS: dict[str, dict[str, str]] = {
    "dob": {
        "text": "First I need to confirm who you are. What is your date of birth? "
        "(for example 06/15/1985)",
        "voice": "First I need to confirm who you are. Please say or key in your date of birth, "
        "as two digits for the month, two for the day and four for the year.",
    },
    "dod_last4": {
        "text": "Thanks. What are the last four digits of your DoD ID number?",
        "voice": "Thanks. Now say or key in the last four digits of your DoD ID number.",
    },
    "clinic": {"text": "Which clinic would you like?"},
    "time": {
        "text": 'When would you like to come in? You can say something like "next Tuesday '
        'morning" or "as soon as possible".'
    },
    "message_body": {
        "text": "What would you like to say? Please don't include anything urgent: for an "
        "emergency, call 911."
    },
}
RECIPIENT_BUTTONS = [
    {"title": "My PCM", "payload": "my PCM"},
    {"title": "Nurse", "payload": "the nurse"},
    {"title": "Front desk", "payload": "front desk"},
    {"title": "Pharmacy", "payload": "pharmacy"},
    {"title": "Scheduling", "payload": "scheduling"},
]


class AskQuestion(Action):
    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        wording = QUESTIONS[self.slot]
        dispatcher.utter_message(text=wording.get(channel_of(tracker), wording["text"]))
        return []


class ActionAskDob(AskQuestion):
    slot = "dob"


class ActionAskDodLast4(AskQuestion):
    slot = "dod_last4"


class ActionAskClinic(AskQuestion):
    slot = "clinic"


class ActionAskTime(AskQuestion):
    slot = "time"


NURSE_LINE = "1-800-874-2273, option 1"


class ActionAskMessageBody(AskQuestion):
    """A question for the nurses goes as a secure message; the Nurse Advice Line is quicker."""

    slot = "message_body"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if "nurs" not in str(tracker.get_slot("recipient") or "").lower():
            return super().run(dispatcher, tracker, domain)
        dispatcher.utter_message(
            text=(
                "I'll send your question to the nurses as a secure message; they typically "
                "answer within three business days. For advice sooner, call the Nurse Advice "
                f"Line at {NURSE_LINE} (24/7). What would you like to ask? For an emergency, "
                "call 911."
            )
        )
        return []


class ActionAskRecipient(Action):
    def name(self) -> str:
        return "action_ask_recipient"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text="Who should the message go to?", buttons=RECIPIENT_BUTTONS)
        return []
