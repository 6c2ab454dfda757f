"""The one way free text is made comparable: `fold` for readers that need punctuation, and
`normalise` for matching words against names.

Six copies of this used to live in records, prescriptions, messaging, clinics, people and the
voice channel, each a little different. Where they differed, `normalise` decides once:

- Accents are dropped ("Zoë" is "zoe"), but letters outside ASCII stay letters. Records,
  prescriptions and messaging turned "é" into a space ("café" became "caf"); clinics dropped
  non-ASCII letters altogether; people and the voice channel kept them. Folding then keeping is
  the only choice under which a name typed with or without its accent matches either way.
- Apostrophes vanish inside a word ("D'Andre" is "dandre", "women's" is "womens"). Clinics and
  people already did so, which is what lets "womens clinic" find "Women's Health" and "DAndre"
  find D'Andre; the others kept them, but every phrase they compare against either has no
  apostrophe or also lists the apostrophe-free spelling ("doctors notes"), and their patterns
  make it optional ("isn'?t").
- A possessive "'s" is dropped only when asked (`possessives=True`), by the readers of
  references to people and things of theirs ("Noah's", "my son's", "mom's lisinopril"). Matching
  a reply against a title or a clinic name keeps it as a plain "s", because patients type
  "todays" and "womens" without the apostrophe and must still match. Messaging dropped it only
  before a space, prescriptions and people everywhere: everywhere is what they meant.
- Hyphens, underscores and every other mark are spaces ("follow-up" is "follow up"), as five of
  the six did. People kept hyphens for "mother-in-law"; `understanding.relations` now reads the
  spaced form instead, so "Mary-Jane" and "mary jane" also find the same person.
- A dot between digits stays ("0.5 mg", "6.5"): prescriptions kept every dot for strengths; a
  dot anywhere else is sentence punctuation and becomes a space, as it did for the others.
"""

from __future__ import annotations

import re
import unicodedata

_CURLY_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})
_POSSESSIVE = re.compile(r"'s\b")
# Any mark but a dot between two digits; "_" counts as a mark although `\w` calls it a letter.
_MARKS = re.compile(r"(?!(?<=\d)\.(?=\d))[^\w\s]|_")


def fold(text: object) -> str:
    """Lower case, accents dropped and curly apostrophes straightened; nothing else changes.

    For readers whose patterns need the punctuation ("10:30", "#2", "a.m.", "o'clock").
    """
    straight = str(text or "").translate(_CURLY_APOSTROPHES)
    decomposed = unicodedata.normalize("NFKD", straight)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def normalise(text: object, *, possessives: bool = False) -> str:
    """`text` as lower-case words separated by single spaces, for matching (rules above).

    With `possessives`, "Noah's" is "noah"; without, it is "noahs".
    """
    folded = fold(text)
    if possessives:
        folded = _POSSESSIVE.sub("", folded)
    folded = folded.replace("'", "")
    return " ".join(_MARKS.sub(" ", folded).split())


def words(text: object, *, possessives: bool = False) -> list[str]:
    """The words of `normalise(text)`."""
    return normalise(text, possessives=possessives).split()
