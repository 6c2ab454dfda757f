"""The words for people: "me", "my son", "my wife", "the kids", "my mother-in-law".

`portal_core.people` decides who those words may mean (the speaker's family, and what the
speaker may do for each); this module only says which words name the speaker, which name a
relation (and of which sex), and which name someone the speaker cannot act for.
"""

from __future__ import annotations

import re

from understanding.text import fold, normalise

# Words by which speakers mean themselves ("for me", "myself", "I'm the patient", "my own").
SELF_WORDS = frozenset({"me", "myself", "self", "mine", "i", "im", "own"})
# "my knee", "my doctor", "my lisinopril": the speaker's own, unless "my" is followed by someone
# else ("my cousin", "my neighbor"), who is then nobody the speaker can act for.
OTHER_PEOPLE = frozenset({
    "cousin", "cousins", "niece", "nephew", "aunt", "uncle", "grandma", "grandmother", "grandpa",
    "grandfather", "grandson", "granddaughter", "grandchild", "grandkid", "grandkids", "friend",
    "friends", "neighbor", "neighbour", "boyfriend", "girlfriend", "fiance", "fiancee",
    "roommate", "stepson", "stepdaughter", "stepmom", "stepdad", "inlaw", "motherinlaw",
    "fatherinlaw", "coworker", "boss", "buddy",
})  # fmt: skip
# word -> (relationship, sexes it fits); "U" (unknown) always fits, so an unrecorded sex never
# hides the right person, it only makes the answer ambiguous.
_RELATION_SPELLINGS = (
    ("son sons boy boys", "child", "MU"),
    ("daughter daughters girl girls", "child", "FU"),
    (
        "kid kids child children kiddo kiddos baby teen teenager dependent dependents "
        "oldest eldest youngest",
        "child",
        "MFU",
    ),
    ("wife", "spouse", "FU"),
    ("husband hubby", "spouse", "MU"),
    ("spouse partner", "spouse", "MFU"),
    ("mom mum mother mommy mama", "parent", "FU"),
    ("dad father daddy papa", "parent", "MU"),
    ("parent parents", "parent", "MFU"),
    ("brother", "sibling", "MU"),
    ("sister", "sibling", "FU"),
    ("sibling siblings", "sibling", "MFU"),
)
# One word or two ("little one") -> (relationship, sexes it fits).
RELATION_WORDS: dict[str, tuple[str, frozenset[str]]] = {
    word: (relation, frozenset(sexes))
    for spellings, relation, sexes in _RELATION_SPELLINGS
    for word in spellings.split()
}
RELATION_WORDS["little one"] = ("child", frozenset("MFU"))
OLDEST = frozenset({"oldest", "eldest", "older", "elder", "big"})
YOUNGEST = frozenset({"youngest", "younger", "little", "baby"})
_RELATION_WORD_SET = frozenset(w for phrase in RELATION_WORDS for w in phrase.split())

# The normaliser makes "mother-in-law" three words; read as one ("mother" alone is someone else).
_LETTERS = re.compile(r"[a-z]+").findall
_IN_LAW = re.compile(r"\b(?:(\w+) )?in law\b")


def relation_words() -> frozenset[str]:
    """The words that name a family relation ("daughter", "wife", "kids")."""
    return _RELATION_WORD_SET


def reference_words(reference: str) -> list[str]:
    """The words of a reference to a person: "Noah's" is "noah", "my mother-in-law" is "my",
    "motherinlaw"; apostrophes vanish, so "D'Andre" and "DAndre" match."""
    return _IN_LAW.sub(_in_law, normalise(reference, possessives=True)).split()


def _in_law(match: re.Match[str]) -> str:
    before = match[1] or ""
    if before in relation_words():
        return f"{before}inlaw"
    return f"{before} inlaw".lstrip()


def names_the_speaker(text: str) -> bool:
    """Whether `text` names its speaker ("for me", "my appointment", "I'd like", "I'm the
    patient"): a self word or "my", with "I" found inside "I'd" and "I'll" as well."""
    said = fold(text)
    return any(w in SELF_WORDS or w == "my" for w in [*normalise(said).split(), *_LETTERS(said)])


def name_words(name: str) -> str:
    """A recorded name as `reference_words` would read it said: "Zoë" is "zoe"."""
    return normalise(name)
