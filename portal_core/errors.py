"""Typed failures that say what went wrong, as data the wording floor can put into words.

An error carries no sentence of its own: its `key` (a message id of `wording.catalogue`), or its
class's `default_key` when it was raised without one, and its `data` are all the bot needs to
say `wording.catalogue.say_error(error, channel)` in the channel's words. An error meant for
operators, never a patient (the database-roles report, a security alert's arguments), carries
its sentence as `user_message` instead, which `say_error` and `str(error)` give back; no
patient-facing module raises one (`tests/test_domain_sentences.py`). `str(error)` is for logs
and operators: that sentence, or else the message id and its data. Anything that isn't a
`PortalError` is a bug and is logged, never shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any


class PortalError(Exception):
    """Base of every expected failure: what went wrong, as a message id and its data."""

    default_key = "error.generic"
    # An operators' error's sentence for the whole class (see the module docstring).
    default_message: str | None = None

    def __init__(
        self,
        user_message: str | None = None,
        *,
        key: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        self.key = key
        self.data: dict[str, Any] = dict(data or {})
        self.user_message = user_message or type(self).default_message
        # Writes that must survive the rollback this error causes (e.g. the audit entry of a
        # refused access); `Database.transaction` runs them in a fresh transaction.
        self.after_rollback: list[Callable[[Any], None]] = []
        super().__init__(self.message_key)

    @property
    def message_key(self) -> str:
        """The message id that says this error: the one it was raised with, or its class's."""
        return self.key or type(self).default_key

    def __str__(self) -> str:
        """For logs and operators: the sentence a not-yet-moved error carries, else its message
        id and data (the wording floor has the words)."""
        if self.key is None and self.user_message:
            return self.user_message
        return f"{type(self).__name__}({self.message_key}, {self.data!r})"


class WithChoices(PortalError):
    """A failure that offers `choices`, so the bot can ask which one was meant.

    Named before the failure's kind (`class AmbiguousClinic(WithChoices, InvalidInput)`), so each
    kind keeps its base and message and only the choices live here; a subclass annotates
    `choices` with the views it holds.
    """

    choices: tuple[object, ...]

    def __init__(
        self, user_message: str | None = None, *, choices: Sequence[object] = (), **keyed: Any
    ) -> None:
        super().__init__(user_message, **keyed)
        self.choices = tuple(choices)


class InvalidInput(PortalError):
    default_key = "error.invalid_input"


class NotFound(PortalError):
    default_key = "error.not_found"


class PatientNotFound(NotFound):
    default_key = "error.patient_not_found"


class AccessDenied(PortalError):
    default_key = "error.access_denied"


class PremiumRequired(AccessDenied):
    default_key = "error.premium_required"


class Conflict(PortalError):
    default_key = "error.conflict"


class SlotUnavailable(Conflict):
    default_key = "error.slot_unavailable"


class RefillNotAllowed(PortalError):
    """A refill the rules refuse; `renewal_possible` tells the bot whether to offer a renewal."""

    default_key = "error.refill_not_allowed"

    def __init__(
        self, user_message: str | None = None, *, renewal_possible: bool = False, **keyed: Any
    ) -> None:
        super().__init__(user_message, **keyed)
        self.renewal_possible = renewal_possible


class RenewalNotAllowed(PortalError):
    """A renewal the rules refuse; `needs_visit` tells the bot to offer a visit instead."""

    default_key = "error.renewal_not_allowed"

    def __init__(
        self, user_message: str | None = None, *, needs_visit: bool = False, **keyed: Any
    ) -> None:
        super().__init__(user_message, **keyed)
        self.needs_visit = needs_visit


class VerificationFailed(PortalError):
    default_key = "error.verification_failed"


class LockedOut(PortalError):
    default_key = "error.locked_out"


class SessionExpired(PortalError):
    default_key = "error.session_expired"


class Unavailable(Exception):
    """The database could not be reached (down, restarting, unreachable) or gave up on a lock.

    Deliberately not a `PortalError`: code that reads a `PortalError` as "the request can't be
    done" (no such family member, details don't match) must never mistake an outage for an
    answer. The transaction it interrupted was rolled back, so nothing was written: the action
    server and the channels say its `default_key` message and the patient simply tries again.
    """

    default_key = "error.unavailable"

    def __init__(self, detail: str = "the database is unavailable") -> None:
        super().__init__(detail)
