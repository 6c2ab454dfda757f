"""The questions forms ask that need no lookup, kept beside the code that reads the answers.

They are actions rather than domain responses so that `rasa data validate --fail-on-warnings`
stays clean (it counts form questions as unused responses) and so the phone wording can differ.
"""

from __future__ import annotations

from abc import abstractmethod

from rasa_sdk.events import EventType, SlotSet

from bot.actions import portal
from bot.actions.base import ConversationAction, Turn
from bot.actions.conversation import speaker_or_error
from bot.actions.history import FORM_CAPABILITY
from bot.actions.task_form import choosable
from portal_core import people
from portal_core.errors import PortalError

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


class AskQuestion(ConversationAction):
    """A form's question, worded for the channel (the phone's wording where it has its own)."""

    @property
    @abstractmethod
    def slot(self) -> str:
        """The slot the question fills."""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def respond(self, turn: Turn) -> list[EventType]:
        wording = QUESTIONS[self.slot]
        turn.say(wording.get(turn.channel, wording["text"]))
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

    def respond(self, turn: Turn) -> list[EventType]:
        if "nurs" not in str(turn.slot("recipient") or "").lower():
            return super().respond(turn)
        turn.say(
            "I'll send your question to the nurses as a secure message; they typically "
            "answer within three business days. For advice sooner, call the Nurse Advice "
            f"Line at {NURSE_LINE} (24/7). What would you like to ask? For an emergency, "
            "call 911."
        )
        return []


class ActionAskRecipient(ConversationAction):
    action_name = "action_ask_recipient"

    def respond(self, turn: Turn) -> list[EventType]:
        turn.say("Who should the message go to?", buttons=RECIPIENT_BUTTONS)
        return []


class ActionAskForWhom(ConversationAction):
    """Offer the people the speaker may act for, as buttons."""

    action_name = "action_ask_for_whom"

    def respond(self, turn: Turn) -> list[EventType]:
        speaker, _ = speaker_or_error(turn.tracker)
        if speaker is None:
            return []
        try:
            family = people.family_members(portal.database(), speaker.actor, now=portal.now())
        except PortalError as exc:
            turn.say(exc.user_message)
            return [SlotSet("task_abandoned", True)]
        family = choosable(family, FORM_CAPABILITY.get(turn.tracker.active_loop_name or ""))
        buttons = [
            {
                "title": "Me" if m.is_self else m.first_name,
                "payload": '/inform{"family_member": "%s"}' % ("me" if m.is_self else m.first_name),
            }
            for m in family
        ]
        turn.say("Who is this for?", buttons=buttons)
        return []
