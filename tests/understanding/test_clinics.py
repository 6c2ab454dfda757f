"""Which clinic or kind of visit words name, read against views without a database."""

from __future__ import annotations

import pytest

from portal_core.clinics import AppointmentTypeView, ClinicView
from understanding.clinics import clinic_candidates, closest_clinics, type_candidates


def _clinic(id: int, code: str, name: str, facility: str, city: str, country: str) -> ClinicView:
    return ClinicView(id, code, name, facility, city, country, "UTC", "555-0100", "army")


PEDS = _clinic(1, "PEDS-DAR", "Pediatrics", "Darnall Army Medical Center", "Fort Cavazos", "US")
FM = _clinic(2, "FM-DAR", "Family Medicine", "Darnall Army Medical Center", "Fort Cavazos", "US")
FM_LRMC = _clinic(3, "FM-LRMC", "Family Medicine", "Landstuhl Regional", "Landstuhl", "DE")
CLINICS = [PEDS, FM, FM_LRMC]

WELLNESS = AppointmentTypeView(1, "wellness", "Wellness exam", 30, None)
WELL_CHILD = AppointmentTypeView(2, "well_child", "Well-child visit", 30, None)
ACUTE = AppointmentTypeView(3, "acute", "Sick call (acute visit)", 20, None)
TYPES = [WELLNESS, WELL_CHILD, ACUTE]


@pytest.mark.parametrize(
    ("said", "found"),
    [
        ("peds", [PEDS]),  # shorthand
        ("the pediatircs clinic", [PEDS]),  # a typo
        ("family medicine", [FM, FM_LRMC]),  # two real candidates: the service asks
        ("family medicine in Germany", [FM_LRMC]),  # a country for a base
        ("FM-LRMC", [FM_LRMC]),  # the code
        ("the clinic", CLINICS),  # nothing specific
        ("dermatology", []),
    ],
)
def test_clinic_candidates(said: str, found: list[ClinicView]) -> None:
    assert clinic_candidates(said, CLINICS) == found


def test_the_closest_clinics_are_offered_when_none_fits() -> None:
    assert closest_clinics(CLINICS, "pedatrix", 1) == [PEDS]


@pytest.mark.parametrize(
    ("said", "found"),
    [
        ("a checkup", [WELLNESS]),
        ("well child checkup", [WELL_CHILD]),  # the specific phrase wins over "checkup"
        ("sick call", [ACUTE]),
        ("wellnes exam", [WELLNESS]),  # a typo
        ("a haircut", []),
    ],
)
def test_type_candidates(said: str, found: list[AppointmentTypeView]) -> None:
    assert type_candidates(said, TYPES) == found
