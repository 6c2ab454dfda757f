"""Every domain table, imported in one place so metadata (and Alembic) sees the whole schema.

The Twilio channels' tables sit on the same `Base` in `channel_state.models`, which the places
that build the whole schema (`migrations/env.py`, the tests) import as well.
"""

from portal_core.models.audit import AuditEvent, CareTeamAlert, SecurityAlert
from portal_core.models.base import Base, UTCDateTime
from portal_core.models.clinics import AppointmentType, BookingPolicy, Clinic
from portal_core.models.identity import PhoneLockout, VerifiedSession
from portal_core.models.messaging import Message, MessageThread
from portal_core.models.people import CareTeamMember, Guardianship, Patient, Provider, ProxyGrant
from portal_core.models.pharmacy import (
    Pharmacy,
    Prescription,
    RefillRequest,
    RefillStatusEvent,
    RenewalRequest,
)
from portal_core.models.records import Immunization, LabResult, Report
from portal_core.models.scheduling import Appointment, AppointmentRequest, Slot

__all__ = [
    "Appointment",
    "AppointmentRequest",
    "AppointmentType",
    "AuditEvent",
    "Base",
    "BookingPolicy",
    "CareTeamAlert",
    "CareTeamMember",
    "Clinic",
    "Guardianship",
    "Immunization",
    "LabResult",
    "Message",
    "MessageThread",
    "Patient",
    "Pharmacy",
    "PhoneLockout",
    "Prescription",
    "Provider",
    "ProxyGrant",
    "RefillRequest",
    "RefillStatusEvent",
    "RenewalRequest",
    "Report",
    "SecurityAlert",
    "Slot",
    "UTCDateTime",
    "VerifiedSession",
]
