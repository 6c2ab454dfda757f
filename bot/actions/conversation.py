"""What an action needs to know about the conversation: channel, phone, token, speaker.

Identity is never taken from slots (a slot can be set through the HTTP API); it is asked of
portal_core on every turn: the web chat's signed portal token, or the verified session that
phone and SMS conversations establish with date of birth and DoD ID digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker

from bot.actions import portal
from portal_core import identity, web_tokens
from portal_core.actors import Actor
from portal_core.errors import PortalError

# The phone channels, by the conversation-id prefix and the input channel that only our signed
# Twilio channels produce (bot/channels/twilio_*.py). Our REST channel namespaces every id it
# makes under `web:` and always says `rest`, so no web client can reach either pair.
PHONE_CHANNELS = {"sms": "twilio_sms", "voice": "twilio_voice"}
# `web:p<patient>:...`: a web conversation the channel bound to the patient its token named.
WEB_BOUND = re.compile(r"^web:p(\d+):")


@dataclass(frozen=True)
class Speaker:
    actor: Actor
    premium: bool


def metadata(tracker: Tracker) -> dict[str, Any]:
    meta = (tracker.latest_message or {}).get("metadata") or {}
    return meta if isinstance(meta, dict) else {}


def channel_of(tracker: Tracker) -> str:
    """`sms` or `voice` only for a conversation a signed Twilio channel made; otherwise `web`.

    Never read from metadata: a client can write anything there.
    """
    prefix = str(tracker.sender_id).split(":", 1)[0]
    input_channel = tracker.get_latest_input_channel()
    if prefix in PHONE_CHANNELS and PHONE_CHANNELS[prefix] == input_channel:
        return prefix
    return "web"


def phone_of(tracker: Tracker) -> str | None:
    """The number a Twilio channel verified the request came from (None on the web).

    SMS conversations are named after the number (`sms:+1...`); a call's number is in the
    metadata the voice channel itself writes, trusted only because `channel_of` says `voice`.
    """
    channel = channel_of(tracker)
    if channel == "sms":
        return str(tracker.sender_id).split(":", 1)[1] or None
    if channel == "voice":
        value = metadata(tracker).get("phone")
        return value if isinstance(value, str) and value else None
    return None


def session_key(tracker: Tracker) -> str:
    return tracker.sender_id


def current_speaker(tracker: Tracker) -> Speaker | None:
    """The verified person behind this turn, or None; raises PortalError for a bad token."""
    channel = channel_of(tracker)
    token = metadata(tracker).get("portal_token")
    if channel == "web":
        if not token:
            return None
        who = web_tokens.read_token(str(token), now=portal.now(), settings=portal.settings())
        bound = WEB_BOUND.match(str(tracker.sender_id))
        if bound and int(bound.group(1)) != who.patient_id:
            # A conversation the channel bound to one patient, continued with another's token.
            raise web_tokens.InvalidToken()
        return Speaker(Actor(who.patient_id, "web"), who.assurance_level == "premium")
    found = identity.current_identity(
        portal.database(), session_key(tracker), now=portal.now(), settings=portal.settings()
    )
    if found is None:
        return None
    return Speaker(Actor(found.patient_id, channel), found.assurance_level == "premium")


def speaker_or_error(tracker: Tracker) -> tuple[Speaker | None, str | None]:
    """(speaker, None), or (None, a message to show) when the token is bad or expired."""
    try:
        return current_speaker(tracker), None
    except PortalError as exc:
        return None, exc.user_message


def latest_intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "").strip()


def entity_values(tracker: Tracker, entity: str) -> list[str]:
    return [str(v) for v in tracker.get_latest_entity_values(entity)]
