"""Lab results, reports, immunizations: what a patient may read of their health record.

Results are released immediately: a result is visible as soon as it is final, before the care
team has looked at it, so every result says whether it has been reviewed. Preliminary results
stay hidden. Records that came through the health information exchange say where they came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from difflib import get_close_matches
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from portal_core import access, audit, disclosure, prescriptions
from portal_core.actors import Actor
from portal_core.clock import as_utc
from portal_core.clock import now_or as _now
from portal_core.database import Database
from portal_core.errors import InvalidInput
from portal_core.ids import require_id as _require_id
from portal_core.models import Immunization, LabResult, Patient, Report
from portal_core.models.records import REPORT_KINDS
from portal_core.proxy import Capability
from understanding.text import normalise

R = TypeVar("R", LabResult, Report)  # a dated clinical record the patient reads

MAX_LIMIT = 100
MAX_QUERY_CHARS = 200


@dataclass(frozen=True)
class ResultType:
    """What someone asked for: a kind of record and the words that identify it.

    `terms` are matched at the start of words in test names, panels or report titles; an empty
    `terms` means every record of that kind.
    """

    kind: str  # lab | radiology | pathology | clinical_note
    label: str
    terms: tuple[str, ...] = ()


# What people say, mapped to what the record calls it. More specific entries win over general
# ones ("blood work for my cholesterol" is about cholesterol).
RESULT_TYPES: tuple[tuple[ResultType, tuple[str, ...]], ...] = (
    (ResultType("lab", "lab results"), (
        "blood work", "bloodwork", "blood test", "blood tests", "labs", "lab", "lab work",
        "lab results", "lab tests", "test results", "results",
    )),
    (ResultType("lab", "cholesterol", ("cholesterol", "lipid", "ldl", "hdl", "triglyceride")), (
        "cholesterol", "lipid", "lipids", "lipid panel", "ldl", "hdl", "triglycerides",
    )),
    (ResultType("lab", "hemoglobin A1c", ("a1c", "hba1c", "hemoglobin a1c")), (
        "a1c", "hba1c", "hemoglobin a1c", "a 1 c", "average blood sugar",
    )),
    (ResultType("lab", "glucose", ("glucose",)), ("glucose", "blood sugar", "sugar")),
    (ResultType("lab", "complete blood count", ("cbc", "complete blood count")), (
        "cbc", "complete blood count", "blood count", "white count", "hemoglobin",
    )),
    (ResultType("lab", "metabolic panel", (
        "metabolic", "bmp", "cmp", "creatinine", "egfr", "bun", "sodium", "potassium",
    )), (
        "metabolic panel", "metabolic", "bmp", "cmp", "electrolytes", "kidney", "kidney function",
        "creatinine", "potassium", "sodium",
    )),
    (ResultType("lab", "thyroid", ("tsh", "thyroid", "t4", "free t4")), ("thyroid", "tsh")),
    (ResultType("lab", "urinalysis", ("urinalysis", "urine")), (
        "urine", "urinalysis", "urine test", "ua",
    )),
    (ResultType("lab", "vitamin D", ("vitamin d",)), ("vitamin d", "vit d")),
    (ResultType("lab", "PSA", ("psa", "prostate")), ("psa", "prostate")),
    (ResultType("lab", "COVID-19 test", ("covid", "sars cov")), (
        "covid", "covid test", "coronavirus",
    )),
    (ResultType("lab", "strep test", ("strep",)), ("strep", "strep test", "strep throat")),
    (ResultType("lab", "flu test", ("influenza", "flu")), ("flu test", "influenza")),
    (ResultType("lab", "pregnancy test", ("hcg", "pregnancy")), ("pregnancy test", "hcg")),
    (ResultType("radiology", "imaging"), (
        "imaging", "radiology", "scan", "scans", "imaging results", "radiology report",
    )),
    (ResultType("radiology", "X-ray", ("x ray", "xray", "xr", "radiograph")), (
        "xray", "x ray", "xrays", "x rays", "radiograph",
    )),
    (ResultType("radiology", "MRI", ("mri", "magnetic resonance")), (
        "mri", "mri scan", "magnetic resonance",
    )),
    (ResultType("radiology", "CT scan", ("ct", "computed tomography")), (
        "ct", "ct scan", "cat scan", "computed tomography",
    )),
    (ResultType("radiology", "ultrasound", ("ultrasound", "sonogra")), (
        "ultrasound", "sonogram",
    )),
    (ResultType("radiology", "mammogram", ("mammogra",)), ("mammogram", "mammo", "mammography")),
    (ResultType("radiology", "bone density scan", ("dexa", "bone density")), (
        "dexa", "bone density",
    )),
    (ResultType("pathology", "pathology"), (
        "biopsy", "biopsies", "pathology", "path report", "pathology report", "tissue",
    )),
    (ResultType("pathology", "Pap test", ("pap", "cervical")), ("pap", "pap smear", "pap test")),
    (ResultType("clinical_note", "visit notes"), (
        "visit notes", "visit note", "notes", "note", "doctor's notes", "doctors notes",
        "doctor notes", "clinical notes", "clinic notes", "office notes", "progress notes",
        "visit summary", "after visit summary",
    )),
)  # fmt: skip


@dataclass(frozen=True)
class LabResultView:
    result_id: int
    test_name: str
    panel: str | None
    value: str
    unit: str | None
    reference_range: str | None  # "70 to 99", "less than 200"
    flag: str  # normal | high | low | critical_high | critical_low | abnormal (see wording)
    collected_at: datetime
    collected_on: date  # the patient's local date
    resulted_at: datetime | None
    reviewed: bool
    reviewed_on: date | None  # the patient's local date the care team reviewed it
    source_org: str | None  # who sent it, for records from the health information exchange


@dataclass(frozen=True)
class ReportView:
    report_id: int
    kind: str  # lab | radiology | pathology | clinical_note (REPORT_KINDS)
    title: str
    summary: str
    author: str | None
    performed_at: datetime
    performed_on: date
    resulted_at: datetime | None
    reviewed: bool  # a visit note, the clinician's own writing, counts as reviewed
    reviewed_on: date | None  # None for a visit note: it has no review to date
    source_org: str | None


@dataclass(frozen=True)
class ImmunizationView:
    immunization_id: int
    vaccine: str
    dose: str | None
    administered_on: date
    location: str
    source_org: str | None


@dataclass(frozen=True)
class ImmunizationRecordView:
    patient_first_name: str
    immunizations: tuple[ImmunizationView, ...]


# ----------------------------------------------------------------------------- what people say


def find_result_type(text: str) -> ResultType | None:
    """What kind of record `text` asks about ("blood work", "my MRI", "biopsy"), or None."""
    if not isinstance(text, str) or len(text) > MAX_QUERY_CHARS:
        return None
    normal = normalise(text)
    best: tuple[bool, int, ResultType] | None = None
    for result_type, phrases in RESULT_TYPES:
        for phrase in phrases:
            if re.search(rf"\b{re.escape(phrase)}\b", normal):
                rank = (bool(result_type.terms), len(phrase), result_type)
                if best is None or rank[:2] > best[:2]:
                    best = rank
    if best is not None:
        return best[2]
    for word in normal.split():  # misspellings: "cholestrol", "biospy", "ultrasund"
        if len(word) < 5:
            continue
        close = get_close_matches(word, _SINGLE_WORDS, n=1, cutoff=0.8)
        if close:
            return _SINGLE_WORDS[close[0]]
    return None


_SINGLE_WORDS = {
    phrase: result_type
    for result_type, phrases in RESULT_TYPES
    for phrase in phrases
    if " " not in phrase and len(phrase) >= 5
}


def _mentions(text: str, terms: Sequence[str]) -> bool:
    normal = normalise(text)
    return any(re.search(rf"\b{re.escape(term)}", normal) for term in terms)


def _terms_for(text: str, kinds: Sequence[str]) -> tuple[str, ...]:
    """The identifying words for `text` if it names a known type of these kinds, else itself."""
    result_type = find_result_type(text)
    if result_type is not None and result_type.kind in kinds:
        return result_type.terms
    return (normalise(text),)


# ----------------------------------------------------------------------------------- services


def lab_results(
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    test_name: str | None = None,
    only_new_since: datetime | None = None,
    limit: int = 10,
    now: datetime | None = None,
) -> list[LabResultView]:
    """Final lab results, newest first, each saying whether the care team has reviewed it."""
    now = _now(now)
    patient_id = _require_id(patient_id)
    limit = _require_limit(limit)
    terms = _query_terms(test_name, ("lab",))
    since = as_utc(only_new_since) if only_new_since is not None else None
    with db.transaction() as session:
        patient = access.require(session, actor, patient_id, Capability.RESULTS, now=now)
        zone = _zone(patient)
        visible = _visible_labs(session, patient_id, terms, since, now)
        views = [_lab_view(r, zone) for r in visible[:limit]]
        audit.record_disclosure(
            session, actor, patient_id, "view_lab_results", "lab_result",
            [v.result_id for v in views], now,
        )  # fmt: skip
    return views


def reports(
    db: Database,
    actor: Actor,
    patient_id: int,
    kind: str | None = None,
    *,
    about: str | None = None,
    only_new_since: datetime | None = None,
    limit: int = 10,
    now: datetime | None = None,
) -> list[ReportView]:
    """Final radiology and pathology reports and visit notes, newest first.

    Visit notes need the clinical-notes permission and imaging or pathology the results one;
    asking for every kind needs both.
    """
    now = _now(now)
    patient_id = _require_id(patient_id)
    limit = _require_limit(limit)
    if kind is not None and kind not in REPORT_KINDS:
        raise InvalidInput(key="results.report_kind")
    kinds = (kind,) if kind else REPORT_KINDS
    terms = _query_terms(about, kinds)
    since = as_utc(only_new_since) if only_new_since is not None else None
    with db.transaction() as session:
        patient = _require_report_access(session, actor, patient_id, kinds, now)
        zone = _zone(patient)
        visible = _visible_reports(session, patient_id, kinds, terms, since, now)
        views = [_report_view(r, zone) for r in visible[:limit]]
        audit.record_disclosure(
            session, actor, patient_id, "view_reports", "report", [v.report_id for v in views], now
        )
    return views


@dataclass(frozen=True)
class ResultsAnswer:
    """What a channel may be told about the results asked for.

    `labs` or `reports` hold what was disclosed (and audited as disclosed). When the channel may
    not carry health details (SMS without consent), both are empty and `withheld` counts the
    results that are ready: the person is told only that there is something to see.
    """

    kind: str  # lab | radiology | pathology | clinical_note
    labs: tuple[LabResultView, ...] = ()
    reports: tuple[ReportView, ...] = ()
    withheld: int = 0

    @property
    def found(self) -> int:
        """How many results answer the question, whether disclosed or withheld."""
        return len(self.labs) + len(self.reports) + self.withheld


DISCLOSURE_CHANNELS = ("web", "sms", "voice")


def results_for_channel(
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    channel: str,
    wanted: ResultType | None = None,
    limit: int = 10,
    now: datetime | None = None,
) -> ResultsAnswer:
    """The results `wanted` (lab results when None), as far as `channel` may carry them.

    The disclosure rule (`disclosure.allowed`: by SMS only with the consent of the patient and
    of the person texting) is applied before any value is read. What is withheld is audited as
    withheld (outcome `withheld`, naming the results not sent), never as a disclosure; what is
    sent is audited as disclosed through `channel`. Access rules come first, as for every read.
    """
    now = _now(now)
    patient_id = _require_id(patient_id)
    limit = _require_limit(limit)
    if channel not in DISCLOSURE_CHANNELS:
        raise InvalidInput(key="results.channel_unknown")
    kind = wanted.kind if wanted is not None else "lab"
    about = wanted.terms[0] if wanted is not None and wanted.terms else None
    kinds = (kind,)
    with db.transaction() as session:
        if kind == "lab":
            patient = access.require(session, actor, patient_id, Capability.RESULTS, now=now)
            action, resource = "view_lab_results", "lab_result"
        else:
            patient = _require_report_access(session, actor, patient_id, kinds, now)
            action, resource = "view_reports", "report"
        terms = _query_terms(about, kinds)
        may_send = disclosure.allowed(session, patient_id, channel, recipient_id=actor.patient_id)
        if not may_send:
            ids = _withheld_ids(session, patient_id, kind, terms, now)[:limit]
            audit.record(
                session,
                actor,
                subject_id=patient_id,
                action=action,
                resource=resource,
                outcome="withheld",
                detail=(
                    "ids=" + ",".join(str(i) for i in ids) + f"; not sent by {channel}: "
                    "no consent to health details by text"
                ),
                channel=channel,
                now=now,
            )
            return ResultsAnswer(kind=kind, withheld=len(ids))
        zone = _zone(patient)
        if kind == "lab":
            labs = tuple(
                _lab_view(r, zone)
                for r in _visible_labs(session, patient_id, terms, None, now)[:limit]
            )
            shown: Sequence[int] = [v.result_id for v in labs]
            answer = ResultsAnswer(kind=kind, labs=labs)
        else:
            found = tuple(
                _report_view(r, zone)
                for r in _visible_reports(session, patient_id, kinds, terms, None, now)[:limit]
            )
            shown = [v.report_id for v in found]
            answer = ResultsAnswer(kind=kind, reports=found)
        audit.record_disclosure(
            session, actor, patient_id, action, resource, shown, now, channel=channel
        )
    return answer


def immunizations(
    db: Database, actor: Actor, patient_id: int, *, now: datetime | None = None
) -> ImmunizationRecordView:
    """The immunization history, newest first, and how to get an official copy."""
    now = _now(now)
    patient_id = _require_id(patient_id)
    with db.transaction() as session:
        patient = access.require(session, actor, patient_id, Capability.IMMUNIZATIONS, now=now)
        rows = session.scalars(
            select(Immunization)
            .where(Immunization.patient_id == patient_id)
            .order_by(Immunization.administered_on.desc(), Immunization.id.desc())
        )
        items = tuple(
            ImmunizationView(
                immunization_id=i.id,
                vaccine=i.vaccine,
                dose=i.dose,
                administered_on=i.administered_on,
                location=i.location,
                source_org=i.source_org,
            )
            for i in rows
        )
        audit.record_disclosure(
            session, actor, patient_id, "view_immunizations", "immunization",
            [i.immunization_id for i in items], now,
        )  # fmt: skip
        return ImmunizationRecordView(patient_first_name=patient.first_name, immunizations=items)


def medication_list(
    db: Database, actor: Actor, patient_id: int, *, now: datetime | None = None
) -> list[prescriptions.MedicationView]:
    """The medication list is part of the health record; its rules live with prescriptions."""
    return prescriptions.list_medications(db, actor, patient_id, now=now)


# ------------------------------------------------------------------------------------ helpers


def reference_range(low: float | None, high: float | None, text: str | None = None) -> str | None:
    """The normal range in words: "70 to 99", "less than 200", "more than 40"."""
    if text:
        return text
    if low is not None and high is not None:
        return f"{low:g} to {high:g}"
    if high is not None:
        return f"less than {high:g}"
    if low is not None:
        return f"more than {low:g}"
    return None


def _lab_view(r: LabResult, zone: ZoneInfo) -> LabResultView:
    return LabResultView(
        result_id=r.id,
        test_name=r.test_name,
        panel=r.panel,
        value=r.value,
        unit=r.unit,
        reference_range=reference_range(r.reference_low, r.reference_high, r.reference_text),
        flag=r.flag,
        collected_at=r.collected_at,
        collected_on=r.collected_at.astimezone(zone).date(),
        resulted_at=r.resulted_at,
        reviewed=r.reviewed_at is not None,
        reviewed_on=_local_day(r.reviewed_at, zone),
        source_org=r.source_org,
    )


def _report_view(r: Report, zone: ZoneInfo) -> ReportView:
    # A visit note is the clinician's own writing, so saying it awaits review would mislead.
    is_note = r.kind == "clinical_note"
    return ReportView(
        report_id=r.id,
        kind=r.kind,
        title=r.title,
        summary=r.summary,
        author=r.author.display_name if r.author is not None else None,
        performed_at=r.performed_at,
        performed_on=r.performed_at.astimezone(zone).date(),
        resulted_at=r.resulted_at,
        reviewed=is_note or r.reviewed_at is not None,
        reviewed_on=None if is_note else _local_day(r.reviewed_at, zone),
        source_org=r.source_org,
    )


def _local_day(moment: datetime | None, zone: ZoneInfo) -> date | None:
    """The patient's calendar day of `moment` (a review is dated as the patient lives it)."""
    return moment.astimezone(zone).date() if moment is not None else None


