"""Reading which medication is meant, without a database: the words against what is given."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from understanding.medications import match_medications


@dataclass(frozen=True)
class Rx:
    medication: str
    strength: str = ""
    instructions: str = ""
    active: bool = True


LISINOPRIL = Rx("Lisinopril", "10 mg", "Take 1 tablet by mouth daily")
LISINOPRIL_20 = Rx("Lisinopril", "20 mg", "Take 1 tablet by mouth daily")
ALBUTEROL = Rx("Albuterol HFA", "90 mcg", "Inhale 2 puffs every 4 hours as needed")
METFORMIN = Rx("Metformin", "500 mg", "Take with meals")
OLD_METFORMIN = Rx("Metformin", "850 mg", "Take with meals", active=False)
ON_FILE = [LISINOPRIL, ALBUTEROL, METFORMIN]


@pytest.mark.parametrize(
    ("said", "meant"),
    [
        ("my lisinopril", LISINOPRIL),
        ("Mom's lisinopril", LISINOPRIL),  # a possessive is not part of the name
        ("lisinipril", LISINOPRIL),  # misspelled
        ("zestril", LISINOPRIL),  # brand
        ("ventilin", ALBUTEROL),  # a misspelled brand
        ("my blood pressure pill", LISINOPRIL),  # what it is for
        ("the inhaler", ALBUTEROL),  # its form
        ("sugar meds", METFORMIN),
    ],
)
def test_one_medication_is_meant(said: str, meant: Rx) -> None:
    assert match_medications(said, ON_FILE) == [meant]


def test_nothing_fits() -> None:
    assert match_medications("my knee", ON_FILE) == []


def test_the_strength_said_and_an_active_prescription_are_preferred() -> None:
    assert match_medications("lisinopril 20 mg", [LISINOPRIL, LISINOPRIL_20]) == [LISINOPRIL_20]
    assert match_medications("metformin", [OLD_METFORMIN, METFORMIN]) == [METFORMIN]
    assert match_medications("lisinopril", [LISINOPRIL, LISINOPRIL_20]) == [
        LISINOPRIL,
        LISINOPRIL_20,
    ]
