"""The one normaliser, pinned on the inputs where the six it replaced disagreed."""

from __future__ import annotations

import pytest

from understanding.text import fold, normalise, words


@pytest.mark.parametrize(
    ("said", "normal"),
    [
        # Accents folded, other letters kept (records turned "é" into a space, clinics dropped
        # non-ASCII letters, people and voice kept them unfolded).
        ("Zoë", "zoe"),
        ("Café CLINIC", "cafe clinic"),
        ("Søren", "søren"),
        # Apostrophes vanish, straight or curly (records, prescriptions, messaging and voice
        # kept them; clinics and people dropped them).
        ("D'Andre", "dandre"),
        ("D’Andre", "dandre"),
        ("Women's Health", "womens health"),
        ("isn't right", "isnt right"),
        # Hyphens, underscores and other marks are spaces (people kept hyphens).
        ("follow-up", "follow up"),
        ("Mary-Jane", "mary jane"),
        ("snake_case, (really)!", "snake case really"),
        # A dot stays only between digits (prescriptions kept every dot, the others none).
        ("lisinopril 2.5 mg.", "lisinopril 2.5 mg"),
        ("the end.", "the end"),
        ("e.g. this", "e g this"),
        # Space runs collapse; nothing left is the empty string.
        ("  lots\tof \n space ", "lots of space"),
        ("?!", ""),
        ("", ""),
    ],
)
def test_normalise(said: str, normal: str) -> None:
    assert normalise(said) == normal


@pytest.mark.parametrize(
    ("said", "without", "with_possessives"),
    [
        # Kept as a plain "s" by default (voice and clinics match "todays" and "womens"), dropped
        # on request, at the end of the text too (messaging dropped it only before a space).
        ("Noah's", "noahs", "noah"),
        ("my son's shots", "my sons shots", "my son shots"),
        ("mom’s lisinopril", "moms lisinopril", "mom lisinopril"),
        ("the nurse's", "the nurses", "the nurse"),
        ("it's", "its", "it"),
    ],
)
def test_possessives(said: str, without: str, with_possessives: str) -> None:
    assert normalise(said) == without
    assert normalise(said, possessives=True) == with_possessives


def test_words_are_the_normal_form_split() -> None:
    assert words("Noah's follow-up", possessives=True) == ["noah", "follow", "up"]


def test_fold_keeps_the_marks_time_readers_need() -> None:
    assert fold("At 10:30 A.M., #2 — O’Clock, Zoë") == "at 10:30 a.m., #2 — o'clock, zoe"
    assert fold(None) == ""


@pytest.mark.parametrize("text", ["Zoë's café", "D’Andre-Smith", "2.5 MG", "a_b c"])
def test_normalising_twice_changes_nothing(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)
