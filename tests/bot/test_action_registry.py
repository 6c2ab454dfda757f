"""The action server registers exactly the actions the domain names: no more, no fewer.

rasa-sdk registers every non-abstract `Action` subclass it finds; a base class that is not
abstract becomes an action named after an empty string (`validate_`, `action_ask_`).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain.yml"


def registered() -> set[str]:
    executor = ActionExecutor()
    executor.register_package("bot.actions")
    return set(executor.actions)


def test_the_action_server_registers_only_the_domains_actions() -> None:
    domain = yaml.safe_load(DOMAIN.read_text())
    wanted = set(domain["actions"])
    names = registered()
    assert names - wanted == set(), "registered, but not an action the domain names"
    assert wanted - names == set(), "named by the domain, but nothing registers it"


def test_every_form_has_its_validator() -> None:
    domain = yaml.safe_load(DOMAIN.read_text())
    names = registered()
    assert {f"validate_{form}" for form in domain["forms"]} <= names
