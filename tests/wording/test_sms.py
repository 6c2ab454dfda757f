"""SMS encodings, segment counts and splitting: examples, then properties over any text."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wording import sms
from wording.sms import (
    GSM7,
    UCS2,
    choice_number,
    clean_inbound,
    encoded_length,
    encoding_of,
    fits,
    gsm_friendly,
    numbered_choices,
    segment_count,
    split_message,
)

# --- Encodings and segments --------------------------------------------------------------


def test_plain_text_is_gsm7_and_one_emoji_makes_it_ucs2() -> None:
    assert encoding_of("Your refill is ready at the pharmacy.") == GSM7
    assert encoding_of("Your refill is ready 👍") == UCS2
    assert encoding_of("Café à São Paulo") == UCS2  # ã is not in GSM-7
    assert encoding_of("Müller, Ñoño, Øresund, £5, ¥, §") == GSM7


def test_extension_characters_take_two_septets_and_emoji_two_utf16_units() -> None:
    assert encoded_length("{€}") == 6
    assert encoded_length("a") == 1
    assert encoded_length("😀") == 2
    assert encoded_length("a😀") == 3
    assert encoded_length("👍🏽") == 4  # thumbs up plus a skin tone: two astral code points


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("x" * 160, 1),
        ("x" * 161, 2),
        ("x" * 306, 2),
        ("x" * 307, 3),
        ("€" * 80, 1),  # 160 septets
        ("€" * 81, 2),
        ("😀" * 35, 1),  # 70 UTF-16 units
        ("😀" * 35 + "x", 2),
        ("é" * 69 + "😀", 2),  # 71 units: UCS-2 because of the emoji
    ],
)
def test_segment_counts_follow_the_gsm_and_ucs2_limits(text: str, segments: int) -> None:
    assert segment_count(text) == segments


def test_typographic_punctuation_is_made_gsm_friendly() -> None:
    typed = "It\u2019s \u201cready\u201d \u2014 pick up by 5\u2026\u00a0ok"
    assert encoding_of(typed) == UCS2
    friendly = gsm_friendly(typed)
    assert friendly == 'It\'s "ready" - pick up by 5... ok'
    assert encoding_of(friendly) == GSM7
    assert gsm_friendly("Thanks 😀") == "Thanks 😀"  # meaning is kept, not replaced


# --- Splitting: examples -----------------------------------------------------------------


def test_a_short_reply_is_one_part_unchanged() -> None:
    assert split_message("Your refill is ready.") == ["Your refill is ready."]
    assert split_message("   ") == []


def test_a_long_reply_breaks_between_sentences() -> None:
    sentences = [f"Result number {n} is within the reference range today." for n in range(12)]
    parts = split_message(" ".join(sentences))
    assert len(parts) > 1
    for part in parts:
        assert encoded_length(part) <= 320
        assert part.endswith(".")
    assert " ".join(parts) == " ".join(sentences)


def test_line_breaks_between_sentences_are_kept() -> None:
    text = "Your most recent lab results:\n- CBC: normal.\n- CMP: high glucose."
    assert split_message(text) == [text]


def test_abbreviations_do_not_end_a_sentence() -> None:
    first = "Please see Dr. Kim at 9 a.m. on Tuesday at the Family Medicine Clinic " * 3
    parts = split_message(first.strip() + ". " + "Bring your ID card and arrive early. " * 6)
    assert not any(p.endswith("Dr.") or p.endswith("a.m.") for p in parts)


def test_an_emoji_lowers_the_part_size_to_three_ucs2_segments() -> None:
    text = " ".join(["Great news 😀 your refill is ready."] * 20)
    parts = split_message(text)
    assert all(encoding_of(p) == UCS2 for p in parts)
    assert all(encoded_length(p) <= 201 and segment_count(p) <= 3 for p in parts)
    assert all(p.endswith("ready.") for p in parts)  # whole sentences, emoji included


def test_a_giant_word_is_cut_without_breaking_an_emoji() -> None:
    word = "👍🏽" * 200 + "👨‍👩‍👧" * 50
    parts = split_message(word)
    assert "".join(parts) == word
    for part in parts:
        assert fits(part)
        assert not part.startswith(("\U0001f3fd", "\u200d"))
        assert not part.endswith("\u200d")


def test_max_chars_below_ten_is_refused() -> None:
    with pytest.raises(ValueError):
        split_message("hello", max_chars=5)


# --- Splitting: properties ---------------------------------------------------------------

_SQUASH = re.compile(r"\s+")


def _content(text: str) -> str:
    return _SQUASH.sub("", text)


any_text = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",)),
        st.sampled_from(list(" .!?\n{}€😀👍🏽\u200d")),
    ),
    max_size=1500,
)


@settings(max_examples=300, deadline=None)
@given(text=any_text, max_chars=st.integers(min_value=10, max_value=480))
@example(text="{" * 200 + "😀", max_chars=320)
@example(text="😀" * 400, max_chars=10)
def test_every_part_fits_and_nothing_but_whitespace_is_lost(text: str, max_chars: int) -> None:
    parts = split_message(text, max_chars)
    for part in parts:
        assert part and part == part.strip()
        assert encoded_length(part) <= max_chars
        assert segment_count(part) <= sms._budget(max_chars)
    assert _content("".join(parts)) == _content(text)


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzé😀", min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(words, min_size=1, max_size=120))
def test_text_that_fits_is_sent_as_one_part(chosen: list[str]) -> None:
    text = " ".join(chosen)
    parts = split_message(text)
    assert (parts == [text]) == fits(text)


sentence = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz€😀", min_size=8, max_size=12),
    min_size=1,
    max_size=8,
).map(lambda ws: " ".join(ws) + ".")


@settings(max_examples=200, deadline=None)
@given(st.lists(sentence, min_size=1, max_size=40))
def test_parts_are_whole_sentences_when_every_sentence_fits(sentences: list[str]) -> None:
    parts = split_message(" ".join(sentences))
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == " ".join(sentences)
    # Greedy: a part ends only where the next sentence would not have fitted into it.
    for left, right in zip(parts, parts[1:], strict=False):
        following = right.split(". ", 1)[0].removesuffix(".") + "."
        assert not fits(f"{left} {following}")


# --- Choices and inbound text ------------------------------------------------------------


def test_buttons_become_numbered_choices() -> None:
    assert numbered_choices(["Yes", "No"]) == "Reply 1 for Yes, 2 for No."
    assert numbered_choices([]) == ""
    many = numbered_choices(["Mon 9:00 AM", "Tue 10:30 AM", "Wed 1:15 PM", "None of these"])
    assert many.splitlines() == [
        "Reply with a number:",
        "1 for Mon 9:00 AM",
        "2 for Tue 10:30 AM",
        "3 for Wed 1:15 PM",
        "4 for None of these",
    ]
    assert numbered_choices(["Yes", "No"], start=3) == "Reply 3 for Yes, 4 for No."


@pytest.mark.parametrize(
    ("reply", "number"),
    [("1", 1), (" 2 ", 2), ("#3", 3), ("4.", 4), ("5)", 5), ("12", 12)],
)
def test_a_number_reply_is_a_choice(reply: str, number: int) -> None:
    assert choice_number(reply) == number


@pytest.mark.parametrize("reply", ["", "one", "1 please", "123", "1.5", "-1", "x" * 5000])
def test_anything_else_is_not_a_choice(reply: str) -> None:
    assert choice_number(reply) is None


def test_inbound_text_loses_control_characters_and_stops_at_1600() -> None:
    assert clean_inbound("  hi\x00 there\x07\r\nok  ") == "hi  there  \nok"
    assert len(clean_inbound("x" * 10_000)) == 1600
    assert clean_inbound("I'm sick 🤒") == "I'm sick 🤒"
