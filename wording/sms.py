"""How text becomes SMS: encodings, segment counts, splitting long replies, numbered choices.

Pure functions. An SMS is GSM-7 when every character is in the GSM 03.38 alphabet (a few, like
`€` and `{`, take two septets) and UCS-2 otherwise; one emoji turns the whole message into UCS-2,
where a segment holds 70 characters (67 when concatenated) instead of 160 (153), and an emoji
takes two of them. Carriers bill and deliver per segment, and Twilio advises keeping a message
under 320 characters, so replies are split at sentence boundaries into parts that never exceed
that length and never cost more segments than a 320-character GSM-7 message would.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

GSM7 = "GSM-7"
UCS2 = "UCS-2"
DEFAULT_MAX_CHARS = 320
MAX_INBOUND_CHARS = 1600  # the longest message Twilio delivers (ten concatenated segments)

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")  # sent as ESC + character: two septets each

_SINGLE = {GSM7: 160, UCS2: 70}
_CONCATENATED = {GSM7: 153, UCS2: 67}

# Typographic characters that would force UCS-2 (and triple the cost) for no visible gain.
_GSM_FRIENDLY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2012": "-",
        "\u2011": "-",
        "\u2010": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u2007": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\t": " ",
        "\u2022": "-",
        "\u00b7": "-",
        "\u200b": None,
        "\ufeff": None,
    }
)

_SENTENCE_BREAK = re.compile(r"\n\s*|(?<=[.!?])\s+")
_CHOICE = re.compile(r"\s*#?\s*(\d{1,2})\s*[.)]?\s*")
_JOINERS = frozenset("\u200d\ufe0e\ufe0f")
# A period after these doesn't end a sentence ("Dr. Kim", "9 a.m. Tuesday").
# fmt: off
_ABBREVIATIONS = frozenset((
    "dr.", "mr.", "mrs.", "ms.", "st.", "ft.", "mt.", "jr.", "sr.", "lt.", "sgt.", "capt.",
    "col.", "gen.", "maj.", "cpt.", "no.", "vs.", "e.g.", "i.e.", "etc.", "a.m.", "p.m.",
    "approx.", "jan.", "feb.", "mar.", "apr.", "jun.", "jul.", "aug.", "sep.", "sept.", "oct.",
    "nov.", "dec.", "mon.", "tue.", "wed.", "thu.", "fri.", "sat.", "sun.",
))
# fmt: on


# --- Encoding and length -----------------------------------------------------------------


def encoding_of(text: str) -> str:
    """GSM-7 when every character can be sent in it, UCS-2 otherwise."""
    return GSM7 if all(c in _GSM7_BASIC or c in _GSM7_EXTENDED for c in text) else UCS2


def encoded_length(text: str) -> int:
    """Length as the network counts it: GSM-7 septets, or UTF-16 code units for UCS-2."""
    if encoding_of(text) == GSM7:
        return sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def segment_count(text: str) -> int:
    """How many SMS segments the text is sent (and billed) as; 0 for an empty text."""
    length = encoded_length(text)
    if length == 0:
        return 0
    encoding = encoding_of(text)
    if length <= _SINGLE[encoding]:
        return 1
    return math.ceil(length / _CONCATENATED[encoding])


def gsm_friendly(text: str) -> str:
    """Curly quotes, dashes, ellipses and odd spaces replaced by their plain GSM-7 forms.

    An apostrophe typed as U+2019 would otherwise make a whole reply UCS-2. Emoji and letters
    outside GSM-7 are kept: they carry meaning, and the length rules account for them.
    """
    return text.translate(_GSM_FRIENDLY)


# --- Splitting ---------------------------------------------------------------------------


def _budget(max_chars: int) -> int:
    """Segments a part may cost: as many as a `max_chars` GSM-7 message (3 for 320)."""
    if max_chars <= _SINGLE[GSM7]:
        return 1
    return math.ceil(max_chars / _CONCATENATED[GSM7])


def fits(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> bool:
    """Whether `text` can go as one part: short enough, and no dearer than its GSM-7 twin."""
    return encoded_length(text) <= max_chars and segment_count(text) <= _budget(max_chars)


def split_message(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """`text` as SMS parts that each `fits`, broken between sentences wherever possible.

    Sentences (ending in . ! ? or at a line break) are packed greedily, keeping line breaks
    between them; a sentence too long for one part is broken between words, and a word too long
    for one part between characters (never inside an emoji sequence). Nothing but the
    whitespace at the breaks is lost. Whitespace-only text gives no parts.
    """
    if max_chars < 10:
        raise ValueError("max_chars must be at least 10")
    sentences = _sentences(text)
    whole = "".join(joiner + sentence for sentence, joiner in sentences)
    if fits(whole, max_chars):
        return [whole] if whole else []
    return _pack(sentences, max_chars, lambda sentence: _split_words(sentence, max_chars))


def _pack(
    pieces: Iterable[tuple[str, str]], max_chars: int, breaking: Callable[[str], list[str]]
) -> list[str]:
    """(piece, joiner before it) packed greedily into parts that each `fits`: sentences into
    messages, words into a sentence's parts. A piece too long for one part is broken by
    `breaking`, whose last part may still take the pieces after it."""
    parts: list[str] = []
    current = ""
    for piece, joiner in pieces:
        candidate = f"{current}{joiner}{piece}" if current else piece
        if fits(candidate, max_chars):
            current = candidate
            continue
        if current:
            parts.append(current)
            current = ""
        if fits(piece, max_chars):
            current = piece
            continue
        broken = breaking(piece)
        parts.extend(broken[:-1])
        current = broken[-1]
    if current:
        parts.append(current)
    return parts


def _sentences(text: str) -> list[tuple[str, str]]:
    """(sentence, the joiner that goes before it): a newline where the text broke a line."""
    out: list[tuple[str, str]] = []
    position = 0
    joiner = ""
    for match in _SENTENCE_BREAK.finditer(text):
        gap = match.group()
        if "\n" not in gap and _abbreviation_before(text, match.start()):
            continue  # "Dr. Kim" is one sentence
        sentence = text[position : match.start()].strip()
        if sentence:
            out.append((sentence, joiner if out else ""))
            joiner = ""
        joiner = "\n" if "\n" in gap or joiner == "\n" else " "
        position = match.end()
    tail = text[position:].strip()
    if tail:
        out.append((tail, (joiner or " ") if out else ""))
    return out


def _abbreviation_before(text: str, end: int) -> bool:
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:end].lower() in _ABBREVIATIONS


def _split_words(sentence: str, max_chars: int) -> list[str]:
    words = ((word, " ") for word in sentence.split())
    return _pack(words, max_chars, lambda word: _split_characters(word, max_chars))


def _split_characters(word: str, max_chars: int) -> list[str]:
    """A word too long for one part, cut where `_cut_point` says; the last piece fits."""
    pieces: list[str] = []
    while not fits(word, max_chars):
        cut = _cut_point(word, max_chars)
        pieces.append(word[:cut])
        word = word[cut:]
    pieces.append(word)
    return pieces


def _cut_point(word: str, max_chars: int) -> int:
    """The longest prefix that fits, moved back so an emoji sequence or accent stays whole."""
    cut = 1
    while cut < len(word) and fits(word[: cut + 1], max_chars):
        cut += 1
    best = cut
    while best > 1 and _inside_cluster(word, best):
        best -= 1
    return cut if _inside_cluster(word, best) else best  # a cluster too long to keep whole


def _inside_cluster(word: str, cut: int) -> bool:
    after, before = word[cut], word[cut - 1]
    return (
        after in _JOINERS
        or before == "\u200d"
        or unicodedata.combining(after) != 0
        or 0x1F3FB <= ord(after) <= 0x1F3FF  # skin-tone modifiers
        or (_regional(before) and _regional(after) and _regional_run(word, cut) % 2 == 1)
    )


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF  # flags are pairs of regional indicators


def _regional_run(word: str, cut: int) -> int:
    run = 0
    while cut - run - 1 >= 0 and _regional(word[cut - run - 1]):
        run += 1
    return run


# --- Numbered choices --------------------------------------------------------------------


def numbered_choices(titles: Sequence[str], start: int = 1) -> str:
    """Buttons as words: "Reply 1 for Yes, 2 for No." (a list when there are many).

    `start` continues the numbering when one reply carries several sets of buttons.
    """
    if not titles:
        return ""
    options = [f"{n} for {_one_line(title)}" for n, title in enumerate(titles, start=start)]
    inline = "Reply " + ", ".join(options) + "."
    if len(titles) <= 3 and len(inline) <= 120:
        return inline
    return "Reply with a number:\n" + "\n".join(options)


def _one_line(title: str) -> str:
    return " ".join(str(title).split())


def choice_number(reply: str) -> int | None:
    """The number a reply picks ("2", "#2", " 2. "), or None when it is anything else."""
    if not isinstance(reply, str) or len(reply) > 12:
        return None
    match = _CHOICE.fullmatch(reply)
    return int(match[1]) if match else None


# --- Inbound -----------------------------------------------------------------------------


def clean_inbound(text: str) -> str:
    """An incoming body made safe to hand on: control characters gone, at most 1600 characters.

    Twilio never delivers more than 1600 characters, so anything longer is not a real SMS.
    """
    kept = "".join(
        c if c in "\n" or unicodedata.category(c) != "Cc" else " " for c in text[:MAX_INBOUND_CHARS]
    )
    return kept.strip()