def _released(resulted_at: datetime | None, now: datetime) -> bool:
    """Final and already resulted as of `now` (a result stamped later isn't out yet)."""
    return resulted_at is None or resulted_at <= now


def _capabilities(kinds: Sequence[str]) -> list[Capability]:
    needed = []
    if any(k in ("radiology", "pathology") for k in kinds):
        needed.append(Capability.RESULTS)
    if "clinical_note" in kinds:
        needed.append(Capability.CLINICAL_NOTES)
    return needed


def _query_terms(text: str | None, kinds: Sequence[str]) -> tuple[str, ...]:
    if text is None:
        return ()
    if not isinstance(text, str) or len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(key="results.query_too_long")
    if not normalise(text):
        return ()
    return _terms_for(text, kinds)


def _require_report_access(
    session: Session, actor: Actor, patient_id: int, kinds: Sequence[str], now: datetime
) -> Patient:
    first, *others = _capabilities(kinds)
    patient = access.require(session, actor, patient_id, first, now=now)
    for capability in others:
        access.require(session, actor, patient_id, capability, now=now)
    return patient


def _visible_labs(
    session: Session,
    patient_id: int,
    terms: Sequence[str],
    since: datetime | None,
    now: datetime,
    *,
    columns: Sequence[Any] = (),
) -> list[LabResult]:
    """Final, released lab results matching `terms`, newest first (`columns`: load only those)."""
    query = select(LabResult).where(LabResult.patient_id == patient_id, LabResult.status == "final")
    if columns:
        query = query.options(load_only(*columns))
    text: Callable[[LabResult], str] = lambda r: f"{r.test_name} {r.panel or ''}"  # noqa: E731
    rows = session.scalars(query)
    return _released_newest_first(rows, lambda r: r.collected_at, text, terms, since, now)


