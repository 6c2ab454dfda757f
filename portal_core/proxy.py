"""Proxy access: may this actor do this for that patient today, and if not, why not.

The rule (MHS GENESIS style): a parent or guardian has full access to a dependent under 12; for a
dependent aged 12 to 17 a parent may handle appointments, prescriptions, immunization records
and care-team details, but may not see results, clinical notes or the teen's messages; from 18,
nobody else has access unless the patient granted an explicit proxy that has not expired. Ages
are computed on the date of the request.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from portal_core.clock import age_on

FULL_ACCESS_UNDER = 12
ADULT_AT = 18


class Capability(str, enum.Enum):
    APPOINTMENTS = "appointments"
    PRESCRIPTIONS = "prescriptions"
    RESULTS = "results"
    CLINICAL_NOTES = "clinical_notes"
    MESSAGES = "messages"
    IMMUNIZATIONS = "immunizations"
    CARE_TEAM = "care_team"


TEEN_PARENT_CAPABILITIES = frozenset(
    {
        Capability.APPOINTMENTS,
        Capability.PRESCRIPTIONS,
        Capability.IMMUNIZATIONS,
        Capability.CARE_TEAM,
    }
)

_TEEN_REFUSALS = {
    Capability.RESULTS: "test results",
    Capability.CLINICAL_NOTES: "clinical notes",
    Capability.MESSAGES: "secure messages",
}


@dataclass(frozen=True)
class ProxyFacts:
    """What the rule needs to know about the actor, the patient and their relationship."""

    actor_id: int
    patient_id: int
    patient_first_name: str
    patient_birth_date: date
    actor_is_guardian: bool
    grant_expires_on: date | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def decide(facts: ProxyFacts, capability: Capability, on: date) -> Decision:
    """The single place the proxy-age rules live."""
    if facts.actor_id == facts.patient_id:
        return Decision(True, "Patients have full access to their own record.")
    if facts.grant_expires_on is not None and on <= facts.grant_expires_on:
        return Decision(True, f"{facts.patient_first_name} granted you proxy access.")
    age = age_on(facts.patient_birth_date, on)
    name = facts.patient_first_name
    if not facts.actor_is_guardian:
        return Decision(
            False,
            f"You don't have proxy access to {name}'s record. {name} can grant access through "
            "the patient portal, or your clinic can help.",
        )
    if age < FULL_ACCESS_UNDER:
        return Decision(True, "Parents and guardians have full access for children under 12.")
    if age < ADULT_AT:
        if capability in TEEN_PARENT_CAPABILITIES:
            return Decision(
                True, "Parents may manage appointments and prescriptions for teens aged 12 to 17."
            )
        what = _TEEN_REFUSALS.get(capability, capability.value.replace("_", " "))
        return Decision(
            False,
            f"Because {name} is {age}, parents can't see {name}'s {what}. For privacy, teens "
            f"aged 12 to 17 see these themselves. {name} can share them with you, or you can "
            "call the clinic.",
        )
    return Decision(
        False,
        f"{name} is an adult, so parents no longer have access to {name}'s record. {name} can "
        "grant you proxy access through the patient portal.",
    )
