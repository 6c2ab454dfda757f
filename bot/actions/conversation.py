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
from portal_core import access, identity, web_tokens
from portal_core.actors import Actor
from portal_core.errors import PortalError
from wording.catalogue import say_error

# The phone channels, by the conversation-id prefix and the input channel that only our signed
# Twilio channels produce (bot/channels/twilio_*.py). Our REST channel namespaces every id it
# makes under `web:` and always says `rest`, so no web client can reach either pair.
PHONE_CHANNELS = {"sms": "twilio_sms", "voice": "twilio_voice"}
# Entity values the CRF sometimes picks from filler words ("a", "For").
FILLER_ENTITIES = frozenset({"a", "an", "the", "for", "to", "my", "in", "on", "at", "of", "it"})
# `web:p<patient>:...`: a web conversation the channel bound to the patient its token named.
WEB_BOUND = re.compile(r"^web:p(\d+):")


@dataclass(frozen=True)
class Speaker:
    actor: Actor
    assurance_level: str

    @property
    def premium(self) -> bool:
        return access.is_premium(self.assurance_level)


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


_SPEAKER = "_genesis_speaker"  # where a Tracker keeps its speaker once looked up
_UNKNOWN = object()


def current_speaker(tracker: Tracker) -> Speaker | None:
    """The verified person behind this turn, or None; raises PortalError for a bad token.

    Looked up once per action call and kept on its Tracker (rasa-sdk builds a new one for each
    call): a form's validation asks who is speaking a dozen times, and each phone lookup is a
    database transaction. Verifying the caller mid-call replaces it (`remember_speaker`)."""
    known = getattr(tracker, _SPEAKER, _UNKNOWN)
    if known is not _UNKNOWN:
        return known  # type: ignore[return-value]
    speaker = _look_up_speaker(tracker)
    setattr(tracker, _SPEAKER, speaker)
    return speaker


def remember_speaker(tracker: Tracker, speaker: Speaker) -> None:
    """The caller was just verified: `speaker`, as `identity.verify` returned them, speaks for
    the rest of this action call (no second lookup of what was just written)."""
    setattr(tracker, _SPEAKER, speaker)


def _look_up_speaker(tracker: Tracker) -> Speaker | None:
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
        actor = Actor(who.patient_id, "web", session=session_key(tracker))
        return Speaker(actor, who.assurance_level)
    found = identity.current_identity(
        portal.database(),
        session_key(tracker),
        channel=channel,
        phone=phone_of(tracker),
        now=portal.now(),
        settings=portal.settings(),
    )
    if found is None:
        return None
    return Speaker(found.actor, found.assurance_level)


def speaker_or_error(tracker: Tracker) -> tuple[Speaker | None, str | None]:
    """(speaker, None), or (None, a message to show) when the token is bad or expired."""
    try:
        return current_speaker(tracker), None
    except PortalError as exc:
        return None, say_error(exc)


def latest_intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "").strip()


def entity_values(tracker: Tracker, entity: str) -> list[str]:
    return [str(v) for v in tracker.get_latest_entity_values(entity)]


def usable(value: Any) -> str | None:
    """An entity value worth reading: those the CRF picked from filler words are ignored."""
    text = str(value or "").strip()
    return text if text and text.lower() not in FILLER_ENTITIES and len(text) > 1 else None


def value_before_turn(tracker: Tracker, name: str) -> Any:
    """A slot's value before the latest user message."""
    users = [i for i, event in enumerate(tracker.events) if event.get("event") == "user"]
    before = tracker.events[: users[-1]] if users else []
    value = None
    for event in before:
        if event.get("event") == "slot" and event.get("name") == name:
            value = event.get("value")
    return value
