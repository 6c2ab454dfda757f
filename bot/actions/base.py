"""The two shapes every action of ours takes, so each action holds only what is its own.

As in RasaHQ's financial-demo, actions are split by concern (appointments, medications,
records...) over shared bases:
- `ConversationAction`: a named action that answers a `Turn` (an "ask" action, the fallback).
- `TaskAction`: the step that carries out a finished task form. It gathers who is speaking and
  whom the task is for (ending quietly when the form was abandoned, or saying `declined` when the
  person answered no to the confirmation), makes its one portal_core call, renders the returned
  view or the typed error (`wording.catalogue.say_error`), and forgets the task's slots.
Both are abstract, so rasa-sdk (which skips `inspect.isabstract` classes) registers only the
real actions built on them, never an action named after an empty string.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.conversation import Speaker, channel_of
from bot.actions.task_form import reset_task_slots, subject_id, task_speaker
from portal_core.actors import Actor
from portal_core.errors import PortalError
from wording.catalogue import render, say_error

View = TypeVar("View")


@dataclass(frozen=True)
class Turn:
    """This turn as an action sees it: the tracker to read, the dispatcher to answer through."""

    dispatcher: CollectingDispatcher
    tracker: Tracker

    def say(self, text: str | None = None, **parts: Any) -> None:
        self.dispatcher.utter_message(text=text, **parts)

    def slot(self, name: str) -> Any:
        return self.tracker.get_slot(name)

    @property
    def channel(self) -> str:
        return channel_of(self.tracker)


@dataclass(frozen=True)
class TaskTurn(Turn):
    """A turn whose speaker is verified (and premium, or the form would have ended)."""

    speaker: Speaker

    @property
    def actor(self) -> Actor:
        return self.speaker.actor

    @property
    def subject_id(self) -> int:
        """The patient the task is for, as the form settled it."""
        return subject_id(self.tracker)


class ConversationAction(Action, ABC):
    """An action named `action_name` whose whole work is `respond`."""

    action_name: ClassVar[str] = ""

    def name(self) -> str:
        return self.action_name

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return self.respond(Turn(dispatcher, tracker))

    @abstractmethod
    def respond(self, turn: Turn) -> list[EventType]:
        """Answer the turn; the events it returns."""


class TaskAction(ConversationAction, Generic[View]):
    """Carries out a finished task form: one portal_core call, its answer, the task forgotten.

    `confirm_slot` names the form's closing yes/no slot (None when the form asks none);
    `declined` (a message id in `wording.catalogue`) is said when the answer was no. The typed
    errors in `fails_with` are answered with `say_error` (or the message `failure`
    names when an error carries none; PortalError's default sentence without one).
    """

    confirm_slot: ClassVar[str | None] = None
    declined: ClassVar[str] = ""
    fails_with: ClassVar[tuple[type[Exception], ...]] = (PortalError,)
    failure: ClassVar[str | None] = None

    def respond(self, turn: Turn) -> list[EventType]:
        declined = render(self.declined) if self.declined else ""
        speaker = task_speaker(turn.dispatcher, turn.tracker, self.confirm_slot, declined)
        if speaker is None:
            return reset_task_slots()
        task = TaskTurn(turn.dispatcher, turn.tracker, speaker)
        try:
            view = self.call(task)
        except self.fails_with as error:
            after = self.refused(task, error)
        else:
            after = self.render(task, view)
        return [*reset_task_slots(), *after]

    @abstractmethod
    def call(self, turn: TaskTurn) -> View:
        """The one portal_core call this task makes."""

    @abstractmethod
    def render(self, turn: TaskTurn, view: View) -> list[EventType]:
        """Say what the call returned; events beyond forgetting the task (an offer, say)."""

    def refused(self, turn: TaskTurn, error: Exception) -> list[EventType]:
        """Say why the call was refused; events beyond forgetting the task."""
        failure = render(self.failure or PortalError.default_key)
        turn.say(say_error(error, turn.channel) if isinstance(error, PortalError) else failure)
        return []
