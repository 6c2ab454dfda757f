"""Which channels may carry health details (result values, diagnoses) to a patient.

A text message is not private: it sits on a lock screen, in a shared phone's inbox and in the
carrier's records. So result values and diagnoses go by SMS only to patients who agreed to
receive health information by text (`Patient.sms_health_consent`); everyone else is told by
text only that something is ready, and offered a call or the portal. The web portal and a call
from a verified caller are the channels health details are meant for.

Services that disclose (`records.results_for_channel`) apply the rule inside their own
transaction, before they read any value, and audit a withheld answer as withheld.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal_core.database import Database
from portal_core.models import Patient

PRIVATE_CHANNELS = ("web", "voice")
CONSENT_CHANNELS = ("sms",)


def may_send_health_details(
    db: Database, patient_id: int, channel: str, *, recipient_id: int | None = None
) -> bool:
    """Whether health details about `patient_id` may be sent through `channel`.

    By SMS both the patient and, when someone else is texting for them (`recipient_id`, a
    parent or proxy), the person whose phone receives the text must have consented. Unknown
    patients and unknown channels get False: when in doubt, say less.
    """
    with db.transaction() as session:
        return allowed(session, patient_id, channel, recipient_id=recipient_id)


def allowed(
    session: Session, patient_id: int, channel: str, *, recipient_id: int | None = None
) -> bool:
    """`may_send_health_details` inside a transaction the caller already holds."""
    if channel in PRIVATE_CHANNELS:
        return True
    if channel not in CONSENT_CHANNELS:
        return False
    people = {patient_id} | ({recipient_id} if recipient_id is not None else set())
    for person in people:
        patient = session.get(Patient, person) if isinstance(person, int) else None
        if patient is None or not patient.sms_health_consent:
            return False
    return True
