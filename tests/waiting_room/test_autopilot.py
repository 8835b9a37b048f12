"""Automatic admission: the rate follows the measured booking latency and errors, within
bounds; an armed room switches itself on when the booking load passes its threshold."""

import datetime as dt

import pytest
from django.conf import LazySettings
from django.utils import timezone

from tests.waiting_room.conftest import T0
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.waiting_room import autopilot, load, services
from vaxbook.waiting_room.models import LoadSample, WaitingRoom

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def bounds(settings: LazySettings) -> None:
    settings.WAITING_ROOM_TARGET_LATENCY_MS = 100
    settings.WAITING_ROOM_AUTO_MIN_RATE = 60
    settings.WAITING_ROOM_AUTO_MAX_RATE = 6000
    load.take()


def test_slow_bookings_lower_the_rate() -> None:
    assert autopilot.next_rate(rate=1000, requests=100, errors=0, latency_ms_total=100 * 250) == 700


def test_errors_lower_the_rate_even_when_fast() -> None:
    assert autopilot.next_rate(rate=1000, requests=100, errors=5, latency_ms_total=100 * 10) == 700


def test_fast_bookings_raise_the_rate_gently() -> None:
    assert autopilot.next_rate(rate=1000, requests=100, errors=0, latency_ms_total=100 * 20) == 1130


def test_the_rate_stays_within_its_bounds() -> None:
    rate = 1000.0
    for _ in range(50):
        rate = autopilot.next_rate(rate=rate, requests=10, errors=10, latency_ms_total=10 * 999)
    assert rate == 60
    for _ in range(200):
        rate = autopilot.next_rate(rate=rate, requests=10, errors=0, latency_ms_total=10)
    assert rate == 6000


def test_no_bookings_say_nothing() -> None:
    assert autopilot.next_rate(rate=500, requests=0, errors=0, latency_ms_total=0) == 500


def test_an_auto_room_slows_down_when_bookings_get_slow(room: WaitingRoom) -> None:
    WaitingRoom.objects.filter(pk=room.pk).update(mode="auto", rate_per_minute=1000)
    services.forget_room()
    for _ in range(20):
        load.count(latency_ms=400, error=False)
    autopilot.flush(now=T0 + 5)  # the window's measurements
    autopilot.flush(now=T0 + 15)  # the next window steers from them
    room.refresh_from_db()
    assert room.rate_per_minute == 700


def test_an_armed_room_switches_itself_on_above_its_threshold(db: None) -> None:
    armed = WaitingRoom.objects.create(
        name="Armed",
        active=False,
        opens_at=timezone.now() + dt.timedelta(days=30),
        auto_switch_on_per_second=2,
    )
    now = timezone.now().timestamp()
    now -= now % 10  # both looks in one ten-second window
    for _ in range(15):  # 1.5 a second over the window: below
        load.count(latency_ms=30, error=False)
    autopilot.flush(now=now)
    armed.refresh_from_db()
    assert not armed.active
    for _ in range(10):  # now 2.5 a second
        load.count(latency_ms=30, error=False)
    autopilot.flush(now=now + 1)
    armed.refresh_from_db()
    assert armed.active
    assert armed.opens_at.timestamp() == pytest.approx(now + 1)
    assert services.current_room() is not None
    assert AuditEvent.objects.filter(action=AuditAction.WAITING_ROOM_CHANGED).exists()
    assert LoadSample.objects.filter(room=armed).exists()
