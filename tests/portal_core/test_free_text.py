"""Control characters never reach stored free text; everything people really write does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal_core import free_text

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        # "Trojan Source": shown as "call me at 555 *refill*" but stored reversed around it.
        ("please \u202erefill\u202c my meds", "please refill my meds"),
        ("\u2067\u2066isolate\u2069\u2069 \u200eleft\u200f \u061cmark", "isolate left mark"),
        ("nul\x00 bell\x07 esc\x1b[31m del\x7f c1\x85\x9b", "nul bell esc[31m del c1"),
        ("line one\r\nline two\rthree\n\tindented", "line one\nline two\nthree\n\tindented"),
        ("lone surrogate \ud800 gone", "lone surrogate  gone"),
        # Real writing stays: accents, scripts, emoji with joiners and skin tones, RTL text.
        (
            "Rückenschmerzen 背中 😷 👨\u200d👩\u200d👧 👍🏽",
            "Rückenschmerzen 背中 😷 👨\u200d👩\u200d👧 👍🏽",
        ),
        ("مرحبا שלום", "مرحبا שלום"),
        ("'; DROP TABLE messages; -- <script>", "'; DROP TABLE messages; -- <script>"),
    ],
)
def test_clean(written: str, kept: str) -> None:
    assert free_text.clean(written) == kept


@given(st.text())
def test_nothing_dangerous_survives_and_cleaning_twice_changes_nothing(text: str) -> None:
    cleaned = free_text.clean(text)
    assert not any(c in BIDI or c == "\r" for c in cleaned)
    assert all(c in "\n\t" or not (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) for c in cleaned)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in cleaned)
    assert free_text.clean(cleaned) == cleaned
