"""Proxy access: may this actor do this for that patient today, and if not, why not.

The rule (MHS GENESIS style): a parent or guardian has full access to a dependent under 12; for a
dependent aged 12 to 17 a parent may handle appointments, prescriptions, immunization records
and care-team details, but may not see results, clinical notes or the teen's messages; from 18,
nobody else has access unless the patient granted an explicit proxy that has not expired. Ages
are computed on the date of the request.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    """The rule's answer and why: `key` names the reason (a `proxy.*` message id of
    `wording.catalogue`, and what the audit log records of a refusal), `data` what it names.

    A refusal is said to the person asking (`AccessDenied` carries the same id and data), so
    the domain gives its reason as data, never as a sentence."""

    allowed: bool
    key: str
    data: Mapping[str, object] = field(default_factory=dict, hash=False)


def decide(facts: ProxyFacts, capability: Capability, on: date) -> Decision:
    """The single place the proxy-age rules live."""
    if facts.actor_id == facts.patient_id:
        return Decision(True, key="proxy.own_record")
    name = facts.patient_first_name
    if facts.grant_expires_on is not None and on <= facts.grant_expires_on:
        return Decision(True, key="proxy.granted", data={"name": name})
    age = age_on(facts.patient_birth_date, on)
    if not facts.actor_is_guardian:
        return Decision(False, key="proxy.not_granted", data={"name": name})
    if age < FULL_ACCESS_UNDER:
        return Decision(True, key="proxy.young_child", data={"teen_from": FULL_ACCESS_UNDER})
    if age < ADULT_AT:
        teen_from, teen_to = FULL_ACCESS_UNDER, ADULT_AT - 1
        if capability in TEEN_PARENT_CAPABILITIES:
            return Decision(
                True, key="proxy.teen_shared", data={"teen_from": teen_from, "teen_to": teen_to}
            )
        what = capability.value
        return Decision(
            False,
            key="proxy.teen_private",
            data={
                "name": name,
                "age": age,
                "what": what,
                "teen_from": teen_from,
                "teen_to": teen_to,
            },
        )
    return Decision(False, key="proxy.adult", data={"name": name})
