"""Redis going away in the middle of an opening: nobody is admitted meanwhile (polls and
joins get a 503 with Retry-After), nobody loses their place, passes already issued still
book, and when it comes back the line does not rush a whole outage's admissions through."""

import datetime as dt
import socket

import pytest
from django.conf import LazySettings
from django.utils import timezone

from tests.api.conftest import Api
from tests.factories import SlotFactory, UserFactory
from tests.waiting_room.conftest import REDIS_URL
from vaxbook.waiting_room import services
from vaxbook.waiting_room.engine import MAX_STEP_SECONDS
from vaxbook.waiting_room.errors import Unavailable
from vaxbook.waiting_room.models import WaitingRoom

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens


@pytest.fixture
def opening(db: None, redis_store: None) -> WaitingRoom:
    SlotFactory(capacity=10_000)
    return WaitingRoom.objects.create(
        name="Phase 3",
        active=True,
        opens_at=timezone.now() - dt.timedelta(seconds=1),
        rate_per_minute=60,
    )


def _redis_goes_away(settings: LazySettings) -> None:
    settings.WAITING_ROOM_REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"


def test_redis_away_mid_opening(opening: WaitingRoom, settings: LazySettings) -> None:
    t0 = timezone.now().timestamp()
    tickets = [services.join(now=t0).ticket for _ in range(200)]
    front = services.poll(ticket=tickets[0], now=t0 + 2)
    assert front.state == "admitted"
    assert front.pass_token

    _redis_goes_away(settings)
    with pytest.raises(Unavailable):
        services.poll(ticket=tickets[100], now=t0 + 3)
    with pytest.raises(Unavailable):
        services.join(now=t0 + 3)
    # Through the API: a 503 with Retry-After, a problem, not a 500.
    answer = Api().get("/waiting-room/tickets/current", headers={"Waiting-Room-Ticket": tickets[5]})
    assert (answer.status, answer.code) == (503, "waiting_room_unavailable")
    assert int(answer.headers["Retry-After"]) > 0
    # The pass already issued still books.
    services.check_pass(token=front.pass_token, user_id=UserFactory().pk)

    # Ten minutes later Redis is back: everyone is where they were, and the frontier has
    # moved at most one step (a minute at the rate), not ten minutes' worth.
    settings.WAITING_ROOM_REDIS_URL = REDIS_URL
    back = t0 + 600
    assert services.poll(ticket=tickets[150], now=back).position == 151
    status = services.poll(ticket=tickets[199], now=back)
    assert status.state == "waiting"
    admitted = 200 - 1 - (status.ahead or 0)
    assert admitted <= 2 + MAX_STEP_SECONDS * 60 / 60 + 1


def test_a_line_lost_by_redis_is_rebuilt_from_the_tickets(opening: WaitingRoom) -> None:
    from tests.waiting_room.conftest import forget_lines

    t0 = timezone.now().timestamp()
    tickets = [services.join(now=t0).ticket for _ in range(5)]
    polled = [services.poll(ticket=ticket, now=t0 + 0.5) for ticket in tickets]
    forget_lines()  # Redis restarted without its data
    again = [services.poll(ticket=status.ticket, now=t0 + 1) for status in polled]
    assert [status.position for status in again] == [1, 2, 3, 4, 5]
    assert services.join(now=t0 + 1).position == 6
