"""The Rasa rules and domain forms of the task forms, written from the table in `bot/forms.py`.

`python -m bot.form_rules` rewrites `bot/data/rules/tasks.yml`, `bot/data/rules/interruptions.yml`
and the `forms:` block of `bot/domain.yml` (the rest of the domain is left as it is);
`tests/bot/test_forms_table.py` fails when the committed files are not what this writes, so a
rule or a form's slots are changed in the table, never in the files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bot.forms import INTERRUPTIONS, TASKS, After, Interruption, Task

RULES_DIR = Path(__file__).resolve().parent / "data" / "rules"
DOMAIN = RULES_DIR.parents[1] / "domain.yml"
TASK_RULES = RULES_DIR / "tasks.yml"
INTERRUPTION_RULES = RULES_DIR / "interruptions.yml"

Rule = dict[str, Any]

GENERATED = (
    "# Generated from bot/forms.py by `python -m bot.form_rules`: edit the table there and run it\n"
    "# again, never this file (tests/bot/test_forms_table.py fails when they differ).\n"
)
TASKS_ABOUT = (
    "# Task rules: each task intent starts its form; a finished form runs the task's action.\n"
)
INTERRUPTIONS_ABOUT = (
    '# Inside any form: an emergency ends it and is answered first; "no"/"never mind" leaves'
    " it;\n# questions are answered and the form picks up where it was.\n"
)


def starts(task: Task) -> Rule:
    return {
        "rule": f"{task.intent} starts {task.form}",
        "steps": [
            {"intent": task.intent},
            {"action": task.form},
            {"active_loop": task.form},
        ],
    }


def finishes(task: Task) -> Rule:
    return {
        "rule": f"{task.form} finished runs {task.action}",
        "condition": [{"active_loop": task.form}],
        "steps": [
            {"action": task.form},
            {"active_loop": None},
            {"slot_was_set": [{"requested_slot": None}]},
            {"action": task.action},
        ],
    }


def interrupts(form: str, interruption: Interruption) -> Rule:
    steps: list[dict[str, Any]] = [
        {"intent": interruption.intent},
        {"action": interruption.answer},
    ]
    if interruption.after is After.ENDS:
        steps.append({"active_loop": None})
    else:
        steps += [{"action": form}, {"active_loop": form}]
    return {
        "rule": interruption.rule_name(form),
        "condition": [{"active_loop": form}],
        "steps": steps,
    }


def task_rules(tasks: Iterable[Task] = TASKS) -> list[Rule]:
    return [rule for task in tasks for rule in (starts(task), finishes(task))]


def interruption_rules(
    tasks: Iterable[Task] = TASKS, interruptions: Iterable[Interruption] = INTERRUPTIONS
) -> list[Rule]:
    listed = tuple(interruptions)
    return [interrupts(task.form, interruption) for task in tasks for interruption in listed]


def render(about: str, rules: list[Rule]) -> str:
    """A rules file as Rasa reads it, one blank line between rules so that it reads like one
    written by hand."""
    blocks = [yaml.safe_dump([rule], sort_keys=False, width=100) for rule in rules]
    return f'version: "3.1"\n{GENERATED}{about}rules:\n\n' + "\n".join(blocks)


FORMS_ABOUT = "".join(
    f"  # {line}\n"
    for line in (
        "Every task that touches a patient's record is a form: its validator verifies who is",
        "speaking first (prepending dob and dod_last4 on phone and SMS), then collects the",
        "details. Generated from bot/forms.py by `python -m bot.form_rules`: edit the table.",
    )
)


def forms_block(tasks: Iterable[Task] = TASKS) -> str:
    """The domain's `forms:` block: each task's form and its required slots, in asking order."""
    lines = [f"  {t.form}:\n    required_slots: [{', '.join(t.slots)}]\n" for t in tasks]
    return "forms:\n" + FORMS_ABOUT + "".join(lines)


def with_forms(domain: str) -> str:
    """`domain` (the text of a domain file) with its `forms:` block replaced by the table's; the
    block runs from its top-level key to the next one (comments and blank lines between belong
    to what follows)."""
    lines = domain.splitlines(keepends=True)
    start = lines.index("forms:\n")
    following = (i for i in range(start + 1, len(lines)) if lines[i][:1] not in (" ", "\n"))
    end = next(following, len(lines))
    while lines[end - 1].strip() == "":
        end -= 1
    return "".join(lines[:start]) + forms_block() + "".join(lines[end:])


def generated() -> dict[Path, str]:
    """Each generated file and the text the table gives it."""
    return {
        TASK_RULES: render(TASKS_ABOUT, task_rules()),
        INTERRUPTION_RULES: render(INTERRUPTIONS_ABOUT, interruption_rules()),
        DOMAIN: with_forms(DOMAIN.read_text()),
    }


def main() -> None:
    for path, text in generated().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(RULES_DIR.parents[2])}")


if __name__ == "__main__":
    main()
