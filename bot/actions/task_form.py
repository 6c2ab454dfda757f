"""The base of every task form: who is speaking, who the task is for, and leaving politely.

Each form that touches a record (booking, refills, results, messages...) subclasses
`TaskFormValidator`. Before any detail is collected it
- refuses politely when the web chat has no valid portal session, or the account is basic;
- on phone and SMS, prepends `dob` and `dod_last4` to the required slots until portal_core has
  verified the caller (and ends the task on lockout);
- settles `for_whom` (the patient the task is for) through portal_core's family rules.
A refusal sets `task_abandoned`, which empties the required slots so the form ends at once and
the task's action says nothing more.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict
from rasa_sdk.utils import call_potential_coroutine

from bot import forms
from bot.actions import portal, sealed
from bot.actions.conversation import (
    Speaker,
    channel_of,
    entity_values,
    latest_intent,
    latest_text,
    phone_of,
    remember_speaker,
    session_key,
    speaker_or_error,
    usable,
    value_before_turn,
)
from bot.actions.history import is_elliptical, last_task, subject_of
from portal_core import access, identity, people
from portal_core.errors import LockedOut, PortalError, PremiumRequired
from portal_core.proxy import Capability
from understanding import numbers, relations
from wording.catalogue import render, say_error

VERIFY_SLOTS = ["dob", "dod_last4"]
_FAMILY = "_genesis_family"  # where a Tracker keeps (speaker, family) once read
VALIDATED_FORMS: set[str] = set()  # the forms with a validator, as bot.actions defines them
TASK_SLOTS = [
    "for_whom",
    "subject_id",
    "subject_name",
    "family_member",
    "task_abandoned",
    "task_request",
    "offered",
    "appointment_type",
    "clinic",
    "time",
    "slot_choice",
    "booking_confirmed",
    "appointment_choice",
    "cancel_confirmed",
    "medication",
    "pharmacy",
    "refill_confirmed",
    "renewal_confirmed",
    "result_type",
    "recipient",
    "message_body",
    "message_confirmed",
    "message_category",
    "dob",
    "dod_last4",
]
STOP_WORDS = re.compile(
    r"^\s*(?:stop|cancel|cancel that|never ?mind|nevermind|nvm|forget it|quit|exit|"
    r"start over|no thanks|not now)\s*[.!]*\s*$",
    re.IGNORECASE,
)
# What the interruption rules (bot/forms.py) answer while a form is active: the form rejects
# these turns; any other turn it cannot read, it asks again.
# (Words nobody understood reach the form after the fallback has answered them: asked again.)
ANSWERED_BY_RULES = forms.answered_by_rules()
# Of those, the ones always left to the rules; an emergency and a "no" are read first (`_run`,
# `_is_digression`).
QUESTIONS = ANSWERED_BY_RULES - {"emergency", "deny"}
# Slots whose answer is whatever the person says, questions included.
FREE_TEXT = frozenset({"message_body"})
# Slots whose question a plain "no" answers.
ANSWERED_BY_NO = frozenset(
    {
        "booking_confirmed",
        "cancel_confirmed",
        "refill_confirmed",
        "renewal_confirmed",
        "message_confirmed",
        "slot_choice",
        "pharmacy",
    }
)
YES = re.compile(r"^\s*(?:y|yes|yeah|yep|yup|sure|ok|okay|correct|confirm|please do)\b", re.I)
NO = re.compile(r"^\s*(?:n|no|nope|nah|don'?t|do not|not)\b", re.I)


def _verified_now(events: list[EventType]) -> bool:
    return any(
        e.get("event") == "slot" and e.get("name") == "dod_last4" and e.get("value") == "verified"
        for e in events
    )


def _answers_identity(text: str) -> bool:
    """A date of birth or DoD digits, typed or spoken ("5512", "may tenth nineteen eighty six")."""
    if len(numbers.spoken_digits(text)) >= 4:
        return True
    try:
        identity.parse_date_of_birth(text)
    except PortalError:
        return False
    return True


Found = TypeVar("Found")


def look_up(dispatcher: CollectingDispatcher, find: Callable[[], Found]) -> Found | None:
    """What `find` returns, or None once the typed error it raised has been said: a detail
    portal_core can't place (an unknown clinic, an ambiguous medication) is asked again."""
    try:
        return find()
    except PortalError as exc:
        dispatcher.utter_message(text=say_error(exc))
        return None


