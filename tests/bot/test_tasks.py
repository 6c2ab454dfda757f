"""Whole tasks, as patients do them: each judged by what it changed or showed, not by intents.

Every task here is a small conversation written the way patients talk (none copied from the
training data), on the web chat (REST with a signed portal token), by text through the signed
Twilio SMS channel, or by phone through the signed voice channel. Each starts on a freshly seeded
portal and is judged by its outcome: the slot booked is exactly the one the patient picked, the
refill is filed for the right medication, the right person's record is shown (or withheld), the
answer names what was asked. The tasks are data (`TASKS`); `test_task` runs one.

Choices among offered times are made the way a patient makes them, by looking at the offer:
"the 10 o'clock one on Wednesday" picks whichever offered time that phrase names, and the task
remembers which slot that was, so the booking can be checked against it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal_core.clock import utcnow
from portal_core.database import Database
from portal_core.models import (
    Appointment,
    AppointmentRequest,
    Clinic,
    Message,
    MessageThread,
    Pharmacy,
    Prescription,
    RefillRequest,
    RenewalRequest,
    Slot,
)
from tests.bot.patients import ChannelPatient, Person, patient, person
from tests.bot.stack import Stack, copy_database, live_database, seeded_portal

pytestmark = pytest.mark.slow

# ---- the portal each task starts from ------------------------------------------------------


@pytest.fixture(scope="module")
def pristine(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A freshly seeded portal to copy before each task; the live one is restored afterwards."""
    with seeded_portal(stack, tmp_path_factory.mktemp("tasks")) as fresh:
        yield fresh


# ---- what a task sees while it runs -----------------------------------------------------------


@dataclass(frozen=True)
class Offered:
    """A slot as the patient sees it: when (on the clinic's clock), with whom, what kind."""

    id: int
    local: datetime
    provider: str
    kind: str


@dataclass
class Run:
    """One task in progress: the patient, the portal, and what the patient picked."""

    patient: ChannelPatient
    db: Database
    who: Person
    before: dict[str, set[int]]
    before_slots: dict[int, tuple[str, int]]
    picked: int | None = None
    offered: list[Offered] = field(default_factory=list)

    # -- the portal, before and after

    def new(self, model: type) -> list[Any]:
        with self.db.transaction() as session:
            rows = list(session.scalars(select(model).order_by(model.id)))
            for row in rows:
                session.expunge(row)
        return [row for row in rows if row.id not in self.before[model.__name__]]

    def person(self, name: str) -> Person:
        return person(self.db, name)

    def subject(self, name: str | None) -> int:
        return self.who.id if name is None else self.person(name).id

    def changed_appointments(self) -> list[Appointment]:
        """Appointments cancelled or moved during the task."""
        with self.db.transaction() as session:
            rows = [
                a
                for a in session.scalars(select(Appointment))
                if a.id in self.before_slots and (a.status, a.slot_id) != self.before_slots[a.id]
            ]
            for row in rows:
                session.expunge(row)
        return rows

    def slot(self, slot_id: int) -> Offered:
        with self.db.transaction() as session:
            row = session.get(Slot, slot_id)
            assert row is not None
            zone = ZoneInfo(row.clinic.time_zone)
            return Offered(
                row.id,
                row.starts_at.replace(tzinfo=timezone.utc).astimezone(zone),
                row.provider.name,
                row.appointment_type.name,
            )

    # -- what was said

    def replies(self) -> str:
        return "\n".join(line[4:] for line in self.patient.transcript if line.startswith("  < "))

    def last(self) -> str:
        return self.patient.last


def snapshot(db: Database) -> tuple[dict[str, set[int]], dict[int, tuple[str, int]]]:
    models = (Appointment, AppointmentRequest, RefillRequest, RenewalRequest, Message)
    with db.transaction() as session:
        ids = {m.__name__: set(session.scalars(select(m.id))) for m in models}
        rows = session.execute(select(Appointment.id, Appointment.status, Appointment.slot_id))
        slots = {id_: (status, slot) for id_, status, slot in rows}
    return ids, slots


# ---- turns that depend on what was offered ----------------------------------------------------

Turn = str | Callable[[Run], str]


def offered_slots(run: Run) -> list[Offered]:
    ids = [int(i) for i in (run.patient.slot("offered") or []) if str(i).isdigit()]
    assert ids, f"no times were offered\n{run.patient.said()}"
    run.offered = [run.slot(i) for i in ids]
    return run.offered


def _clock(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour} o'clock" if moment.minute == 0 else f"{hour}:{moment.minute:02d}"


