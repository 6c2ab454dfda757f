"""The task forms are declared once (`bot/forms.py`): the rules and the domain must follow it.

The rule files are generated from the table and committed, because Rasa trains on the files; a
hand edit to them, or a table change without regenerating, would make the assistant do what the
table does not say. No model is needed: these read YAML and the table.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot import form_rules, forms
from bot.actions import follow_up, task_form
from bot.actions.history import FORM_CAPABILITY

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain.yml"


@pytest.fixture(scope="module")
def domain() -> dict:
    return yaml.safe_load(DOMAIN.read_text())


@pytest.mark.parametrize("path", list(form_rules.generated()), ids=lambda p: p.name)
def test_the_committed_rules_are_what_the_table_generates(path: Path) -> None:
    assert path.read_text() == form_rules.generated()[path], (
        f"{path.name} differs from bot/forms.py: run `python -m bot.form_rules` and commit it"
    )


def test_the_generated_rules_are_the_ones_rasa_reads() -> None:
    """Every task has its two rules and every form its interruptions, each named once."""
    tasks = yaml.safe_load(form_rules.TASK_RULES.read_text())["rules"]
    interruptions = yaml.safe_load(form_rules.INTERRUPTION_RULES.read_text())["rules"]
    assert len(tasks) == 2 * len(forms.TASKS)
    assert len(interruptions) == len(forms.TASKS) * len(forms.INTERRUPTIONS)
    names = [rule["rule"] for rule in tasks + interruptions]
    assert len(names) == len(set(names)), "two rules share a name"


def test_the_domains_forms_are_the_tables_tasks(domain: dict) -> None:
    assert sorted(domain["forms"]) == sorted(forms.form_names())
    for task in forms.TASKS:
        assert domain["forms"][task.form]["required_slots"] == list(task.slots), task.form
        assert set(task.slots) <= set(domain["slots"]), task.form


def test_the_forms_block_is_replaced_and_the_rest_of_the_domain_kept() -> None:
    old = "forms:\n  old_form:\n    required_slots: [x]\n"
    text = f"version: '3.1'\nslots: {{}}\n\n{old}\n# a\nactions: []\n"
    written = form_rules.with_forms(text)
    assert written.startswith("version: '3.1'\nslots: {}\n\nforms:\n")
    assert written.endswith("\n\n# a\nactions: []\n") and "old_form" not in written
    assert yaml.safe_load(written)["forms"]["refill_form"]["required_slots"][0] == "for_whom"


def test_each_validator_takes_its_capability_and_question_from_the_table() -> None:
    from bot.actions import appointments, medications, messages, records

    validators = [
        cls
        for module in (appointments, medications, messages, records)
        for cls in vars(module).values()
        if isinstance(cls, type)
        and issubclass(cls, task_form.TaskFormValidator)
        and isinstance(cls.__dict__.get("form"), str)
    ]
    assert {cls.form for cls in validators} == set(forms.form_names())
    for cls in validators:
        task = forms.task_of_form(cls.form)
        assert (cls.capability, cls.asks_for_whom) == (task.capability, task.asks_for_whom)


def test_every_intent_the_table_names_is_in_the_domain(domain: dict) -> None:
    intents = set(domain["intents"])
    assert {task.intent for task in forms.TASKS} - intents == set()
    assert {i.intent for i in forms.INTERRUPTIONS} - intents == set()


def test_every_action_the_table_names_is_in_the_domain(domain: dict) -> None:
    known = set(domain["actions"]) | set(domain["responses"]) | set(domain["forms"])
    responses = yaml.safe_load((DOMAIN.parent / "data" / "responses" / "faq.yml").read_text())
    known |= {name.split("/")[0] for name in responses.get("responses", {})}
    named = {task.action for task in forms.TASKS} | {i.answer for i in forms.INTERRUPTIONS}
    assert named - known == set()


def test_the_table_is_one_row_per_intent_and_form() -> None:
    intents = [t.intent for t in forms.TASKS] + [i.intent for i in forms.INTERRUPTIONS]
    assert len(intents) == len(set(intents))
    assert len(forms.form_names()) == len(set(forms.form_names()))


def test_the_validator_leaves_to_the_rules_what_the_rules_answer() -> None:
    # The validator reads an emergency and a short "no" itself, then leaves them to their rules.
    assert {"emergency", "deny"} <= task_form.ANSWERED_BY_RULES
    assert not task_form.QUESTIONS & {"emergency", "deny"}
    # Words nobody understood are answered by the fallback, then read by the form.
    assert "nlu_fallback" not in task_form.ANSWERED_BY_RULES


def test_every_task_form_has_its_validator_and_every_offer_a_form() -> None:
    validated = task_form.VALIDATED_FORMS  # filled as bot.actions defines the validators
    assert validated == set(forms.form_names())
    assert set(FORM_CAPABILITY) == validated
    assert set(follow_up.INTENT_FORMS.values()) <= validated
