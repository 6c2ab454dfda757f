"""The message ids for the domain's codes: a view or a finding carries a code, the wording says it.

A refill's status, a lab result's flag and an emergency's kind are data in `portal_core`; what a
patient reads for each is a message of `wording.catalogue`, named here so the catalogue's tests
see every id used. Pure data: `wording.catalogue` reads these tables, and nothing here imports it.
"""

from __future__ import annotations

# portal_core.prescriptions.REFILL_TRANSITIONS' statuses.
REFILL_STATUS = {
    "requested": "refill.status.requested",
    "in_progress": "refill.status.in_progress",
    "ready": "refill.status.ready",
    "picked_up": "refill.status.picked_up",
    "cancelled": "refill.status.cancelled",
}

# portal_core.models LabResult.flag values.
RESULT_FLAG = {
    "normal": "results.flag.normal",
    "high": "results.flag.high",
    "low": "results.flag.low",
    "critical_high": "results.flag.critical_high",
    "critical_low": "results.flag.critical_low",
    "abnormal": "results.flag.abnormal",
}

# portal_core.records' record kinds (a report's `kind`; REPORT_KINDS and "lab").
RECORD_KIND = {
    "lab": "results.kind.lab",
    "radiology": "results.kind.radiology",
    "pathology": "results.kind.pathology",
    "clinical_note": "results.kind.clinical_note",
}

# What a record's line says of the data its view carries: that the care team hasn't reviewed it
# yet (`reviewed` False), the day it did (`reviewed_on`), and where it came from (`source_org`).
NOT_REVIEWED = "results.not_reviewed"
REVIEWED_ON = "results.reviewed_on"
FROM_SOURCE = "results.from_source"

# An appointment, and an offered time, as a line or a button reads them (portal_core.scheduling's
# views carry the type, provider, clinic and the clinic-local start).
APPOINTMENT_SUMMARY = "appointments.summary"
OFFERED_TIME = "appointments.offered_time"

# A PreferredWindow of an appointment request: (one day?, a part of the day given?) -> its words.
PREFERRED_WINDOW = {
    (True, False): "appointments.window.day",
    (False, False): "appointments.window.days",
    (True, True): "appointments.window.day_part",
    (False, True): "appointments.window.days_part",
}

# The days a patient asked for (understanding.when.When), by (one day?, a time of day?).
ASKED_DAYS = {
    (True, False): "appointments.window.day",  # one day is said as a request's window says it
    (False, False): "when.days",
    (True, True): "appointments.window.day_part",
    (False, True): "when.days_part",
}

# portal_core.proxy.Capability's values: what a sentence calls each ("test results").
CAPABILITY = {
    "appointments": "proxy.capability.appointments",
    "prescriptions": "proxy.capability.prescriptions",
    "results": "proxy.capability.results",
    "clinical_notes": "proxy.capability.clinical_notes",
    "messages": "proxy.capability.messages",
    "immunizations": "proxy.capability.immunizations",
    "care_team": "proxy.capability.care_team",
}

# portal_core.safety.KINDS: what is said when one is detected.
EMERGENCY = {"medical": "safety.medical", "crisis": "safety.crisis"}

# Where each kind of emergency sends a person, as links a phone can follow (the web chat's
# tap-to-call buttons): the label's message id and the link, whose number is one of the
# catalogue's facts, as the sentences in `EMERGENCY` name it.
EMERGENCY_CONTACTS: dict[str, tuple[tuple[str, str], ...]] = {
    "medical": (("safety.call_emergency", "tel:{emergency_number}"),),
    "crisis": (
        ("safety.call_crisis_line", "tel:{crisis_line}"),
        ("safety.text_crisis_line", "sms:{crisis_text}"),
        ("safety.call_emergency", "tel:{emergency_number}"),
    ),
}
