"""Secure messages to the PCM or a clinic pool, and record corrections through them."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions import portal
from bot.actions.base import ConversationAction, TaskAction, TaskTurn, Turn
from bot.actions.conversation import (
    entity_values,
    latest_intent,
    latest_text,
    speaker_or_error,
)
from bot.actions.task_form import TaskFormValidator, look_up, subject_id
from portal_core import messaging, people
from portal_core.errors import PortalError
from wording.catalogue import render

MAX_BODY = messaging.MAX_BODY_CHARS


# A request that says whom it is for ("send Dr Kim a message", "message the front desk").
NAMES_RECIPIENT = re.compile(
    r"\b(?:dr|doctor|pcm|provider|nurses?|nursing|pharmacy|pharmacist|front desk|scheduling|"
    r"care team)\b",
    re.I,
)


class ValidateMessageForm(TaskFormValidator):
    form = "message_form"

    def on_subject(self, tracker: Tracker, member: people.FamilyMemberView) -> dict[str, Any]:
        """Whom the request already named is not asked for again: "send Dr Kim a message"."""
        request = str(tracker.get_slot("task_request") or "")
        if tracker.get_slot("recipient") or not NAMES_RECIPIENT.search(request):
            return {}
        speaker, _ = speaker_or_error(tracker)
        if speaker is None:
            return {}
        try:
            found = messaging.preview_route(
                portal.database(),
                speaker.actor,
                member.patient_id,
                to=request[:200],
                category=tracker.get_slot("message_category"),
                now=portal.now(),
            )
        except PortalError:
            return {}
        return {"recipient": found.label}

    def extract_recipient(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "recipient":
            return {}
        found = entity_values(tracker, "recipient")
        return {"recipient": (found[0] if found else latest_text(tracker))[:200]}

    def validate_recipient(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        speaker, _ = speaker_or_error(tracker)
        if speaker is None or not tracker.get_slot("subject_id"):
            return {"recipient": value}
        found = look_up(
            dispatcher,
            lambda: messaging.preview_route(
                portal.database(),
                speaker.actor,
                subject_id(tracker),
                to=str(value),
                category=tracker.get_slot("message_category"),
                now=portal.now(),
            ),
        )
        if found is None:
            return {"recipient": None}
        return {"recipient": found.label}

    def extract_message_body(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "message_body":
            return {}
        if latest_intent(tracker) == "emergency":
            return {}  # the emergency rule answers; nothing is filed
        return {"message_body": latest_text(tracker)}

    def validate_message_body(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if not text:
            dispatcher.utter_message(text=render("message.empty"))
            return {"message_body": None}
        if len(text) > MAX_BODY:
            dispatcher.utter_message(text=render("message.too_long", limit=MAX_BODY))
            return {"message_body": None}
        return {"message_body": text}


class ActionAskMessageConfirmed(ConversationAction):
    action_name = "action_ask_message_confirmed"

    def respond(self, turn: Turn) -> list[EventType]:
        body = str(turn.slot("message_body") or "")
        preview = body if len(body) <= 160 else body[:157] + "..."
        turn.say(
            render("message.confirm", recipient=turn.slot("recipient"), preview=preview),
            buttons=[
                {"title": render("message.send_button"), "payload": "/affirm"},
                {"title": render("message.dont_send_button"), "payload": "/deny"},
            ],
        )
        return []


class ActionSendMessage(TaskAction[messaging.SentMessageView]):
    action_name = "action_send_message"
    confirm_slot = "message_confirmed"
    declined = "message.declined"

    def call(self, turn: TaskTurn) -> messaging.SentMessageView:
        return messaging.send_message(
            portal.database(),
            turn.actor,
            turn.subject_id,
            to=str(turn.slot("recipient")),
            body=str(turn.slot("message_body")),
            category=turn.slot("message_category"),
            now=portal.now(),
            settings=portal.settings(),
        )

    def render(self, turn: TaskTurn, view: messaging.SentMessageView) -> list[EventType]:
        turn.say(
            render(
                "message.sent",
                recipient=view.recipient,
                reply_due_on=view.reply_due_on,
                settings=portal.settings(),
            )
        )
        return []
