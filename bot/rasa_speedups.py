"""What the turn profile found Rasa 3.6 doing again on every action call, done once.

`RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)` on every
action server response. `jsonschema.validate` first checks the *schema* itself against the
JSON Schema meta-schema and builds a new validator, and only then checks the response: 22 ms
of the 24 ms it takes, on a schema that never changes (`eval/profile_turn.py`, `make bench`).
Here the validator is built and the schema checked once, at start-up; every response is
still validated against the same schema, with the same error (`ValidationError` with Rasa's
own explanation appended), so a malformed action response is refused exactly as before.

`apply()` is called by `bot/launch.py` before Rasa starts (and by the turn profile, so it
measures what production runs). It patches one method of the installed Rasa, checks that
the method it replaces is the one it was written against, and refuses to patch anything else.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import jsonschema
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

# The first line of the method this replaces in rasa 3.6.x; a Rasa upgrade that changes it
# must be looked at again, not silently patched.
_EXPECTED = "validate(result, self.action_response_format_spec())"


@functools.lru_cache(maxsize=1)
def _response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    try:
        _response_validator().validate(result)
        return True
    except jsonschema.ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error


def apply() -> None:
    """Replace `RemoteAction._validate_action_result` (idempotent)."""
    current = RemoteAction._validate_action_result
    if current is _validate_action_result:
        return
    if _EXPECTED not in inspect.getsource(current):
        raise RuntimeError(
            "bot/rasa_speedups.py was written for rasa 3.6's RemoteAction; this Rasa differs"
        )
    _response_validator()
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
