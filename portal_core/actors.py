"""Who is acting, and through which channel: every service call and audit entry carries one."""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = ("web", "sms", "voice", "system")


@dataclass(frozen=True)
class Actor:
    """The verified person acting (`patient_id`) and the channel they came through."""

    patient_id: int
    channel: str = "web"

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
