"""Typed failures that say what went wrong, as data the wording floor can put into words.

An error raised with a `key` (a message id of `wording.catalogue`) and its `data` carries no
sentence of its own: the bot says `wording.catalogue.say_error(error, channel)`, in the
channel's words. Errors not yet moved to keys still carry `user_message`, which `say_error`
falls back to; `user_message` of a keyed error is its class's generic sentence, for logs and
for any caller that can't render. Anything that isn't a `PortalError` is a bug and is logged,
never shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from portal_core.contacts import GLOBAL_SERVICE_CENTER


class PortalError(Exception):
    """Base of every expected failure; `user_message` is plain, polite and free of internals."""

    default_message = "Sorry, that request could not be completed."

    def __init__(
        self,
        user_message: str | None = None,
        *,
        key: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        self.key = key
        self.data: dict[str, Any] = dict(data or {})
        self.user_message = user_message or self.default_message
        # Writes that must survive the rollback this error causes (e.g. the audit entry of a
        # refused access); `Database.transaction` runs them in a fresh transaction.
        self.after_rollback: list[Callable[[Any], None]] = []
        super().__init__(self.user_message)


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
    default_message = "Sorry, I couldn't understand that. Please check it and try again."


class NotFound(PortalError):
    default_message = "Sorry, I couldn't find that."


class PatientNotFound(NotFound):
    default_message = "Sorry, I couldn't find a patient record that matches."


class AccessDenied(PortalError):
    default_message = "Sorry, you don't have access to that."


class PremiumRequired(AccessDenied):
    default_message = (
        "This feature needs a premium (DS Logon Level 2) account. You can upgrade at "
        "milConnect or at your nearest ID card office."
    )


class Conflict(PortalError):
    default_message = "Sorry, that changed while we were working on it. Please try again."


class SlotUnavailable(Conflict):
    default_message = "Sorry, that appointment time is no longer available."


class RefillNotAllowed(PortalError):
    """A refill the rules refuse; `renewal_possible` tells the bot whether to offer a renewal."""

    default_message = "Sorry, that prescription can't be refilled right now."

    def __init__(
        self, user_message: str | None = None, *, renewal_possible: bool = False, **keyed: Any
    ) -> None:
        super().__init__(user_message, **keyed)
        self.renewal_possible = renewal_possible


class RenewalNotAllowed(PortalError):
    """A renewal the rules refuse; `needs_visit` tells the bot to offer a visit instead."""

    default_message = "Sorry, that prescription can't be renewed online."

    def __init__(
        self, user_message: str | None = None, *, needs_visit: bool = False, **keyed: Any
    ) -> None:
        super().__init__(user_message, **keyed)
        self.needs_visit = needs_visit


class VerificationFailed(PortalError):
    default_message = "Sorry, those details don't match our records."


class LockedOut(PortalError):
    default_message = (
        "For your security, verification is locked for now after too many attempts. "
        "Please try again later or call the MHS GENESIS Global Service Center at "
        f"{GLOBAL_SERVICE_CENTER}."
    )


class SessionExpired(PortalError):
    default_message = "Your session has ended. Please verify your identity again."


class Unavailable(Exception):
    """The database could not be reached (down, restarting, unreachable) or gave up on a lock.

    Deliberately not a `PortalError`: code that reads a `PortalError` as "the request can't be
    done" (no such family member, details don't match) must never mistake an outage for an
    answer. The transaction it interrupted was rolled back, so nothing was written: the action
    server and the channels say `user_message` and the patient simply tries again.
    """

    user_message = (
        "Sorry, I can't reach our records right now, so nothing was changed. "
        "Please try again shortly."
    )

    def __init__(self, detail: str = "the database is unavailable") -> None:
        super().__init__(detail)
