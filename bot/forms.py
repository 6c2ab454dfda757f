"""The task forms and what may interrupt them, declared once.

A task is an intent that starts a form, and an action that carries the task out once the form
has every detail. Inside any task form the same turns interrupt it: an emergency ends the form
and is answered first, a plain "no" leaves it, a person is asked for, and questions are answered
before the form asks its question again.

Written by hand, each task was declared in several files and the interruption rules were
copied once per form, where a missing or mistyped copy changes what the assistant does in that
one form only, and the validator's list of the turns the rules answer had to be kept in step by
eye. From this table
- `python -m bot.form_rules` writes `bot/data/rules/tasks.yml`, `interruptions.yml` and the
  domain's `forms:` block (each form's required slots, in `bot/domain.yml`);
- the validators take their capability and whether they ask "Who is this for?" from it, so a
  validator (`form = "..."` in `bot/actions/`) adds only what its task checks of its own;
- `bot.actions.task_form` knows which turns the rules answer while a form is active;
- `bot.actions.follow_up` knows which form a task intent runs;
and `tests/bot/test_forms_table.py` fails when the committed rules, the domain's forms or its
intents disagree with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from portal_core.proxy import Capability


@dataclass(frozen=True)
class Task:
    """One task: the intent that starts it, its form, the action a finished form runs, what
    the proxy rule must allow for the person it is for, and the details the form gathers.

    `slots` are the form's required slots in the order it asks (the validator prepends the
    caller's date of birth and DoD digits on the phone channels); `asks_for_whom`: the task is
    one a parent usually does for someone else, so a request that names nobody is asked "Who
    is this for?" rather than taken to be for the speaker.
    """

    intent: str
    form: str
    action: str
    capability: Capability
    slots: tuple[str, ...] = ("for_whom",)
    asks_for_whom: bool = False


class After(Enum):
    """What becomes of the form once an interruption has been answered."""

    RESUMES = "resumes"  # the form asks its question again
    ENDS = "ends"  # the form is deactivated


@dataclass(frozen=True)
class Interruption:
    """A turn answered by a rule while any task form is active.

    `rejected_by_form`: the form's validator fills nothing on this turn, so that the rule answers
    it (`task_form.ANSWERED_BY_RULES`). False: the form reads the turn after the rule's answer
    like any other, and asks its question again when it can't read it.
    `rule` names the rule; `{form}` stands for the form's name.
    """

    intent: str
    answer: str  # the action or response that answers it
    after: After
    rejected_by_form: bool = True
    rule: str = "{intent} during {form}"

    def rule_name(self, form: str) -> str:
        return self.rule.format(intent=self.intent, form=form)


APPOINTMENTS, PRESCRIPTIONS = Capability.APPOINTMENTS, Capability.PRESCRIPTIONS
TASKS: tuple[Task, ...] = (
    Task(
        "book_appointment",
        "book_appointment_form",
        "action_book_appointment",
        APPOINTMENTS,
        ("for_whom", "appointment_type", "clinic", "time", "slot_choice", "booking_confirmed"),
        asks_for_whom=True,
    ),
    Task(
        "cancel_appointment",
        "cancel_appointment_form",
        "action_cancel_appointment",
        APPOINTMENTS,
        ("for_whom", "appointment_choice", "cancel_confirmed"),
        asks_for_whom=True,
    ),
    Task(
        "reschedule_appointment",
        "reschedule_appointment_form",
        "action_reschedule_appointment",
        APPOINTMENTS,
        ("for_whom", "appointment_choice", "time", "slot_choice", "booking_confirmed"),
        asks_for_whom=True,
    ),
    Task("list_appointments", "appointments_form", "action_list_appointments", APPOINTMENTS),
    Task(
        "request_refill",
        "refill_form",
        "action_request_refill",
        PRESCRIPTIONS,
        ("for_whom", "medication", "pharmacy", "refill_confirmed"),
        asks_for_whom=True,
    ),
    Task(
        "request_renewal",
        "renewal_form",
        "action_request_renewal",
        PRESCRIPTIONS,
        ("for_whom", "medication", "renewal_confirmed"),
        asks_for_whom=True,
    ),
    Task("refill_status", "refill_status_form", "action_refill_status", PRESCRIPTIONS),
    Task("list_medications", "medications_form", "action_list_medications", PRESCRIPTIONS),
    Task("check_results", "results_form", "action_check_results", Capability.RESULTS),
    Task(
        "immunization_records",
        "immunizations_form",
        "action_immunization_records",
        Capability.IMMUNIZATIONS,
    ),
    Task(
        "send_message",
        "message_form",
        "action_send_message",
        Capability.MESSAGES,
        ("for_whom", "recipient", "message_body", "message_confirmed"),
    ),
    Task("find_pcm", "pcm_form", "action_find_pcm", Capability.CARE_TEAM),
)

# In the order the rules are written. The validator reads an emergency and a "no" itself
# (`TaskFormValidator._run` and `_is_digression`) before leaving them to these rules.
INTERRUPTIONS: tuple[Interruption, ...] = (
    Interruption("emergency", "action_emergency", After.ENDS, rule="emergency ends {form}"),
    Interruption("deny", "action_stop_task", After.ENDS, rule="leaving {form}"),
    Interruption(
        "human_handoff", "action_human_handoff", After.ENDS, rule="a person during {form}"
    ),
    Interruption("faq", "utter_faq", After.RESUMES),
    Interruption("help", "utter_help", After.RESUMES),
    Interruption("bot_challenge", "utter_bot_challenge", After.RESUMES),
    Interruption("login_help", "action_login_help", After.RESUMES),
    Interruption("update_contact_info", "utter_update_contact_info", After.RESUMES),
    Interruption("out_of_scope", "utter_out_of_scope", After.RESUMES),
    # Words nobody understood: the fallback answers, then the form reads them and asks again.
    Interruption("nlu_fallback", "action_default_fallback", After.RESUMES, rejected_by_form=False),
)


def form_names() -> tuple[str, ...]:
    return tuple(task.form for task in TASKS)


def task_of_form(form: str) -> Task:
    """The task whose form is `form` (a KeyError names a form the table doesn't have)."""
    return {task.form: task for task in TASKS}[form]


def form_capability() -> dict[str, Capability]:
    """What the proxy rule must allow for each form's task."""
    return {task.form: task.capability for task in TASKS}


def form_of_intent() -> dict[str, str]:
    """The form each task intent starts."""
    return {task.intent: task.form for task in TASKS}


def answered_by_rules() -> frozenset[str]:
    """The intents a form leaves to the interruption rules (it fills nothing on them)."""
    return frozenset(i.intent for i in INTERRUPTIONS if i.rejected_by_form)
