"""The words for people: the speaker, relations and people the speaker can't act for."""

from __future__ import annotations

import pytest

from understanding import relations


@pytest.mark.parametrize(
    ("said", "words"),
    [
        ("Noah's", ["noah"]),
        ("my son's results", ["my", "son", "results"]),
        ("D’Andre", ["dandre"]),
        ("Zoë", ["zoe"]),
        ("Mary-Jane", ["mary", "jane"]),
        # In-laws stay one word, so "mother" in them never means the speaker's mother.
        ("my mother-in-law", ["my", "motherinlaw"]),
        ("my mother in law", ["my", "motherinlaw"]),
        ("my in-law", ["my", "inlaw"]),
        ("my brother-in-law", ["my", "brotherinlaw"]),
    ],
)
def test_reference_words(said: str, words: list[str]) -> None:
    assert relations.reference_words(said) == words


def test_in_laws_are_other_people_not_parents() -> None:
    for said in ("my mother-in-law", "my father in law", "my in-law"):
        words = relations.reference_words(said)
        assert any(w in relations.OTHER_PEOPLE for w in words)
        assert not any(w in relations.RELATION_WORDS for w in words)


def test_a_recorded_name_reads_as_it_would_be_said() -> None:
    assert relations.name_words("Zoë") == "zoe"
    assert relations.name_words("D'Andre") == "dandre"


def test_relation_words_are_single_words() -> None:
    kin = relations.relation_words()
    assert {"son", "daughters", "wife", "kids", "little", "one"} <= kin
    assert all(" " not in w for w in kin)


@pytest.mark.parametrize(
    ("said", "names"),
    [
        ("for me", True),
        ("myself", True),
        ("my appointment", True),
        ("I'd like to book a follow up", True),
        ("I’m the patient", True),
        ("mine", True),
        ("book one for Noah", False),
        ("the cholesterol one", False),
        ("", False),
    ],
)
def test_names_the_speaker(said: str, names: bool) -> None:
    assert relations.names_the_speaker(said) is names
