"""Emergency and crisis detection (interface; the detector is being written for issue 3).

`detect(text)` returns None, or a `Finding` with its kind (`medical` or `crisis`) and the words
that triggered it. Callers rely only on this signature.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("medical", "crisis")


@dataclass(frozen=True)
class Finding:
    kind: str
    trigger: str


def detect(text: str) -> Finding | None:
    return None