def _visible_reports(
    session: Session,
    patient_id: int,
    kinds: Sequence[str],
    terms: Sequence[str],
    since: datetime | None,
    now: datetime,
) -> list[Report]:
    """Final, released reports of `kinds` matching `terms`, newest first."""
    rows = session.scalars(
        select(Report).where(
            Report.patient_id == patient_id,
            Report.status == "final",
            Report.kind.in_(kinds),
        )
    )
    text: Callable[[Report], str] = lambda r: f"{r.title} {r.summary}"  # noqa: E731
    return _released_newest_first(rows, lambda r: r.performed_at, text, terms, since, now)


def _released_newest_first(
    rows: Iterable[R],
    taken: Callable[[R], datetime],
    text: Callable[[R], str],
    terms: Sequence[str],
    since: datetime | None,
    now: datetime,
) -> list[R]:
    """The released rows dated after `since` (by result, else when taken) whose `text` mentions
    `terms`, newest first: one rule for lab results and reports alike."""
    visible = [
        r
        for r in rows
        if _released(r.resulted_at, now)
        and (since is None or (r.resulted_at or taken(r)) > since)
        and (not terms or _mentions(text(r), terms))
    ]
    visible.sort(key=lambda r: (r.resulted_at or taken(r), r.id), reverse=True)
    return visible


def _withheld_ids(
    session: Session, patient_id: int, kind: str, terms: Sequence[str], now: datetime
) -> list[int]:
    """Which results would answer, found without loading a lab value."""
    if kind == "lab":
        names = (
            LabResult.id,
            LabResult.test_name,
            LabResult.panel,
            LabResult.collected_at,
            LabResult.resulted_at,
        )
        return [r.id for r in _visible_labs(session, patient_id, terms, None, now, columns=names)]
    return [r.id for r in _visible_reports(session, patient_id, (kind,), terms, None, now)]


def _zone(patient: Patient) -> ZoneInfo:
    clinic = patient.home_clinic
    return ZoneInfo(clinic.time_zone if clinic is not None else "UTC")


def _require_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(key="results.limit", data={"most": MAX_LIMIT})
    return limit
