"""What is left of a patient's free text before portal_core stores it: the one place for that rule.

Stored free text (secure messages, visit reasons, refill notes, the words that raised an alert)
is read later by clinic staff in other tools. Control characters help nobody there and some do
harm: NUL is refused by PostgreSQL, and the bidirectional controls (U+202E RIGHT-TO-LEFT
OVERRIDE and friends) make text display in a different order than it was written, which can
disguise what a message says ("Trojan Source", CVE-2021-42574). So every C0 and C1 control except
newline and tab, every bidirectional control and every lone surrogate is dropped; line breaks
are kept as newlines. Everything else, emoji and their zero-width joiners included, is kept.
"""

from __future__ import annotations

import re

BIDI_CONTROLS = (
    "\u061c"  # ARABIC LETTER MARK
    "\u200e\u200f"  # LEFT-TO-RIGHT / RIGHT-TO-LEFT MARK
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, pop, overrides
    "\u2066\u2067\u2068\u2069"  # isolates
)
_LINE_BREAKS = re.compile(r"\r\n?")
_DROPPED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + BIDI_CONTROLS + "\ud800-\udfff]")


def clean(text: str) -> str:
    """`text` without control characters (newline and tab kept, CR LF and CR made newlines)."""
    return _DROPPED.sub("", _LINE_BREAKS.sub("\n", text))
