"""When the portal database can't be reached, every action answers politely and changes nothing.

`portal_core` turns a lost or refused database connection into `Unavailable` after rolling the
transaction back, so no booking or refill is ever half-written. Without this module the action
server would answer Rasa with a 500, Rasa would drop the action's events and the patient would
hear nothing at all. `guard_all()` (called when `bot.actions` is imported) wraps the `run` of
every action of ours so that an outage instead
- drops whatever the action had already said this turn (nothing half-said either),
- says the catalogue's `error.unavailable` ("... nothing was changed. Please try again shortly."),
- and, for a form's validator, clears the slots this turn filled, so the form asks its question
  again rather than keeping an answer nobody checked; for a task's action (book, refill), opens
  the form that just finished again at its last question, so "yes" once more does the task.
The next message simply runs again: the servers recover without a restart once the database
is back (SQLAlchemy's pre-ping replaces the dead connections).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from portal_core.errors import Unavailable
from wording.catalogue import say_error

log = logging.getLogger(__name__)

Run = Callable[[Any, CollectingDispatcher, Tracker, DomainDict], Any]
PACKAGE = "bot.actions"


def undo_events(action: Action, tracker: Tracker) -> list[EventType]:
    """What leaves the conversation as if the failed turn's answers were never given."""
    if isinstance(action, FormValidationAction):
        return [SlotSet(name, None) for name in tracker.slots_to_validate()]
    return reopen_form(tracker)


def reopen_form(tracker: Tracker) -> list[EventType]:
    """A form that finished this turn, open again at its last question, listening.

    A task's action (book, request the refill) runs once its form has finished. When that
    action can't reach the database the task is not done, so the form goes back to its last
    question (the confirmation, usually) and the patient's next "yes" runs the task again,
    instead of landing in a conversation that has moved on.
    """
    events = tracker.events
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    closed = [
        i
        for i, e in enumerate(events)
        if i > last_user and e.get("event") == "active_loop" and e.get("name") is None
    ]
    if not closed:
        return []
    before = events[: closed[-1]]
    form = next(
        (e["name"] for e in reversed(before) if e.get("event") == "active_loop" and e.get("name")),
        None,
    )
    slot = next(
        (
            e["value"]
            for e in reversed(before)
            if e.get("event") == "slot" and e.get("name") == "requested_slot" and e.get("value")
        ),
        None,
    )
    if not form or not slot:
        return []
    return [
        ActiveLoop(form),
        SlotSet(slot, None),
        SlotSet("requested_slot", slot),
        FollowupAction("action_listen"),
    ]


def guarded(run: Run) -> Run:
    """`run`, answering an outage politely instead of failing the action.

    A synchronous `run` stays synchronous and an asynchronous one asynchronous, so callers
    (rasa-sdk, the tests) call it exactly as before.
    """

    def on_outage(
        self: Action, dispatcher: CollectingDispatcher, tracker: Tracker, said_before: int
    ) -> list[EventType]:
        log.warning("%s: the portal database is unavailable", self.name())
        del dispatcher.messages[said_before:]
        dispatcher.utter_message(text=say_error(Unavailable()))
        return undo_events(self, tracker)

    if inspect.iscoroutinefunction(run):

        @functools.wraps(run)
        async def run_async(
            self: Action, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
        ) -> list[EventType]:
            said_before = len(dispatcher.messages)
            try:
                return await run(self, dispatcher, tracker, domain)
            except Unavailable:
                return on_outage(self, dispatcher, tracker, said_before)

        guarded_run: Any = run_async
    else:

        @functools.wraps(run)
        def run_sync(
            self: Action, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
        ) -> list[EventType]:
            said_before = len(dispatcher.messages)
            try:
                return run(self, dispatcher, tracker, domain)
            except Unavailable:
                return on_outage(self, dispatcher, tracker, said_before)

        guarded_run = run_sync
    guarded_run.__genesis_guarded__ = True
    return guarded_run


def _ours(cls: type) -> bool:
    return cls.__module__ == PACKAGE or cls.__module__.startswith(PACKAGE + ".")


def _subclasses(base: type) -> list[type]:
    found, pending = [], [base]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                pending.append(sub)
    return found


def guard_all() -> list[type]:
    """Guard every action class defined in `bot.actions` (once; bases before subclasses)."""
    classes = sorted((c for c in _subclasses(Action) if _ours(c)), key=lambda c: len(c.__mro__))
    done = []
    for cls in classes:
        if not getattr(cls.run, "__genesis_guarded__", False):
            cls.run = guarded(cls.run)  # type: ignore[method-assign]
            done.append(cls)
    return done
