"""Many people joining at the same instant, racing real threads: every one gets a place,
no two the same, none lost; on Redis and on the database store (PostgreSQL in CI)."""

import datetime as dt
from collections.abc import Iterator, Sequence
from functools import partial

import pytest
from django.conf import LazySettings
from django.utils import timezone

from tests.bookings.test_races import race
from tests.factories import SlotFactory, UserFactory
from tests.waiting_room.conftest import REDIS_URL, forget_lines
from vaxbook.waiting_room import services
from vaxbook.waiting_room.models import Ticket, WaitingRoom

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

CROWD = 40


@pytest.fixture(params=["database", "redis"])
def line(request: pytest.FixtureRequest, settings: LazySettings) -> Iterator[str]:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "waiting_room_poll": "off"}
    settings.WAITING_ROOM_REDIS_URL = "" if request.param == "database" else REDIS_URL
    forget_lines()
    SlotFactory(capacity=1000)
    services.forget_room()
    yield request.param
    forget_lines()
    services.forget_room()


def _positions(outcomes: Sequence[object]) -> list[int]:
    positions = []
    for outcome in outcomes:
        assert isinstance(outcome, services.Status), outcome
        assert outcome.position is not None
        positions.append(outcome.position)
    return sorted(positions)


def _room(opens_in: dt.timedelta) -> WaitingRoom:
    return WaitingRoom.objects.create(
        name="Race", active=True, opens_at=timezone.now() + opens_in, rate_per_minute=1
    )


def test_a_crowd_joining_at_once_gets_unique_positions_none_lost(line: str) -> None:
    _room(-dt.timedelta(hours=1))
    outcomes = race([services.join for _ in range(CROWD)])
    assert _positions(outcomes) == list(range(1, CROWD + 1))
    if line == "database":
        assert Ticket.objects.count() == CROWD


def test_a_pre_queue_crowd_is_drawn_into_unique_positions(line: str) -> None:
    room = _room(dt.timedelta(seconds=30))
    joined = race([services.join for _ in range(CROWD)])
    tickets = [outcome.ticket for outcome in joined if isinstance(outcome, services.Status)]
    assert len(tickets) == CROWD
    after = room.opens_at.timestamp() + 1
    outcomes = race([partial(services.poll, ticket=ticket, now=after) for ticket in tickets])
    assert _positions(outcomes) == list(range(1, CROWD + 1))


def test_one_account_joining_from_many_tabs_at_once_has_one_place(line: str) -> None:
    _room(-dt.timedelta(hours=1))
    user = UserFactory()
    outcomes = race([partial(services.join, account_id=user.pk) for _ in range(10)])
    assert set(_positions(outcomes)) == {1}
