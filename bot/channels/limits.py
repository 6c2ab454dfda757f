"""How much of a message the assistant reads: one bound for every channel, applied before NLU.

Rasa runs the NLU pipeline on the event loop that serves every conversation, so one 100 kB
message stalls every SMS and call behind it for seconds. No patient types more than a few
hundred words to a chat assistant (a secure message is where long notes go), so a message is cut
to `MAX_MESSAGE_CHARS` before Rasa sees it, and the patient is told. Cutting must never hide an
emergency: the deterministic safety detector reads the whole text first (it is linear and takes
microseconds), and when the emergency lies beyond the cut, the part around it is what is kept.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from portal_core import safety
from wording.catalogue import render

MAX_MESSAGE_CHARS = 2000
# Far more than a message we read, so the safety scan stays bounded too.
MAX_SCANNED_CHARS = 64 * 1024
TOO_LONG_NOTE = render("channel.too_long", "web")


# Bidirectional overrides and isolates make stored text read differently from what it is.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def _control(ch: str) -> bool:
    return ch in BIDI_CONTROLS or (ch not in "\n\t" and unicodedata.category(ch) == "Cc")


@dataclass(frozen=True)
class Bounded:
    text: str
    cut: bool


def bound(text: object) -> Bounded:
    """The text to give Rasa: control characters out, at most MAX_MESSAGE_CHARS characters."""
    raw = text if isinstance(text, str) else ""
    clean = "".join(" " if _control(ch) else ch for ch in raw[:MAX_SCANNED_CHARS]).strip()
    if len(clean) <= MAX_MESSAGE_CHARS:
        return Bounded(clean, cut=len(raw) > MAX_SCANNED_CHARS)
    finding = safety.detect(clean)
    if finding is not None and finding.end > MAX_MESSAGE_CHARS:
        half = MAX_MESSAGE_CHARS // 2
        start = max(0, min(finding.start - half, len(clean) - MAX_MESSAGE_CHARS))
        return Bounded(clean[start : start + MAX_MESSAGE_CHARS], cut=True)
    return Bounded(clean[:MAX_MESSAGE_CHARS], cut=True)