def reset_task_slots() -> list[EventType]:
    """Forget everything the finished task collected (privacy, and no stale answers)."""
    return [SlotSet(name, None) for name in TASK_SLOTS]


def yes_no(tracker: Tracker) -> bool | None:
    intent = latest_intent(tracker)
    if intent == "affirm":
        return True
    if intent == "deny":
        return False
    text = latest_text(tracker)
    if YES.match(text):
        return True
    if NO.match(text):
        return False
    return None


class TaskFormValidator(FormValidationAction):
    """Shared gatekeeping for every task form; subclasses add their own slots."""

    # From the task's row in `bot.forms.TASKS`, set as each validator is defined.
    capability: Capability
    asks_for_whom: bool

    @property
    @abstractmethod
    def form(self) -> str:
        """The form this validates; a subclass names it as a class attribute (abstract here so
        that rasa-sdk never registers this base as an action called `validate_`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        form = cls.__dict__.get("form")
        if isinstance(form, str):
            task = forms.task_of_form(form)
            cls.capability, cls.asks_for_whom = task.capability, task.asks_for_whom
            VALIDATED_FORMS.add(form)

    def name(self) -> str:
        return f"validate_{self.form}"

    # ---- the gate ---------------------------------------------------------------------------

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Every typed error is answered: one escaping here would leave the person with no
        answer at all (SMS) or "didn't catch that" (voice)."""
        try:
            return await self._run(dispatcher, tracker, domain)
        except PortalError as exc:
            dispatcher.utter_message(text=say_error(exc))
            return [SlotSet("task_abandoned", True), SlotSet("requested_slot", None)]

    async def _run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("task_abandoned"):
            return [SlotSet("requested_slot", None)]
        if latest_intent(tracker) == "emergency":
            return []  # fill nothing: the form rejects this turn and the emergency rule answers
        if self._wants_to_stop(tracker):
            dispatcher.utter_message(text=render("task.stopped"))
            return [SlotSet("task_abandoned", True), SlotSet("requested_slot", None)]
        if self._is_digression(tracker):
            return []  # a question: the rules answer it and the form then asks again
        # A date of birth is not the appointment day: "may 10th 1986" answers the identity
        # question only, whatever entities the model found in it.
        stray = self._stray_slots(tracker)
        refusal = self._refusal(tracker)
        if refusal:
            dispatcher.utter_message(text=refusal)
            return [SlotSet("task_abandoned", True), SlotSet("requested_slot", None)]
        # The request that started the task, kept so that "book my son in" still counts after
        # a phone caller has been asked for their date of birth and DoD digits.
        early: list[EventType] = []
        if tracker.get_slot("task_request") is None:
            early.append(SlotSet("task_request", latest_text(tracker)[:300]))
        # Whom the task is for is settled before any other slot is validated, because the
        # other slots (a medication, an appointment) are looked up in that person's record.
        tracker.add_slots(early)
        settled = self._settle_subject(dispatcher, tracker, self.domain_slots(domain))
        tracker.add_slots(settled)
        early += settled
        if tracker.get_slot("task_abandoned"):
            return [*early, SlotSet("requested_slot", None)]
        events = early + await super().run(dispatcher, tracker, domain) + stray
        events += self._ask_again_if_unread(dispatcher, tracker, events)
        if _verified_now(events):
            events += await self._after_verification(dispatcher, tracker, domain)
        return events

    async def _after_verification(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """The caller was verified this turn: settle whom the task is for now, from the request
        that started it, so nobody is asked "Who is this for?" when the request already says
        (or when they act for nobody else). A basic account is told why it stops here."""
        refusal = self._refusal(tracker)
        if refusal:
            dispatcher.utter_message(text=refusal)
            return [SlotSet("task_abandoned", True), SlotSet("requested_slot", None)]
        settled = self._settle_subject(dispatcher, tracker, self.domain_slots(domain))
        if not settled:
            return []
        tracker.add_slots(settled)
        if tracker.get_slot("task_abandoned"):
            return [*settled, SlotSet("requested_slot", None)]
        checked = await self._validate_again(settled, dispatcher, tracker, domain)
        tracker.add_slots(checked)
        following = await self.next_requested_slot(dispatcher, tracker, domain)
        return settled + checked + ([following] if following else [])

    async def _validate_again(
        self,
        settled: list[EventType],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        """Details named before verification ("refill my fluticasone") are checked now, in the
        record of the person the task turned out to be for."""
        events: list[EventType] = []
        for event in settled:
            name, value = event.get("name"), event.get("value")
            validate = getattr(self, f"validate_{name}", None)
            if name in ("for_whom", "subject_id", "subject_name") or value is None or not validate:
                continue
            result = await call_potential_coroutine(validate(value, dispatcher, tracker, domain))
            events += [SlotSet(slot, slot_value) for slot, slot_value in (result or {}).items()]
        return events

    def _ask_again_if_unread(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, events: list[EventType]
    ) -> list[EventType]:
        """An answer the form could not read keeps the form on its question, unless a rule
        answers that kind of turn (an emergency, a question, a plain "no"). Rejecting any other
        turn left no rule to answer it: the core fallback ran, changed nothing and was predicted
        again, ten times ("didn't get that" x10, then "trouble answering"), as seen at the
        message preview after a second request.
        """
        requested = tracker.get_slot("requested_slot")
        if not requested or latest_intent(tracker) in ANSWERED_BY_RULES:
            return []
        if any(e.get("event") == "slot" and e.get("name") != "requested_slot" for e in events):
            return []
        if not dispatcher.messages:  # say why the question comes again, unless a validator did
            why = "task.yes_or_no" if requested.endswith("_confirmed") else "task.not_read"
            dispatcher.utter_message(text=render(why))
        return [SlotSet(requested, None)]

    def _stray_slots(self, tracker: Tracker) -> list[EventType]:
        """Task slots the model filled from an answer to an identity question, put back."""
        if tracker.get_slot("requested_slot") not in VERIFY_SLOTS:
            return []
        names = [
            n for n in tracker.slots_to_validate() if n not in (*VERIFY_SLOTS, "requested_slot")
        ]
        return [SlotSet(name, value_before_turn(tracker, name)) for name in names]

    def _speaks(self, tracker: Tracker) -> bool:
        speaker, _ = speaker_or_error(tracker)
        return speaker is not None

    def _is_digression(self, tracker: Tracker) -> bool:
        """A question or a plain "no" while a detail is asked: the rules take that turn.

        Yes/no questions and the choice of a time read "no" themselves, and a "no" that carries
        a new detail ("no, Thursday") is a correction, not a digression.
        """
        requested = tracker.get_slot("requested_slot")
        if not requested or requested in FREE_TEXT:
            return False  # whatever is typed after "What would you like to say?" is the message
        if requested in VERIFY_SLOTS and _answers_identity(latest_text(tracker)):
            return False  # digits and dates are read by their shape, whatever the model says
        intent = latest_intent(tracker)
        if intent == "deny":
            short = len(latest_text(tracker).split()) <= 3
            return short and requested not in ANSWERED_BY_NO
        return intent in QUESTIONS

    def _settle_subject(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, form_slots: list[str]
    ) -> list[EventType]:
        if tracker.get_slot("subject_id"):
            return []
        speaker, _ = speaker_or_error(tracker)
        if speaker is None:
            return []
        mention = usable(tracker.get_slot("family_member"))
        if tracker.get_slot("requested_slot") == "for_whom":
            said = [v for v in entity_values(tracker, "family_member") if usable(v)]
            mention = (said[0] if said else None) or self._numbered_choice(tracker)
            # A name the model has never seen ("Xavier") is not understood as a message, but it
            # may still be one of the family: the family decides, not the model.
            not_understood = not mention and latest_intent(tracker) == "nlu_fallback"
            if not_understood and not self._names_family(tracker, latest_text(tracker)[:100]):
                dispatcher.utter_message(text=render("task.who_unclear"))
                return []
            mention = mention or latest_text(tracker)
        if not mention and tracker.get_slot("requested_slot") != "for_whom":
            mention = self._mentioned(tracker)
        if not mention:
            return []
        settled = self._subject(dispatcher, tracker, str(mention)[:100])
        events = [SlotSet(name, value) for name, value in settled.items()]
        if settled.get("subject_id") and not settled.get("task_abandoned"):
            # Details given before we knew whose record to look in are checked again now.
            events += [
                SlotSet(name, tracker.get_slot(name))
                for name in form_slots
                if name != "for_whom"
                and name not in settled
                and tracker.get_slot(name) is not None
                and not str(tracker.get_slot(name)).startswith("#")
            ]
        return events

    def _names_family(self, tracker: Tracker, text: str) -> bool:
        speaker, _ = speaker_or_error(tracker)
        if speaker is None:
            return False
        try:
            self._resolve(tracker, text)
        except PortalError:
            return False
        return True

    def _refusal(self, tracker: Tracker) -> str | None:
        speaker, error = speaker_or_error(tracker)
        if error:
            return error
        if speaker is None:
            if channel_of(tracker) == "web":
                return render("task.sign_in_first")
            if not phone_of(tracker):
                return render("task.no_caller_number")
            return None
        try:
            access.require_premium(speaker.assurance_level)
        except PremiumRequired as exc:
            return say_error(exc)
        return None

    def _wants_to_stop(self, tracker: Tracker) -> bool:
        requested = tracker.get_slot("requested_slot")
        return bool(requested) and bool(STOP_WORDS.match(latest_text(tracker)))

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("task_abandoned"):
            return []
        speaker, _ = speaker_or_error(tracker)
        slots = list(domain_slots)
        if speaker is None:
            return VERIFY_SLOTS + slots
        return self.task_slots(slots, tracker)

    def task_slots(self, slots: list[str], tracker: Tracker) -> list[str]:
        """Subclasses drop slots that don't apply (e.g. a time for a request-only type)."""
        return slots

    # ---- confirmations ------------------------------------------------------------------------

    def _extract_confirmation(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Every task's closing yes/no question is read the same way."""
        requested = str(tracker.get_slot("requested_slot") or "")
        if not requested.endswith("_confirmed"):
            return {}
        answer = yes_no(tracker)
        return {} if answer is None else {requested: answer}

    extract_booking_confirmed = _extract_confirmation
    extract_cancel_confirmed = _extract_confirmation
    extract_refill_confirmed = _extract_confirmation
    extract_renewal_confirmed = _extract_confirmation
    extract_message_confirmed = _extract_confirmation

    # ---- verification (phone and SMS) -------------------------------------------------------

    def extract_dob(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "dob":
            return {}
        return {"dob": latest_text(tracker)[:100]}

    def validate_dob(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        born = look_up(dispatcher, lambda: identity.parse_date_of_birth(str(value)))
        if born is None:
            return {"dob": None}
        # Sealed: the date waits for the DoD digits in the tracker, where no one may read it.
        return {"dob": sealed.seal(born.isoformat())}

    def extract_dod_last4(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "dod_last4":
            return {}
        return {"dod_last4": numbers.spoken_digits(latest_text(tracker))[:20]}

    def validate_dod_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        phone = phone_of(tracker) or ""
        try:
            verified = identity.verify(
                portal.database(),
                phone,
                session_key(tracker),
                channel_of(tracker),
                sealed.unseal(tracker.get_slot("dob")) or "",
                str(value or ""),
                now=portal.now(),
                settings=portal.settings(),
            )
        except LockedOut as exc:
            dispatcher.utter_message(text=say_error(exc))
            return {"dob": None, "dod_last4": None, "task_abandoned": True}
        except PortalError as exc:
            dispatcher.utter_message(text=render("verify.retry", reason=say_error(exc)))
            return {"dob": None, "dod_last4": None}
        # Unverified a moment ago: the rest of this call acts for the caller just verified.
        remember_speaker(tracker, Speaker(verified.actor, verified.assurance_level))
        dispatcher.utter_message(text=render("verify.done"))
        # The digits are not kept in the conversation once portal_core has checked them.
        return {"dob": "verified", "dod_last4": "verified"}

    # ---- who the task is for ----------------------------------------------------------------

    def extract_for_whom(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # Settled in `run` before extraction; nothing more to do here.
        return {}

    def _mentioned(self, tracker: Tracker) -> str | None:
        """Whom the request names ("show me Mateo's results"), "me" when it names nobody.

        None means "ask": the request is ambiguous ("my daughter's inhaler" with two
        daughters), or the task is one where a parent usually acts for someone else.
        """
        speaker, _ = speaker_or_error(tracker)
        family = self._family(tracker)
        family = choosable(family, self.capability)
        if speaker is None or len(family) <= 1:
            return "me"
        try:
            request = str(tracker.get_slot("task_request") or latest_text(tracker))
            member = self._resolve(tracker, request[:200])
        except people.AmbiguousFamilyMember:
            return None
        except PortalError:
            # "what about the biopsy", "is it ready?": for whomever the last task was for.
            before = last_task(tracker)
            if before is not None and is_elliptical(request):
                return subject_of(tracker, before)
            return None if self.asks_for_whom else "me"
        if member.is_self:
            request = str(tracker.get_slot("task_request") or latest_text(tracker))
            explicit = relations.names_the_speaker(request)
            return "me" if explicit or not self.asks_for_whom else None
        return member.first_name

    def _numbered_choice(self, tracker: Tracker) -> str | None:
        """ "2" picks the second person offered, as the question's buttons were numbered."""
        text = latest_text(tracker).strip().rstrip(".")
        if not text.isdigit():
            return None
        family = choosable(self._family(tracker), self.capability)
        index = int(text) - 1
        if 0 <= index < len(family):
            return "me" if family[index].is_self else family[index].first_name
        return None

    def _family(self, tracker: Tracker) -> list[people.FamilyMemberView]:
        """The speaker's family, read once per action call and kept on its Tracker: settling
        whom a task is for resolves two or three references against it, and each read is a
        transaction that audits every member. Kept per speaker, so verifying mid-call reads
        the verified caller's family."""
        speaker, _ = speaker_or_error(tracker)
        if speaker is None:
            return []
        kept = vars(tracker).get(_FAMILY)
        if kept is not None and kept[0] == speaker.actor:
            return kept[1]
        family = people.family_members(portal.database(), speaker.actor, now=portal.now())
        setattr(tracker, _FAMILY, (speaker.actor, family))
        return family

    def _resolve(self, tracker: Tracker, reference: str) -> people.FamilyMemberView:
        """Whom `reference` names among the speaker's family, by `people`'s rule."""
        return people.resolve_among(self._family(tracker), reference, self.capability)

    def _subject(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, value: str
    ) -> dict[str, Any]:
        speaker, _ = speaker_or_error(tracker)
        if speaker is None:
            return {}
        try:
            member = self._resolve(tracker, str(value))
        except PortalError as exc:
            dispatcher.utter_message(text=say_error(exc))
            return {"family_member": None}
        allowed = people.may(member, self.capability)
        if not allowed.allowed:
            dispatcher.utter_message(text=render(allowed.key, **allowed.data))
            return {"for_whom": member.first_name, "task_abandoned": True}
        chosen = {
            "for_whom": member.first_name,
            "subject_id": str(member.patient_id),
            "subject_name": member.first_name,
        }
        try:
            extra = self.on_subject(tracker, member)
        except PortalError as exc:
            dispatcher.utter_message(text=say_error(exc))
            return {**chosen, "task_abandoned": True}
        if "_say" in extra:
            dispatcher.utter_message(text=extra.pop("_say"))
        return {**chosen, **extra}

    def on_subject(self, tracker: Tracker, member: people.FamilyMemberView) -> dict[str, Any]:
        """Slots a task fills once it knows whom it is for (e.g. the default clinic)."""
        return {}


def choosable(
    family: list[people.FamilyMemberView], capability: Capability | None
) -> list[people.FamilyMemberView]:
    """The speaker, then the people they may do this task for."""
    return [m for m in family if m.is_self or capability is None or m.can(capability)]


def needs_subject(tracker: Tracker, slot: str, value: Any) -> dict[str, Any] | None:
    """Slots looked up in someone's record wait, unchecked, until we know whose record it is."""
    return None if tracker.get_slot("subject_id") else {}


def task_speaker(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    confirm_slot: str | None = None,
    declined: str = "",
) -> Speaker | None:
    """Who carries out a finished form: None when it was abandoned, or (saying `declined`) when
    the person answered no to its confirmation."""
    speaker, _ = speaker_or_error(tracker)
    if tracker.get_slot("task_abandoned") or speaker is None:
        return None
    if confirm_slot and tracker.get_slot(confirm_slot) is not True:
        dispatcher.utter_message(text=declined)
        return None
    return speaker


def subject_id(tracker: Tracker) -> int:
    value = tracker.get_slot("subject_id")
    return int(value) if value else 0
