"""The order of the line on the database store: the pre-queue drawn at random at the
opening, first in first out after it, nobody moved back, the grace period."""

import pytest
import time_machine
from django.conf import LazySettings

from tests.factories import UserFactory
from tests.waiting_room.conftest import T0
from vaxbook.waiting_room import services
from vaxbook.waiting_room.errors import InvalidTicket
from vaxbook.waiting_room.models import WaitingRoom

pytestmark = pytest.mark.django_db


def _position(ticket: str, now: float) -> int:
    position = services.poll(ticket=ticket, now=now).position
    assert position is not None
    return position


def test_before_the_opening_nobody_has_a_position(room: WaitingRoom) -> None:
    status = services.join(now=T0 - 60)
    assert status.state == "pre_queue"
    assert status.position is None
    assert status.opens_at == room.opens_at
    assert 0 < status.poll_after <= 36


def test_the_pre_queue_is_drawn_at_random_not_by_arrival(room: WaitingRoom) -> None:
    # Forty people arrive one after another before the opening; if the order were their
    # arrival, the first to arrive would always be first. The draw makes that a 1 in 40
    # chance, and the order of arrival is almost never the order of the line.
    tickets = [services.join(now=T0 - 40 + index * 0.5).ticket for index in range(40)]
    positions = [_position(ticket, T0 + 0.1) for ticket in tickets]
    assert sorted(positions) == list(range(1, 41))
    assert positions != list(range(1, 41))


def test_arriving_just_before_the_opening_gives_no_advantage_over_the_pre_queue(
    room: WaitingRoom,
) -> None:
    early = [services.join(now=T0 - 3600).ticket for _ in range(20)]
    last_moment = services.join(now=T0 - 0.1).ticket
    after = services.join(now=T0 + 0.1)
    # The person who came at 07:59:59.9 is somewhere in the draw, and the first person
    # after the opening comes after the whole pre-queue.
    assert 1 <= _position(last_moment, T0 + 1) <= 21
    assert after.position == 22
    assert {services.poll(ticket=t, now=T0 + 1).position for t in early} | {
        services.poll(ticket=last_moment, now=T0 + 1).position
    } == set(range(1, 22))


def test_after_the_opening_first_in_first_out(room: WaitingRoom) -> None:
    positions = [services.join(now=T0 + 10 + index).position for index in range(5)]
    assert positions == [1, 2, 3, 4, 5]


def test_a_position_never_moves_back_and_the_front_is_admitted_in_order(
    room: WaitingRoom,
) -> None:
    tickets = [services.join(now=T0 + 1).ticket for _ in range(10)]
    seen: dict[str, int] = {}
    admitted_order: list[int] = []
    for second in range(2, 14):
        for ticket in tickets:
            status = services.poll(ticket=ticket, now=T0 + second)
            assert status.position is not None
            # A position is given once; ahead only ever shrinks.
            assert seen.setdefault(ticket, status.position) == status.position
            if status.state == "admitted" and status.position not in admitted_order:
                admitted_order.append(status.position)
    # 60 a minute: one a second, the front first.
    assert admitted_order == list(range(1, 11))


def test_reload_with_the_same_ticket_keeps_the_place(room: WaitingRoom) -> None:
    first = services.join(now=T0 + 1)
    services.join(now=T0 + 2)
    again = services.join(ticket=first.ticket, now=T0 + 3)
    assert again.position == first.position == 1


def test_a_late_poll_within_the_grace_period_keeps_the_place(
    room: WaitingRoom, settings: LazySettings
) -> None:
    settings.WAITING_ROOM_GRACE_SECONDS = 600
    WaitingRoom.objects.filter(pk=room.pk).update(paused=True)
    services.forget_room()
    status = services.join(now=T0 + 1)
    for _ in range(3):
        services.join(now=T0 + 2)
    later = services.poll(ticket=status.ticket, now=T0 + 500)
    assert later.position == 1
    assert later.state == "paused"


def test_a_ticket_unused_beyond_the_grace_period_is_refused_clearly(
    room: WaitingRoom, settings: LazySettings
) -> None:
    settings.WAITING_ROOM_GRACE_SECONDS = 600
    with time_machine.travel(T0, tick=False):
        ticket = services.join(now=T0 + 1).ticket
    with time_machine.travel(T0 + 700, tick=False), pytest.raises(InvalidTicket) as refused:
        services.poll(ticket=ticket, now=T0 + 700)
    assert "Join the line again" in refused.value.message


def test_one_account_has_one_place_however_many_tickets_it_opens(room: WaitingRoom) -> None:
    user = UserFactory()
    first = services.join(account_id=user.pk, now=T0 + 1)
    services.join(now=T0 + 1)
    second = services.join(account_id=user.pk, now=T0 + 2)
    assert second.position == first.position == 1
