"""Which offered time a reply picks: exactly the one it names, or a question, never a guess."""

from __future__ import annotations

from datetime import datetime

import pytest

from understanding.choices import (
    AMBIGUOUS,
    CHOSEN,
    NO_MATCH,
    NONE_OF_THESE,
    NOT_A_CHOICE,
    OUT_OF_RANGE,
    Option,
    names_a_day,
    pick_option,
)

# Monday 15, Wednesday 17 (twice) and Thursday 18 June: the "8, 10 and 11" and more.
OFFER = [
    Option(1, datetime(2026, 6, 17, 8, 0), "Sarah Kim, MD"),
    Option(2, datetime(2026, 6, 17, 10, 0), "Michael Brennan, DO"),
    Option(3, datetime(2026, 6, 17, 11, 0), "Laura Chen, NP"),
]
AFTERNOONS = [
    Option(4, datetime(2026, 6, 15, 14, 30), "Sarah Kim, MD"),
    Option(5, datetime(2026, 6, 16, 14, 0), "Laura Chen, NP"),
    Option(6, datetime(2026, 6, 18, 9, 0), "Sarah Kim, MD"),
]


@pytest.mark.parametrize(
    ("reply", "offer", "chosen"),
    [
        ("2", OFFER, 2),
        ("#3", OFFER, 3),
        ("number one", OFFER, 1),
        ("two", OFFER, 2),
        ("the second one", OFFER, 2),
        ("I'll take the third", OFFER, 3),
        ("the 10 o'clock one on Wednesday", OFFER, 2),
        ("the ten o'clock one", OFFER, 2),
        ("10am", OFFER, 2),
        ("11:00 please", OFFER, 3),
        ("no, I said 10", OFFER, 2),
        ("the later one", OFFER, 3),
        ("the earliest", OFFER, 1),
        ("the one with Dr Kim", OFFER, 1),
        ("Brennan", OFFER, 2),
        ("2 pm please", AFTERNOONS, 5),
        ("at 2", AFTERNOONS, 5),
        ("two thirty", AFTERNOONS, 4),
        ("half past two", AFTERNOONS, 4),
        ("Thursday works best", AFTERNOONS, 6),
        ("the morning one", AFTERNOONS, 6),
        ("the one on the 15th", AFTERNOONS, 4),
        ("june 16 please", AFTERNOONS, 5),
        ("Kim on Thursday", AFTERNOONS, 6),
        ("I'll take 1", AFTERNOONS, 4),
    ],
)
def test_a_reply_picks_exactly_the_time_it_names(
    reply: str, offer: list[Option], chosen: int
) -> None:
    pick = pick_option(reply, offer)
    assert (pick.kind, pick.chosen) == (CHOSEN, chosen)


def test_two_pm_is_not_two_thirty() -> None:
    only_half_past = [AFTERNOONS[0], AFTERNOONS[2]]
    assert pick_option("2 pm please", only_half_past).kind == NO_MATCH


@pytest.mark.parametrize("reply", ["the one with Dr Kim", "Wednesday", "the morning one"])
def test_a_reply_that_fits_several_asks_which(reply: str) -> None:
    offer = [*OFFER, Option(7, datetime(2026, 6, 17, 9, 0), "Sarah Kim, MD")]
    if reply == "the morning one":
        offer = OFFER
    pick = pick_option(reply, offer)
    assert pick.kind == AMBIGUOUS and len(pick.option_ids) >= 2


@pytest.mark.parametrize("reply", ["5", "7", "0", "number 12"])
def test_a_number_outside_the_list_is_out_of_range(reply: str) -> None:
    pick = pick_option(reply, OFFER)
    assert (pick.kind, pick.count) == (OUT_OF_RANGE, 3)


@pytest.mark.parametrize("reply", ["none of these", "neither works", "something else please"])
def test_none_of_these(reply: str) -> None:
    assert pick_option(reply, OFFER).kind == NONE_OF_THESE


@pytest.mark.parametrize("reply", ["the 9 o'clock one", "Friday", "the one with Dr Patel"])
def test_a_time_that_was_not_offered_matches_nothing(reply: str) -> None:
    assert pick_option(reply, OFFER).kind == NO_MATCH


@pytest.mark.parametrize("reply", ["yes", "how long is the visit?", "", "I need to think"])
def test_other_replies_are_not_choices(reply: str) -> None:
    assert pick_option(reply, OFFER).kind == NOT_A_CHOICE


def test_names_a_day() -> None:
    assert names_a_day("what about Friday")
    assert names_a_day("next week instead")
    assert not names_a_day("the 10 o'clock one")
