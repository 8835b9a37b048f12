"""A waiting room switched on, on the database store unless a test asks for Redis."""

import datetime as dt
import os
from collections.abc import Iterator

import pytest
import redis
from django.conf import LazySettings

from tests.factories import SlotFactory
from vaxbook.waiting_room import services
from vaxbook.waiting_room.models import WaitingRoom

# The opening instant, a day ahead of the wall clock: tests pass `now` in seconds around it,
# and what reads the wall clock itself (a pass's binding) sees it as still to come.
OPENING = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(days=1)
T0 = OPENING.timestamp()


@pytest.fixture(autouse=True)
def fresh_room_cache() -> Iterator[None]:
    services.forget_room()
    yield
    services.forget_room()


@pytest.fixture
def database_store(settings: LazySettings) -> None:
    settings.WAITING_ROOM_REDIS_URL = ""
    # Tests that step through simulated seconds poll faster than the wall clock allows; the
    # poll-storm tests switch it back on.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "waiting_room_poll": "off"}


# This test run's own Redis database (never the shared one's data): REDIS_URL when set.
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/1"


def forget_lines() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter("vaxbook:{wr:*"):
        client.delete(key)


@pytest.fixture
def redis_store(settings: LazySettings) -> Iterator[None]:
    settings.WAITING_ROOM_REDIS_URL = REDIS_URL
    forget_lines()
    yield
    forget_lines()


@pytest.fixture(params=["database", "redis"])
def either_store(request: pytest.FixtureRequest, settings: LazySettings) -> Iterator[str]:
    """Runs a test once on each store."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "waiting_room_poll": "off"}
    if request.param == "database":
        settings.WAITING_ROOM_REDIS_URL = ""
        yield "database"
    else:
        settings.WAITING_ROOM_REDIS_URL = REDIS_URL
        forget_lines()
        yield "redis"
        forget_lines()


@pytest.fixture
def open_places(db: None) -> None:
    SlotFactory(capacity=1000)


@pytest.fixture
def room(db: None, either_store: str, open_places: None) -> WaitingRoom:
    return WaitingRoom.objects.create(
        name="Phase 3", active=True, opens_at=OPENING, rate_per_minute=60
    )