def _hour(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    text = str(hour) if moment.minute == 0 else f"{hour}:{moment.minute:02d}"
    return f"{text} {'am' if moment.hour < 12 else 'pm'}"


def _unique(run: Run, key: Callable[[Offered], object], avoid_first: bool = True) -> Offered:
    """An offered slot that `key` tells apart from the others (not the first, if possible)."""
    slots = run.offered
    keys = [key(s) for s in slots]
    unique = [s for s, k in zip(slots, keys, strict=True) if keys.count(k) == 1]
    assert unique, f"nothing offered can be told apart this way: {keys}\n{run.patient.said()}"
    later = [s for s in unique if s.id != slots[0].id] if avoid_first else unique
    return (later or unique)[-1]


def pick(how: str, template: str = "") -> Callable[[Run], str]:
    """Choose one of the offered times the way a patient would, and remember which it was."""

    def choose(run: Run) -> str:
        slots = offered_slots(run)
        local = {s.id: s.local for s in slots}
        if how.startswith("ordinal:"):
            index = int(how.split(":")[1])
            chosen = slots[index]
            words = template or ["the first one", "the second one", "the third one"][index]
        elif how == "clock+day":
            chosen = _unique(run, lambda s: (local[s.id].weekday(), local[s.id].time()))
            days = {local[s.id].date() for s in slots}
            day = f" on {local[chosen.id]:%A}" if len(days) > 1 else ""
            words = (template or "the {clock} one{day}").format(
                clock=_clock(local[chosen.id]), day=day
            )
        elif how == "time":
            chosen = _unique(run, lambda s: local[s.id].time())
            words = (template or "{hour} please").format(hour=_hour(local[chosen.id]))
        elif how == "weekday":
            chosen = _unique(run, lambda s: local[s.id].weekday())
            words = (template or "{weekday} works best").format(weekday=f"{local[chosen.id]:%A}")
        elif how == "provider":
            chosen = _unique(run, lambda s: s.provider)
            last_name = chosen.provider.split()[-1]
            words = (template or "the one with Dr {name}").format(name=last_name)
        elif how == "latest":
            chosen = max(slots, key=lambda s: s.local)
            words = template or "the later one"
        else:  # pragma: no cover - a mistake in a task
            raise ValueError(how)
        run.picked = chosen.id
        return words

    return choose


def correct(template: str = "no, I said {hour}") -> Callable[[Run], str]:
    """After the assistant confirmed another time: name the one meant, by its hour (and its
    day, when the hour alone fits two)."""

    def say(run: Run) -> str:
        assert run.offered, "correct() follows a pick()"
        others = [s for s in run.offered if s.id != run.picked]
        hours = [s.local.time() for s in run.offered]
        chosen = next((s for s in reversed(others) if hours.count(s.local.time()) == 1), None)
        day = ""
        if chosen is None:
            times = [(s.local.date(), s.local.time()) for s in run.offered]
            chosen = next(
                (s for s in reversed(others) if times.count((s.local.date(), s.local.time())) == 1),
                None,
            )
            day = f" on {chosen.local:%A}" if chosen else ""
        assert chosen, f"no other offered time can be named\n{run.patient.said()}"
        moment = chosen.local
        hour = str(moment.hour % 12 or 12)
        if moment.minute:
            hour += f":{moment.minute:02d}"
        run.picked = chosen.id
        return template.format(hour=hour + day, clock=_clock(moment) + day)

    return say


def out_of_range(run: Run) -> str:
    slots = offered_slots(run)
    return str(len(slots) + 3)


# ---- outcomes -----------------------------------------------------------------------------------

Check = Callable[[Run], None]


def all_of(*checks: Check) -> Check:
    def check(run: Run) -> None:
        for each in checks:
            each(run)

    return check


def said(*phrases: str, last: bool = False) -> Check:
    """Every phrase (case aside) appears in what the assistant said (or in its last answer)."""

    def check(run: Run) -> None:
        text = (run.last() if last else run.replies()).lower()
        missing = [p for p in phrases if p.lower() not in text]
        assert not missing, f"not said: {missing}"

    return check


def said_any(*phrases: str, last: bool = False) -> Check:
    def check(run: Run) -> None:
        text = (run.last() if last else run.replies()).lower()
        assert any(p.lower() in text for p in phrases), f"said none of {phrases}"

    return check


def never_said(*phrases: str) -> Check:
    def check(run: Run) -> None:
        text = run.replies().lower()
        found = [p for p in phrases if p.lower() in text]
        assert not found, f"should not have said: {found}"

    return check


def said_pattern(pattern: str, last: bool = False) -> Check:
    def check(run: Run) -> None:
        text = run.last() if last else run.replies()
        assert re.search(pattern, text, re.I | re.S), f"nothing matches {pattern!r}"

    return check


CONFUSED = (
    "didn't quite get that",
    "still not sure",
    "here's what i can do",
    "can't help with that here",
    "didn't catch that",
)


def understood() -> Check:
    """No "didn't get that", help menu or out-of-scope answer anywhere in the task."""
    return never_said(*CONFUSED)


def booked_picked(for_: str | None = None, *, changed: bool = False) -> Check:
    """One new appointment, on exactly the slot the patient picked, for the right person."""

    def check(run: Run) -> None:
        assert run.picked is not None, "the patient never picked a time"
        new = [a for a in run.new(Appointment) if a.status == "booked"]
        if changed:  # a reschedule cancels the old appointment and books the new time
            moved = run.changed_appointments()
            assert [a.status for a in moved] == ["cancelled"], f"changed {moved}"
            assert [a.slot_id for a in new] == [run.picked], (
                f"moved to {[a.slot_id for a in new]}, picked {run.picked}"
            )
            assert new[0].patient_id == moved[0].patient_id == run.subject(for_)
            return
        assert [a.slot_id for a in new] == [run.picked], (
            f"booked slots {[a.slot_id for a in new]}, picked {run.picked}"
        )
        assert new[0].patient_id == run.subject(for_)
        assert not run.changed_appointments(), "an existing appointment was changed"

    return check


def booked(
    for_: str | None = None,
    *,
    kind: str | None = None,
    when: Callable[[Run, datetime], bool] | None = None,
) -> Check:
    """One new appointment for the right person (of a kind, in a window)."""

    def check(run: Run) -> None:
        new = [a for a in run.new(Appointment) if a.status == "booked"]
        assert len(new) == 1, f"{len(new)} appointments booked"
        assert new[0].patient_id == run.subject(for_), "booked for the wrong person"
        slot = run.slot(new[0].slot_id)
        if kind:
            assert kind.lower() in slot.kind.lower(), f"booked a {slot.kind}"
        if when:
            assert when(run, slot.local), f"booked {slot.local}, outside what was asked"

    return check


def nothing_booked() -> Check:
    def check(run: Run) -> None:
        assert not run.new(Appointment), "something was booked"
        assert not run.changed_appointments(), "an appointment was changed"

    return check


def cancelled(summary_word: str, for_: str | None = None) -> Check:
    def check(run: Run) -> None:
        gone = [a for a in run.changed_appointments() if a.status == "cancelled"]
        assert len(gone) == 1, f"{len(gone)} appointments cancelled"
        assert gone[0].patient_id == run.subject(for_)
        with run.db.transaction() as session:
            name = session.get(Appointment, gone[0].id).slot.appointment_type.name
        assert summary_word.lower() in name.lower(), f"cancelled the {name}"

    return check


def refill_filed(medication: str, for_: str | None = None, pharmacy: str | None = None) -> Check:
    def check(run: Run) -> None:
        new = run.new(RefillRequest)
        assert len(new) == 1, f"{len(new)} refills filed"
        subject = run.subject(for_)  # before the transaction below: one at a time on SQLite
        with run.db.transaction() as session:
            rx = session.get(Prescription, new[0].prescription_id)
            place = session.get(Pharmacy, new[0].pharmacy_id)
            assert medication.lower() in rx.medication.lower(), f"refilled {rx.medication}"
            assert rx.patient_id == subject
            if pharmacy:
                assert pharmacy.lower() in place.name.lower(), f"to {place.name}"
        assert new[0].requested_by_id == run.who.id

    return check


def no_refill() -> Check:
    def check(run: Run) -> None:
        assert not run.new(RefillRequest), "a refill was filed"

    return check


def renewal_filed(medication: str, for_: str | None = None) -> Check:
    def check(run: Run) -> None:
        new = run.new(RenewalRequest)
        assert len(new) == 1, f"{len(new)} renewals filed"
        subject = run.subject(for_)
        with run.db.transaction() as session:
            rx = session.get(Prescription, new[0].prescription_id)
            assert medication.lower() in rx.medication.lower(), f"renewal of {rx.medication}"
            assert rx.patient_id == subject
        assert not run.new(Message), "a secure message was sent instead of (or with) the renewal"

    return check


def message_sent(containing: str, *, pool: str | None = None, pcm: bool = False) -> Check:
    def check(run: Run) -> None:
        new = run.new(Message)
        assert len(new) == 1, f"{len(new)} messages sent"
        assert containing.lower() in new[0].body.lower(), new[0].body
        with run.db.transaction() as session:
            thread = session.get(MessageThread, new[0].thread_id)
            if pool:
                assert thread.pool == pool, f"went to {thread.recipient_kind}/{thread.pool}"
            if pcm:
                assert thread.recipient_kind == "pcm", f"went to {thread.pool}"

    return check


def no_changes() -> Check:
    def check(run: Run) -> None:
        for model in (Appointment, RefillRequest, RenewalRequest, Message, AppointmentRequest):
            assert not run.new(model), f"a {model.__name__} was created"
        assert not run.changed_appointments()

    return check


def clinic_phone(run: Run, name: str, facility_word: str = "Darnall") -> str:
    with run.db.transaction() as session:
        return next(
            c.phone
            for c in session.scalars(select(Clinic))
            if c.name == name and facility_word in c.facility
        )


def clinic_number(name: str, facility_word: str = "Darnall") -> Check:
    """The clinic's number, as digits on a screen or as words on the phone."""

    def check(run: Run) -> None:
        phone = clinic_phone(run, name, facility_word)
        text = run.replies()
        if run.patient.channel == "voice":
            digits = re.sub(r"\D", "", phone)[-4:]
            spoken = " ".join(_DIGIT_WORDS[int(d)] for d in digits)
            assert spoken in text.lower(), f"{phone} not spoken"
        else:
            assert phone in text, f"{phone} not given"

    return check


_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


# ---- windows a patient asks for ------------------------------------------------------------------


def next_week(run: Run, moment: datetime) -> bool:
    today = utcnow().astimezone(moment.tzinfo).date()
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    return monday <= moment.date() <= monday + timedelta(days=4)


def afternoon(run: Run, moment: datetime) -> bool:
    return 12 <= moment.hour < 17


def morning(run: Run, moment: datetime) -> bool:
    return moment.hour < 12


def both(*tests: Callable[[Run, datetime], bool]) -> Callable[[Run, datetime], bool]:
    return lambda run, moment: all(t(run, moment) for t in tests)


def offered_within(test: Callable[[Run, datetime], bool]) -> Check:
    """Every time offered kept what the patient asked for."""

    def check(run: Run) -> None:
        assert run.offered, "nothing was offered"
        outside = [s.local for s in run.offered if not test(run, s.local)]
        assert not outside, f"offered {outside}"

    return check


def offers_look_different() -> Check:
    """No two offered times read the same (on the web, the buttons' titles)."""

    def check(run: Run) -> None:
        titles = [t for t in run.patient.buttons if t.lower() != "none of these"]
        assert len(titles) == len(set(titles)), f"offered twice: {titles}"

    return check


# ---- the tasks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    name: str
    channel: str
    speaker: str
    turns: tuple[Turn, ...]
    outcome: Check
    dob_style: str | None = None
    note: str = ""


def task(
    name: str,
    channel: str,
    speaker: str,
    turns: list[Turn],
    *outcome: Check,
    dob_style: str | None = None,
) -> Task:
    return Task(name, channel, speaker, tuple(turns), all_of(*outcome), dob_style)


MARCUS, ELENA, DANIEL, KEVIN = "Marcus Rivera", "Elena Rivera", "Daniel Okafor", "Kevin Sullivan"
HAYES, PRICE, TOBI, BROOKS = "Robert Hayes", "Danielle Price", "Tobi Okafor", "Tyler Brooks"
OLIVIA, JASMINE, GRACE, MEGAN = (
    "Olivia Sullivan",
    "Jasmine Torres",
    "Grace Okafor",
    "Megan Sullivan",
)
AALIYAH, CHIDI = "Aaliyah Johnson", "Chidi Okafor"

TASKS: list[Task] = [
    # ---- booking: the slot booked is the one picked ----------------------------------------
    task(
        "web: the 10 o'clock one on Wednesday",
        "web",
        MARCUS,
        [
            "I'd like to set up a follow-up visit with my doctor",
            "sometime next week",
            pick("clock+day"),
            "yes",
        ],
        booked_picked(),
    ),
    task(
        "sms: '2 pm please'",
        "sms",
        OLIVIA,
        ["hi can i make a follow up appt for myself", "next week", pick("time"), "yes"],
        booked_picked(),
    ),
    task(
        "voice: the second one, said in words",
        "voice",
        DANIEL,
        [
            "I need to book a follow up appointment for myself",
            "next week",
            pick("ordinal:1", "the second one please"),
            "yes",
        ],
        booked_picked(),
    ),
    task(
        "web: by weekday",
        "web",
        JASMINE,
        [
            "can I get a follow-up appointment for me",
            "any day next week",
            pick("weekday"),
            "yes please",
        ],
        booked_picked(),
    ),
    task(
        "web: the later one",
        "web",
        KEVIN,
        ["book me a follow up visit please", "next week", pick("latest", "the later one"), "yes"],
        booked_picked(),
    ),
    task(
        "web: by provider",
        "web",
        PRICE,
        [
            "I want to book a follow up appointment for myself",
            "next week",
            pick("provider", "I'll take the one with Dr {name}"),
            "yes",
        ],
        booked_picked(),
        offers_look_different(),
    ),
    task(
        "web: a correction re-selects and never cancels",
        "web",
        MARCUS,
        [
            "schedule me a follow up",
            "next week",
            pick("ordinal:0", "the first one"),
            correct("no, I said {hour}"),
            "yes",
        ],
        booked_picked(),
    ),
    task(
        "sms: a correction by its clock",
        "sms",
        OLIVIA,
        [
            "need a follow up visit for me",
            "next week",
            pick("ordinal:0", "1"),
            correct("no i meant the {clock} one"),
            "yes",
        ],
        booked_picked(),
    ),
    task(
        "voice: a correction on the phone",
        "voice",
        PRICE,
        [
            "I'd like to book a follow up visit for myself",
            "next week",
            pick("ordinal:0", "the first one"),
            correct("no, I said {hour}"),
            "yes",
        ],
        booked_picked(),
    ),
    task(
        "web: next week, afternoon if possible",
        "web",
        MARCUS,
        [
            "I need a follow up for myself",
            "next week, afternoon if possible",
            pick("ordinal:0", "the first one"),
            "yes",
        ],
        booked_picked(),
        offered_within(both(next_week, afternoon)),
    ),
    task(
        "sms: mornings next week",
        "sms",
        KEVIN,
        ["can i book a follow up for me", "a morning next week", pick("ordinal:0", "1"), "yes"],
        booked_picked(),
        offered_within(both(next_week, morning)),
    ),
    task(
        "web: a number outside the list",
        "web",
        OLIVIA,
        ["book a follow-up for myself", "next week", out_of_range, pick("ordinal:0", "1"), "yes"],
        said("pick 1 to", "another day"),
        never_said("here's what i can do"),
        booked_picked(),
    ),
    task(
        "sms: a number outside the list",
        "sms",
        JASMINE,
        [
            "i want a follow up visit for me",
            "next week",
            out_of_range,
            pick("ordinal:1", "2"),
            "yes",
        ],
        said("pick 1 to", "another day"),
        never_said("here's what i can do"),
        booked_picked(),
    ),
    task(
        "voice: the time said, then yes",
        "voice",
        KEVIN,
        ["book a follow up for me", "next week", pick("time", "{hour} please"), "yes"],
        booked_picked(),
    ),
    task(
        "web: a child's well visit, by clock and day",
        "web",
        GRACE,
        [
            "I need to book Amara's well child checkup",
            "next week",
            pick("clock+day", "the {clock} one{day} please"),
            "yes",
        ],
        booked_picked("Amara Okafor"),
    ),
    task(
        "web: Sofia, mornings next week",
        "web",
        MARCUS,
        [
            "book sofia a well child visit next week in the morning",
            pick("ordinal:1", "the second one"),
            "yes",
        ],
        booked_picked("Sofia Rivera"),
        offered_within(both(next_week, morning)),
    ),
    task(
        "voice: booking for a child by name",
        "voice",
        DANIEL,
        [
            "d:1",
            "Amara",
            "a well child check",
            "next week in the morning",
            pick("ordinal:0", "the first one"),
            "yes",
        ],
        booked_picked("Amara Okafor"),
    ),
    task(
        "web: knock out my PHA",
        "web",
        BROOKS,
        ["I need to knock out my PHA", "next week", pick("ordinal:0", "first one"), "yes"],
        booked_picked(),
        booked(kind="periodic health assessment"),
    ),
    task(
        "sms: 'my knee' is about me",
        "sms",
        MARCUS,
        [
            "I need to see my doctor about my knee",
            "a sick visit",
            "next week",
            pick("ordinal:0", "1"),
            "yes",
        ],
        booked_picked(),
        never_said("who is this for"),
    ),
    task(
        "web: offered times never look the same",
        "web",
        MEGAN,
        [
            "I'd like a follow up appointment for myself",
            "as soon as possible",
            pick("ordinal:0", "the first one"),
            "yes",
        ],
        offers_look_different(),
        booked_picked(),
    ),
    # ---- changing and cancelling ---------------------------------------------------------------
    task(
        "web: cancel my wellness exam",
        "web",
        ELENA,
        ["I can't make my wellness exam, please cancel it", "yes"],
        cancelled("wellness"),
    ),
    task(
        "sms: cancel a child's checkup",
        "sms",
        MARCUS,
        ["need to cancel sofias checkup", "yes"],
        cancelled("well-child", "Sofia Rivera"),
    ),
    task(
        "voice: move my appointment to a time picked",
        "voice",
        DANIEL,
        [
            "I need to move my appointment for myself",
            "next week",
            pick("ordinal:1", "the second one"),
            "yes",
        ],
        booked_picked(changed=True),
    ),
    task(
        "web: move the follow-up to Thursday afternoon",
        "web",
        MARCUS,
        [
            "can I push my follow up to next thursday afternoon",
            pick("ordinal:0", "the first one"),
            "yes",
        ],
        booked_picked(changed=True),
    ),
    # ---- follow-ups that lean on the last answer -----------------------------------------------
    task(
        "web: after a refill, 'and the cholesterol one?'",
        "web",
        MARCUS,
        ["refill my lisinopril", "yes", "yes", "and the cholesterol one?"],
        refill_filed("lisinopril"),
        said("atorvastatin"),
        understood(),
    ),
    task(
        "web: after Sofia's refill, 'and mateos inhaler?'",
        "web",
        ELENA,
        ["please refill sofias montelukast", "yes", "yes", "and mateos inhaler?"],
        refill_filed("montelukast", "Sofia Rivera"),
        said("albuterol"),
        understood(),
    ),
    task(
        "web: after my appointments, 'what about my daughter's?'",
        "web",
        MARCUS,
        ["when is my next appointment", "what about my daughter's?"],
        said("follow-up visit", "well-child visit"),
        never_said("isabella"),
        understood(),
    ),
    task(
        "sms: 'what about my daughter's?' with two daughters",
        "sms",
        ELENA,
        ["what appointments do I have coming up", "what about my daughter's?", "Sofia"],
        said("wellness exam", "well-child visit"),
        understood(),
    ),
    task(
        "voice: 'and Sofia's?' after my appointments",
        "voice",
        MARCUS,
        ["when are my appointments", "and Sofia's?"],
        said("follow-up visit", "well-child visit"),
        understood(),
    ),
    task(
        "web: after my labs, 'and the x-ray?'",
        "web",
        MARCUS,
        ["show me my lab results", "and the chest x-ray from the ER?"],
        said("glucose", "x-ray chest"),
        understood(),
    ),
    task(
        "sms: after results, 'what about the biopsy'",
        "sms",
        KEVIN,
        ["any test results back for me?", "what about the biopsy"],
        said("vitamin d", "skin biopsy"),
        understood(),
    ),
    task(
        "web: after my labs, 'and Sofia's?'",
        "web",
        ELENA,
        ["can I see my lab results", "and Sofia's?"],
        said("thyroid", "strep"),
        understood(),
    ),
    task(
        "web: after my meds, 'and isabellas?'",
        "web",
        ELENA,
        ["what medications am I on", "and isabellas?"],
        said("levothyroxine", "tretinoin"),
        understood(),
    ),
    task(
        "web: a clinic's name alone after 'tell me which'",
        "web",
        MARCUS,
        ["what time does the clinic open?", "pediatrics"],
        clinic_number("Pediatrics Clinic"),
        understood(),
    ),
    task(
        "sms: a clinic's name alone, before any verification",
        "sms",
        HAYES,
        ["what are the clinic hours", "family medicine at darnall"],
        clinic_number("Family Medicine Clinic"),
        understood(),
    ),
    # ---- right task, right record -------------------------------------------------------------
    task(
        "web: yes to the renewal the bot offered",
        "web",
        ELENA,
        ["I need a refill on my sertraline", "yes please send it to Dr Kim"],
        renewal_filed("sertraline"),
    ),
    task(
        "sms: yes to the renewal the bot offered",
        "sms",
        ELENA,
        ["refill my sertraline", "yes please"],
        renewal_filed("sertraline"),
    ),
    task(
        "web: a question mid-booking, then the booking",
        "web",
        MARCUS,
        [
            "book me a follow up appointment",
            "how long does it usually take the doctor to answer a message?",
            "next week",
            pick("ordinal:0", "the first one"),
            "yes",
        ],
        said("business days"),
        booked_picked(),
    ),
    task(
        "sms: a question mid-refill, then the refill",
        "sms",
        TOBI,
        ["refill my nose spray", "how long until a refill is ready usually?", "yes", "yes"],
        said("business days"),
        refill_filed("fluticasone"),
    ),
    task(
        "web: 'pull up my daughter's labs, she gave me access'",
        "web",
        ELENA,
        ["can you pull up my daughter's labs, she gave me access", "Isabella"],
        said("mononucleosis"),
        understood(),
    ),
    task(
        "web: my clinic's phone number",
        "web",
        MARCUS,
        ["what's my clinic's phone number"],
        clinic_number("Family Medicine Clinic"),
    ),
    task(
        "web: a question for the nurse becomes a message",
        "web",
        MARCUS,
        [
            "question for the nurse about my medicine",
            "Can I take my lisinopril at night instead of in the morning?",
            "yes",
        ],
        message_sent("lisinopril at night", pool="nursing"),
        said("1-800-874-2273"),
    ),
    task(
        "sms: a basic account gets the upgrade answer",
        "sms",
        HAYES,
        ["when is my next appointment"],
        said("premium"),
        no_changes(),
    ),
    task(
        "voice: a basic account hears the upgrade answer",
        "voice",
        HAYES,
        ["I need a refill of my tamsulosin"],
        said("premium"),
        no_changes(),
    ),
    task(
        "web: a basic account reads the upgrade answer",
        "web",
        HAYES,
        ["show me my lab results"],
        said("premium"),
        never_said("potassium"),
    ),
    task(
        "web: 'my kid's results' means the one I may see",
        "web",
        MARCUS,
        ["I want to see my kid's test results"],
        said("strep"),
        never_said("isabella", "mateo", "glucose"),
    ),
    task(
        "web: 'who is this for?' offers only whom I may act for",
        "web",
        MARCUS,
        [
            "book an appointment please",
            "Sofia",
            "a well child visit",
            "next week",
            pick("ordinal:0", "the first one"),
            "yes",
        ],
        booked_picked("Sofia Rivera"),
        never_said("isabella"),
    ),
    task(
        "sms: sofias shots",
        "sms",
        MARCUS,
        ["sofias shots"],
        said("mmr", "dtap"),
        never_said("tdap"),
    ),
    task(
        "web: isabellas labs",
        "web",
        ELENA,
        ["isabellas labs"],
        said("mononucleosis"),
        never_said("thyroid"),
    ),
    task(
        "web: mateos results are not mine either",
        "web",
        MARCUS,
        ["mateos lab results"],
        said("mateo"),
        never_said("glucose", "hemoglobin"),
    ),
    task(
        "sms: a two-digit birth year",
        "sms",
        MARCUS,
        ["refill my lisinopril", "yes", "yes"],
        said("verified"),
        refill_filed("lisinopril"),
        dob_style="short-year",
    ),
    task(
        "web: 'my usual pharmacy'",
        "web",
        MARCUS,
        ["refill lisinopril please", "my usual pharmacy", "yes"],
        refill_filed("lisinopril", pharmacy="Darnall Main"),
    ),
    task(
        "web: one medication, no 'which medication?'",
        "web",
        PRICE,
        ["I need a refill", "yes", "yes"],
        refill_filed("metoprolol"),
        never_said("which medication"),
    ),
    task(
        "voice: a person before verification, with a number",
        "voice",
        CHIDI,
        ["can I talk to a real person"],
        said_pattern(r"(one|eight) (eight|hundred|zero)"),
        never_said("call your clinic's appointment line"),
    ),
    task(
        "voice: 'wait, when is it exactly'",
        "voice",
        MARCUS,
        ["when is my next appointment", "wait, when is it exactly"],
        said_pattern(r"follow-up visit.*follow-up visit"),
        understood(),
    ),
    # ---- everyday tasks on every channel --------------------------------------------------------
    task(
        "voice: a metoprolol refill",
        "voice",
        PRICE,
        ["I need to refill my metoprolol", "d:1", "d:1"],
        refill_filed("metoprolol"),
        dob_style="words",
    ),
    task(
        "sms: a nasal spray refill",
        "sms",
        TOBI,
        ["can you refill my fluticasone", "1", "1"],
        refill_filed("fluticasone"),
    ),
    task(
        "web: where is my refill",
        "web",
        DANIEL,
        ["where's my metformin refill at?"],
        said("metformin"),
    ),
    task(
        "web: did my biopsy come back",
        "web",
        KEVIN,
        ["did my biopsy come back yet"],
        said("skin biopsy", "not yet reviewed"),
    ),
    task(
        "sms: lab results by text, with consent",
        "sms",
        MARCUS,
        ["lab results please"],
        said("glucose"),
    ),
    task(
        "web: a son's shot record for school",
        "web",
        ELENA,
        ["I need Mateo's shot record for school"],
        said("hpv", "download"),
    ),
    task(
        "web: who is my PCM",
        "web",
        MARCUS,
        ["who's my primary care doctor?"],
        said("sarah kim"),
    ),
    task(
        "web: a message to my doctor",
        "web",
        MARCUS,
        [
            "send Dr Kim a message",
            "My home blood pressure readings have been around 135 over 85 this week",
            "yes",
        ],
        message_sent("135 over 85", pcm=True),
    ),
    task(
        "sms: a message to the nurses",
        "sms",
        JASMINE,
        ["i want to message the nurse", "my allergy medicine isn't helping anymore", "yes"],
        message_sent("allergy medicine", pool="nursing"),
    ),
    task(
        "web: past medications on request",
        "web",
        MARCUS,
        ["show me all my medications including ones I used to take"],
        said("lisinopril", "meloxicam"),
    ),
    # ---- facts the assistant states ----------------------------------------------------------
    task(
        "sms: overseas help numbers",
        "sms",
        KEVIN,
        ["I'm stationed in Germany, what number do I call for help with the portal?"],
        said("germany", "toll-free"),
        never_said("may not work"),
    ),
    task(
        "web: official immunization record",
        "web",
        MARCUS,
        ["how do I get an official copy of my shot record for travel"],
        said("download"),
        understood(),
    ),
    task(
        "web: a veteran keeps the portal",
        "web",
        KEVIN,
        ["I'm getting out of the Air Force next year, can I still use this portal after?"],
        said("va"),
        said_any("same record", "oracle health", "still"),
    ),
    task(
        "web: locked out of DS Logon",
        "web",
        CHIDI,
        ["I'm locked out of my DS Logon account"],
        said("forgot password", "30 days"),
    ),
    task(
        "web: an adult can give a parent access",
        "web",
        CHIDI,
        ["how can I let my mom see my medical records?"],
        said("proxy"),
        understood(),
    ),
    task(
        "web: message replies are typical, not promised",
        "web",
        AALIYAH,
        ["how fast will my doctor write back to a message?"],
        said("typically"),
    ),
]


def _ids() -> list[str]:
    names = [t.name for t in TASKS]
    assert len(names) == len(set(names)), "task names must be unique"
    return names


def test_the_suite_covers_enough_tasks_on_every_channel() -> None:
    assert len(TASKS) >= 60
    channels = {t.channel for t in TASKS}
    assert channels == {"web", "sms", "voice"}
    assert sum(t.channel == "sms" for t in TASKS) >= 12
    assert sum(t.channel == "voice" for t in TASKS) >= 8
    _ids()


@pytest.mark.parametrize("job", TASKS, ids=_ids())
def test_task(stack: Stack, pristine: Path, job: Task) -> None:
    copy_database(pristine, live_database(stack))
    db = Database(stack.database_url)
    try:
        who = person(db, job.speaker)
        before, slots = snapshot(db)
        talker = patient(job.channel, stack, who, job.dob_style)
        talker.restart()
        run = Run(talker, db, who, before, before_slots=slots)
        try:
            for turn in job.turns:
                text = turn(run) if callable(turn) else turn
                talker.say(text)
        finally:
            talker.finish()
        try:
            job.outcome(run)
        except AssertionError as failure:
            pytest.fail(f"{failure}\n\n{talker.said()}", pytrace=False)
    finally:
        db.dispose()


# ---- every action answers its typed error on every channel ------------------------------------

# One way a patient asks for each thing that needs a premium account.
ACTIONS = {
    "book": "I want to make an appointment",
    "cancel": "cancel my appointment please",
    "reschedule": "I need to reschedule my appointment",
    "appointments": "when is my next appointment",
    "refill": "I need a refill on my tamsulosin",
    "renewal": "please renew my tamsulosin prescription",
    "refill status": "is my refill ready yet",
    "medications": "what medications am I on",
    "results": "any lab results for me",
    "immunizations": "I need a copy of my immunization record",
    "message": "send a message to my doctor",
    "care team": "who is my primary care manager",
}


@pytest.mark.parametrize("channel", ["web", "sms", "voice"])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_answers_a_basic_account_on_every_channel(
    stack: Stack, pristine: Path, action: str, channel: str
) -> None:
    """A verified basic (Level 1) account asking for anything personal hears why, everywhere."""
    copy_database(pristine, live_database(stack))
    db = Database(stack.database_url)
    try:
        talker = patient(channel, stack, person(db, HAYES))
        talker.restart()
        try:
            reply = talker.say(ACTIONS[action])
        finally:
            talker.finish()
        assert "premium" in reply.lower(), talker.said()
        assert "upgrade" in reply.lower(), talker.said()
    finally:
        db.dispose()
