"""Properties of the proxy rule for any birth date and request date.

Ages here come from an independent reference (counting birthdays, with a 29 February birthday
falling on 1 March in common years), so a slip in `clock.age_on` shows up as a failed property.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from portal_core.proxy import TEEN_PARENT_CAPABILITIES, Capability, ProxyFacts, decide

ACTOR, PATIENT = 1, 2
capabilities = st.sampled_from(list(Capability))
birth_dates = st.dates(min_value=date(1920, 1, 1), max_value=date(2035, 12, 31))
ages_in_days = st.integers(min_value=0, max_value=100 * 366)
leap_birthdays = st.sampled_from([date(y, 2, 29) for y in range(1920, 2036, 4)])
# How hard each property is searched: decide() is cheap, and an age rule's edge is one day in
# thousands; the 29 February birthdays are few enough for fewer examples.
thorough = settings(deadline=None, max_examples=200)
leap_days = settings(deadline=None, max_examples=100)


def reference_age(born: date, on: date) -> int:
    def birthday_in(year: int) -> date:
        try:
            return born.replace(year=year)
        except ValueError:  # 29 February in a common year: the birthday is 1 March
            return date(year, 3, 1)

    return on.year - born.year - (1 if on < birthday_in(on.year) else 0)


def facts(
    born: date, *, guardian: bool, grant: date | None = None, actor: int = ACTOR
) -> ProxyFacts:
    return ProxyFacts(
        actor_id=actor,
        patient_id=PATIENT,
        patient_first_name="Riley",
        patient_birth_date=born,
        actor_is_guardian=guardian,
        grant_expires_on=grant,
    )


def on_day(born: date, days: int) -> date:
    on = born + timedelta(days=days)
    assume(on <= date(2140, 12, 31))
    return on


@thorough
@given(born=birth_dates, days=ages_in_days, cap=capabilities, guardian=st.booleans())
def test_everyone_has_full_access_to_their_own_record(
    born: date, days: int, cap: Capability, guardian: bool
) -> None:
    on = on_day(born, days)
    assert decide(facts(born, guardian=guardian, actor=PATIENT), cap, on).allowed


@thorough
@given(born=birth_dates, days=ages_in_days, cap=capabilities, expired_by=st.integers(1, 3650))
def test_no_guardianship_and_no_valid_grant_means_no_access(
    born: date, days: int, cap: Capability, expired_by: int
) -> None:
    on = on_day(born, days)
    for grant in (None, on - timedelta(days=expired_by)):
        decision = decide(facts(born, guardian=False, grant=grant), cap, on)
        assert not decision.allowed
        assert decision.data["name"] == "Riley"


@thorough
@given(born=birth_dates, days=st.integers(0, 12 * 366), cap=capabilities)
def test_guardians_have_full_access_under_12(born: date, days: int, cap: Capability) -> None:
    on = on_day(born, days)
    assume(reference_age(born, on) < 12)
    assert decide(facts(born, guardian=True), cap, on).allowed


@thorough
@given(born=birth_dates, days=st.integers(12 * 365, 18 * 366), cap=capabilities)
def test_guardians_of_teens_get_exactly_the_teen_capabilities(
    born: date, days: int, cap: Capability
) -> None:
    on = on_day(born, days)
    age = reference_age(born, on)
    assume(12 <= age <= 17)
    decision = decide(facts(born, guardian=True), cap, on)
    assert decision.allowed == (cap in TEEN_PARENT_CAPABILITIES)
    if not decision.allowed:
        assert (decision.data["age"], decision.data["name"]) == (age, "Riley")


@thorough
@given(
    born=birth_dates,
    days=st.integers(18 * 365, 100 * 366),
    cap=capabilities,
    guardian=st.booleans(),
    expired_by=st.integers(1, 3650),
)
def test_adults_are_closed_without_a_valid_grant(
    born: date, days: int, cap: Capability, guardian: bool, expired_by: int
) -> None:
    on = on_day(born, days)
    assume(reference_age(born, on) >= 18)
    for grant in (None, on - timedelta(days=expired_by)):
        assert not decide(facts(born, guardian=guardian, grant=grant), cap, on).allowed


@thorough
@given(
    born=birth_dates,
    days=st.integers(18 * 366, 100 * 366),
    cap=capabilities,
    guardian=st.booleans(),
    grant_days=st.integers(0, 400),
)
def test_a_grant_holds_through_its_expiry_date_and_not_a_day_longer(
    born: date, days: int, cap: Capability, guardian: bool, grant_days: int
) -> None:
    on = on_day(born, days)
    expiry = on + timedelta(days=grant_days)
    adult = facts(born, guardian=guardian, grant=expiry)
    assert decide(adult, cap, on).allowed
    assert decide(adult, cap, expiry).allowed
    assert not decide(adult, cap, expiry + timedelta(days=1)).allowed


@thorough
@given(born=birth_dates, cap=capabilities)
@example(born=date(2008, 2, 29), cap=Capability.RESULTS)
@example(born=date(2012, 2, 29), cap=Capability.MESSAGES)
def test_the_12th_birthday_moves_a_child_to_the_teen_rules(born: date, cap: Capability) -> None:
    twelfth = _birthday(born, 12)
    assert reference_age(born, twelfth - timedelta(days=1)) == 11
    assert decide(facts(born, guardian=True), cap, twelfth - timedelta(days=1)).allowed
    assert decide(facts(born, guardian=True), cap, twelfth).allowed == (
        cap in TEEN_PARENT_CAPABILITIES
    )


@thorough
@given(born=birth_dates, cap=st.sampled_from(sorted(TEEN_PARENT_CAPABILITIES)))
@example(born=date(2008, 2, 29), cap=Capability.APPOINTMENTS)
def test_the_18th_birthday_ends_a_parents_access(born: date, cap: Capability) -> None:
    eighteenth = _birthday(born, 18)
    assert decide(facts(born, guardian=True), cap, eighteenth - timedelta(days=1)).allowed
    assert not decide(facts(born, guardian=True), cap, eighteenth).allowed


@leap_days
@given(born=leap_birthdays, cap=st.sampled_from(sorted(set(Capability) - TEEN_PARENT_CAPABILITIES)))
def test_a_leap_day_child_turns_12_on_29_february(born: date, cap: Capability) -> None:
    twelfth = date(born.year + 12, 2, 29)  # twelve years on is a leap year again (up to 2100)
    assert decide(facts(born, guardian=True), cap, twelfth - timedelta(days=1)).allowed
    assert not decide(facts(born, guardian=True), cap, twelfth).allowed


@leap_days
@given(born=leap_birthdays, cap=st.sampled_from(sorted(TEEN_PARENT_CAPABILITIES)))
def test_a_leap_day_teen_turns_18_on_1_march(born: date, cap: Capability) -> None:
    common = born.year + 18  # eighteen years after a leap year is never a leap year
    assert decide(facts(born, guardian=True), cap, date(common, 2, 28)).allowed
    assert not decide(facts(born, guardian=True), cap, date(common, 3, 1)).allowed


def _birthday(born: date, years: int) -> date:
    """The day someone turns `years`: 1 March for a 29 February birthday in a common year."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return date(born.year + years, 3, 1)
