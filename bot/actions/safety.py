"""The emergency answer: said first, ends whatever task was under way, alerts the care team."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet

from bot.actions import portal
from bot.actions.base import ConversationAction, Turn
from bot.actions.conversation import channel_of, latest_text, speaker_or_error
from bot.actions.task_form import reset_task_slots
from portal_core import safety
from wording.catalogue import emergency_contacts, emergency_response

log = logging.getLogger(__name__)


def pipeline_finding(tracker: Tracker) -> safety.Finding | None:
    """The finding the NLU pipeline reported as its `emergency_kind` entity.

    The lexicon is re-run here to quote its trigger words; a finding of the pipeline's learned
    layer (portal_core.safety_semantic, which needs the sentence encoder this server does not
    load) is known only from the entity, and its trigger is the message itself.
    """
    message = tracker.latest_message or {}
    text = str(message.get("text") or "")
    for entity in message.get("entities") or []:
        if entity.get("entity") != "emergency_kind" or entity.get("value") not in safety.KINDS:
            continue
        start, end = entity.get("start"), entity.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            start, end = 0, len(text)
        return safety.Finding(
            str(entity["value"]), text[start:end].strip(), start, end, rule="pipeline"
        )
    return None


class ActionEmergency(ConversationAction):
    action_name = "action_emergency"

    def respond(self, turn: Turn) -> list[EventType]:
        channel = channel_of(turn.tracker)
        finding = safety.detect(latest_text(turn.tracker)) or pipeline_finding(turn.tracker)
        kind = finding.kind if finding else (turn.tracker.get_slot("emergency_kind") or "medical")
        # The answer goes out before anything that could fail (database, alerting).
        payload: dict[str, Any] = {"emergency": kind}
        if channel == "web":  # the widget's banner offers these as tap-to-call links
            payload["contacts"] = emergency_contacts(kind, channel)
        turn.say(text=emergency_response(kind, channel), json_message=payload)
        speaker, _ = speaker_or_error(turn.tracker)
        if speaker is not None and finding is not None:
            try:
                safety.raise_alert(
                    portal.database(),
                    speaker.actor,
                    speaker.actor.patient_id,
                    finding,
                    channel,
                    now=portal.now(),
                )
            except Exception:  # noqa: BLE001 - alerting must never block the answer
                log.exception("could not raise the care-team alert")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *reset_task_slots()]
