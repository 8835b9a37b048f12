"""The campaign policy's decision, on plain values (no database)."""

import datetime as dt

from vaxbook.centres.policy import Decision, Rule, decide

UTC = dt.UTC
EIGHT = dt.datetime(2027, 3, 1, 7, 0, tzinfo=UTC)  # 08:00 in Madrid (CET)
COMIRNATY = 1
SPIKEVAX = 2


def rule(**changes) -> Rule:
    values = {
        "vaccine_id": None,
        "dose_number": None,
        "minimum_age": 60,
        "maximum_age": 69,
        "priority_group": "",
        "opens_at": EIGHT,
        "closes_at": None,
    }
    return Rule(**{**values, **changes})


def decision(rules, *, age=65, vaccine_id=COMIRNATY, dose=1, group="", now=EIGHT):
    return decide(
        rules, vaccine_id=vaccine_id, dose_number=dose, age=age, priority_group=group, now=now
    )


def test_without_any_opening_everyone_may_book():
    assert decision([], age=18) == Decision(allowed=True)


def test_a_cohort_may_book_from_its_opening_instant_and_not_a_second_before():
    assert decision([rule()], now=EIGHT) == Decision(allowed=True)
    early = decision([rule()], now=EIGHT - dt.timedelta(seconds=1))
    assert early == Decision(allowed=False, opens_at=EIGHT)


def test_ages_outside_every_opening_are_told_nothing_opens_for_them():
    assert decision([rule()], age=59) == Decision(allowed=False, opens_at=None)
    assert decision([rule()], age=70) == Decision(allowed=False, opens_at=None)


def test_the_age_range_includes_both_ends():
    assert decision([rule()], age=60).allowed
    assert decision([rule()], age=69).allowed


def test_the_earliest_upcoming_opening_is_the_one_announced():
    later = EIGHT + dt.timedelta(days=7)
    rules = [rule(opens_at=later), rule(opens_at=EIGHT + dt.timedelta(days=2))]
    assert decision(rules, now=EIGHT).opens_at == EIGHT + dt.timedelta(days=2)


def test_an_opening_for_one_vaccine_or_dose_does_not_open_the_others():
    rules = [rule(vaccine_id=SPIKEVAX, dose_number=1)]
    assert not decision(rules, vaccine_id=COMIRNATY).allowed
    assert not decision(rules, vaccine_id=SPIKEVAX, dose=2).allowed
    assert decision(rules, vaccine_id=SPIKEVAX, dose=1).allowed


def test_a_priority_group_opening_covers_only_its_members():
    rules = [rule(minimum_age=16, maximum_age=None, priority_group="health_worker")]
    assert decision(rules, age=30, group="health_worker").allowed
    assert not decision(rules, age=30, group="").allowed


def test_a_closed_opening_no_longer_admits_anyone():
    closing = EIGHT + dt.timedelta(days=1)
    rules = [rule(closes_at=closing)]
    assert decision(rules, now=closing - dt.timedelta(seconds=1)).allowed
    assert decision(rules, now=closing) == Decision(allowed=False, opens_at=None)
