"""Passes (who may book while the room is active) and the estimate of the wait."""

import random

import pytest

from tests.factories import UserFactory
from tests.waiting_room.conftest import T0
from vaxbook.waiting_room import engine, services
from vaxbook.waiting_room.errors import InvalidTicket, PassInvalid, PassRequired
from vaxbook.waiting_room.models import WaitingRoom

pytestmark = pytest.mark.django_db


def _admitted_pass(now: float = T0 + 5) -> str:
    ticket = services.join(now=T0 + 1).ticket
    status = services.poll(ticket=ticket, now=now)
    assert status.state == "admitted"
    assert status.pass_token
    return status.pass_token


def test_no_pass_is_needed_while_no_room_is_active(db: None) -> None:
    services.check_pass(token=None, user_id=None)
    assert services.join().state == "off"


def test_booking_without_a_pass_is_refused_with_the_way_to_join(room: WaitingRoom) -> None:
    with pytest.raises(PassRequired) as refused:
        services.check_pass(token=None, user_id=None)
    assert "/waiting-room/" in refused.value.message


def test_the_front_gets_a_pass_that_books(room: WaitingRoom) -> None:
    user = UserFactory()
    services.check_pass(token=_admitted_pass(), user_id=user.pk)


def test_a_forged_or_altered_pass_is_refused(room: WaitingRoom) -> None:
    genuine = _admitted_pass()
    for forged in ["", "x", genuine[:-2] + "AA", genuine.replace(":", ";", 1)]:
        with pytest.raises((PassInvalid, PassRequired)):
            services.check_pass(token=forged, user_id=None)


def test_an_expired_pass_is_refused(room: WaitingRoom) -> None:
    token = _admitted_pass()
    with pytest.raises(PassInvalid):
        services.check_pass(token=token, user_id=None, now=T0 + 5 + room.pass_lifetime_seconds + 1)


def test_a_pass_books_for_one_account_only(room: WaitingRoom) -> None:
    token = _admitted_pass()
    first, second = UserFactory(), UserFactory()
    services.check_pass(token=token, user_id=first.pk)
    services.check_pass(token=token, user_id=first.pk)  # the same account, again: fine
    with pytest.raises(PassInvalid) as refused:
        services.check_pass(token=token, user_id=second.pk)
    assert "another account" in refused.value.message


def test_an_account_holds_one_live_pass(room: WaitingRoom) -> None:
    user = UserFactory()
    services.check_pass(token=_admitted_pass(), user_id=user.pk)
    with pytest.raises(PassInvalid):
        services.check_pass(token=_admitted_pass(now=T0 + 8), user_id=user.pk)


def test_after_its_pass_expired_a_ticket_must_join_again(room: WaitingRoom) -> None:
    ticket = services.join(now=T0 + 1).ticket
    assert services.poll(ticket=ticket, now=T0 + 5).state == "admitted"
    later = T0 + 5 + room.pass_lifetime_seconds + 1
    with pytest.raises(InvalidTicket):
        services.poll(ticket=ticket, now=later)
    services.join(now=later)
    again = services.join(ticket=ticket, now=later)
    assert again.position == 3  # at the back


def test_the_estimate_is_a_range_around_the_time_at_the_current_rate() -> None:
    estimate = engine.estimate(ahead=599, rate_per_second=10)
    assert estimate is not None
    assert estimate.low_seconds < 60 < estimate.high_seconds
    assert engine.estimate(ahead=5, rate_per_second=0) is None


def test_the_estimate_shrinks_as_the_line_moves(room: WaitingRoom) -> None:
    tickets = [services.join(now=T0 + 1).ticket for _ in range(30)]
    last = tickets[-1]
    estimates = [services.poll(ticket=last, now=T0 + 1 + s).estimate for s in range(5)]
    highs = [estimate.high_seconds for estimate in estimates if estimate is not None]
    assert len(highs) == 5
    assert highs == sorted(highs, reverse=True)
    assert highs[0] > highs[-1]


def test_polls_are_spaced_more_far_back_than_near_the_front() -> None:
    near = engine.poll_after(state="waiting", ahead=2, rate_per_second=10)
    far = engine.poll_after(state="waiting", ahead=20_000, rate_per_second=10)
    assert 2 <= near <= 2.41
    assert 48 <= far <= 72


@pytest.mark.parametrize("ahead", [0, 19, 20, 150, 499])
def test_a_person_polls_when_their_turn_is_expected_never_before(ahead: int) -> None:
    turn_in = (ahead + 1) / 10
    polls = [
        engine.poll_after(state="waiting", ahead=ahead, rate_per_second=10) for _ in range(500)
    ]
    # Given in hundredths of a second, rounded up.
    assert all(max(2, turn_in) <= poll <= max(2, turn_in) * 1.2 + 0.01 for poll in polls)


def test_the_poll_at_the_time_given_finds_the_turn_come(room: WaitingRoom) -> None:
    for _ in range(40):
        services.join(now=T0 + 1)
    last = services.join(now=T0 + 1)
    assert last.state == "waiting"

    status = services.poll(ticket=last.ticket, now=T0 + 1 + last.poll_after)

    assert status.state == "admitted"


def test_after_the_opening_a_big_pre_queue_spreads_its_first_polls() -> None:
    rng = random.Random(7)
    small = [
        engine.poll_after(state="pre_queue", opens_in=1, crowd=100, rng=rng) for _ in range(200)
    ]
    big = [
        engine.poll_after(state="pre_queue", opens_in=1, crowd=20_000, rng=rng) for _ in range(200)
    ]
    assert all(1.5 <= poll <= 1.5 + 3.5 for poll in small)
    assert all(1.5 <= poll <= 1.5 + 50 for poll in big)
    assert max(big) > 40  # spread over 20,000 / 400 = 50 s: about 400 polls a second


def test_sold_out_is_told_at_once(room: WaitingRoom) -> None:
    from vaxbook.centres.models import Slot

    ticket = services.join(now=T0 + 1).ticket
    services.join(now=T0 + 1)
    last = services.join(now=T0 + 1).ticket
    Slot.objects.update(booked=1000)
    services.forget_room()
    assert services.poll(ticket=last, now=T0 + 1.5).state == "sold_out"
    assert services.poll(ticket=ticket, now=T0 + 2).state == "admitted"
