"""Who is acting, through which channel and in which conversation: every service call and audit
entry carries one."""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = ("web", "sms", "voice", "system")


@dataclass(frozen=True)
class Actor:
    """The verified person acting (`patient_id`), the channel they came through, and the
    conversation (`session`: the Rasa conversation id) the audit trail ties each act to.

    Build one only from what the server verified itself (a signed portal token, a verified
    phone session): `channel` is recorded as the transport of everything the actor does.
    """

    patient_id: int
    channel: str = "web"
    session: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        if self.session is not None and (not isinstance(self.session, str) or not self.session):
            raise ValueError("an actor's session is a non-empty conversation id")
