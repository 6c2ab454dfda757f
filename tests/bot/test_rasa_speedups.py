"""The precompiled action-response validator refuses and accepts exactly what Rasa's own does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import rasa_speedups

ORIGINAL = RemoteAction._validate_action_result

RESPONSES: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "medication", "value": "#18"}], "responses": []},
    {"events": [{"event": "active_loop", "name": None}], "responses": [{"text": "Done."}]},
    {"events": [{"event": "followup", "name": "action_listen"}]},
    {},
    # malformed: what a broken or hostile action server might send
    {"events": "not a list"},
    {"events": [{"name": "medication"}]},
    {"events": [{"event": "slot", "name": 7}]},
    {"events": [{"event": "no_such_event"}]},
    {"responses": "hello"},
    {"responses": ["hello"]},
]


@pytest.fixture
def patched() -> Iterator[None]:
    rasa_speedups.apply()
    yield
    RemoteAction._validate_action_result = ORIGINAL  # type: ignore[method-assign]


def _verdict(method: Any, response: dict[str, Any]) -> str:
    try:
        method(RemoteAction("action_x", None), response)
    except jsonschema.ValidationError as error:
        return f"refused: {error.message}"
    return "accepted"


@pytest.mark.parametrize("response", RESPONSES)
def test_the_same_verdict_and_message_as_rasas_own(patched: None, response: dict) -> None:
    assert RemoteAction._validate_action_result is not ORIGINAL
    assert _verdict(RemoteAction._validate_action_result, response) == _verdict(ORIGINAL, response)


def test_malformed_responses_are_still_refused(patched: None) -> None:
    refused = [
        r for r in RESPONSES if _verdict(RemoteAction._validate_action_result, r) != "accepted"
    ]
    assert len(refused) == 6
    assert all(
        "Failed to validate Action server response"
        in _verdict(RemoteAction._validate_action_result, r)
        for r in refused
    )


def test_applying_twice_changes_nothing(patched: None) -> None:
    first = RemoteAction._validate_action_result
    rasa_speedups.apply()
    assert RemoteAction._validate_action_result is first


def test_another_rasa_is_not_patched(monkeypatch: pytest.MonkeyPatch) -> None:
    def different(self: RemoteAction, result: dict) -> bool:
        return True

    monkeypatch.setattr(RemoteAction, "_validate_action_result", different)
    with pytest.raises(RuntimeError, match="written for rasa 3.6"):
        rasa_speedups.apply()
    assert RemoteAction._validate_action_result is different
