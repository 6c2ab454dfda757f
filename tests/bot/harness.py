"""Drive actions with rasa-sdk's own Tracker and CollectingDispatcher, no servers needed.

`Conversation` keeps slots the way Rasa would (applying SlotSet events) so a form's validator,
its ask actions and its submit action can be exercised turn by turn against a real database.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

DOMAIN: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bot" / "domain.yml").read_text()
)


def _await(awaitable: Any) -> Any:
    """Run an async action to completion, even when the thread already has a running loop
    (Playwright's sync API keeps one running once the browser tests have started)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(awaitable)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, awaitable).result()


class Conversation:
    def __init__(
        self,
        sender: str,
        metadata: dict[str, Any] | None = None,
        input_channel: str | None = None,
    ) -> None:
        self.sender = sender
        self.metadata = metadata or {}
        self.input_channel = input_channel  # `twilio_sms`/`twilio_voice`: what a channel says
        self.slots: dict[str, Any] = {name: None for name in DOMAIN["slots"]}
        self.slots["requested_slot"] = None
        self.latest: dict[str, Any] = {"text": "", "intent": {"name": None}, "entities": []}
        self.active_loop: str | None = None
        self.said: list[dict[str, Any]] = []
        self.turn_events: list[dict[str, Any]] = []

    def user(
        self, text: str, intent: str = "inform", entities: dict[str, str] | None = None
    ) -> None:
        ents = [{"entity": k, "value": v} for k, v in (entities or {}).items()]
        self.latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0},
            "entities": ents,
            "metadata": self.metadata,
        }
        self.turn_events = [
            {
                "event": "user",
                "text": text,
                "parse_data": self.latest,
                "input_channel": self.input_channel,
            }
        ]
        for name, value in (entities or {}).items():  # the domain's from_entity mappings
            if name in self.slots:
                self.slots[name] = value
                self.turn_events.append(SlotSet(name, value))

    def tracker(self) -> Tracker:
        return Tracker(
            sender_id=self.sender,
            slots=dict(self.slots),
            latest_message=self.latest,
            events=list(self.turn_events),
            paused=False,
            followup_action=None,
            active_loop={"name": self.active_loop} if self.active_loop else {},
            latest_action_name="action_listen",
        )

    def run(self, action: Action) -> list[dict[str, Any]]:
        """Run an action, apply its slot events, return what it said."""
        dispatcher = CollectingDispatcher()
        result = action.run(dispatcher, self.tracker(), DOMAIN)
        events = _await(result) if inspect.isawaitable(result) else result
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
            if event.get("event") == "active_loop":
                self.active_loop = event.get("name")
        self.said.extend(dispatcher.messages)
        named = [e["name"] for e in events if e.get("event") == "slot"]
        if isinstance(action, FormValidationAction) and "requested_slot" not in named:
            # What Rasa's FormAction does when the validator keeps the domain's slot order.
            form = DOMAIN["forms"][action.form_name()]["required_slots"]
            self.slots["requested_slot"] = next((n for n in form if self.slots[n] is None), None)
        return dispatcher.messages

    def texts(self) -> str:
        return "\n".join(str(m.get("text") or "") for m in self.said)


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e == SlotSet(e["name"], e["value"])}
