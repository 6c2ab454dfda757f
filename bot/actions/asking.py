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
from wording.catalogue import render, say_error

# The slot a question fills -> its message id in wording.catalogue (the phone's wording there).
QUESTIONS: dict[str, str] = {
    "dob": "ask.dob",
    "dod_last4": "ask.dod_last4",
    "clinic": "ask.clinic",
    "time": "ask.time",
    "message_body": "ask.message_body",
}
RECIPIENT_BUTTONS = [
    {"title": render("recipient.pcm_button"), "payload": "my PCM"},
    {"title": render("recipient.nurse_button"), "payload": "the nurse"},
    {"title": render("recipient.front_desk_button"), "payload": "front desk"},
    {"title": render("recipient.pharmacy_button"), "payload": "pharmacy"},
    {"title": render("recipient.scheduling_button"), "payload": "scheduling"},
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
        turn.say(render(QUESTIONS[self.slot], turn.channel))
        return []


class ActionAskDob(AskQuestion):
    slot = "dob"


class ActionAskDodLast4(AskQuestion):
    slot = "dod_last4"


class ActionAskClinic(AskQuestion):
    slot = "clinic"


class ActionAskTime(AskQuestion):
    slot = "time"


class ActionAskMessageBody(AskQuestion):
    """A question for the nurses goes as a secure message; the Nurse Advice Line is quicker."""

    slot = "message_body"

    def respond(self, turn: Turn) -> list[EventType]:
        if "nurs" not in str(turn.slot("recipient") or "").lower():
            return super().respond(turn)
        turn.say(render("ask.message_body_nurse", settings=portal.settings()))
        return []


class ActionAskRecipient(ConversationAction):
    action_name = "action_ask_recipient"

    def respond(self, turn: Turn) -> list[EventType]:
        turn.say(render("ask.recipient"), buttons=RECIPIENT_BUTTONS)
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
            turn.say(say_error(exc))
            return [SlotSet("task_abandoned", True)]
        family = choosable(family, FORM_CAPABILITY.get(turn.tracker.active_loop_name or ""))
        buttons = [
            {
                "title": render("button.me") if m.is_self else m.first_name,
                "payload": '/inform{"family_member": "%s"}' % ("me" if m.is_self else m.first_name),
            }
            for m in family
        ]
        turn.say(render("ask.for_whom"), buttons=buttons)
        return []
