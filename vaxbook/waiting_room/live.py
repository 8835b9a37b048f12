"""The opening as the health authority sees it: people waiting, admitted and bookings per
minute, places left, the time to clear the line; and the samples behind its chart.

A sample is one row per room and ten-second window (LoadSample), written by whoever looks
first in that window (the live page, or the automatic mode's step): the frontier, the
people waiting, the bookings made, the booking requests measured by the gate (count,
errors, total latency) and the admission rate in force.
"""

import datetime as dt
import itertools
import math
import time
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone
from redis.exceptions import RedisError

from vaxbook.bookings.models import Appointment
from vaxbook.waiting_room import load, services
from vaxbook.waiting_room.engine import RoomConfig
from vaxbook.waiting_room.models import LoadSample, WaitingRoom

SAMPLE_SECONDS = 10
CHART_MINUTES = 30


@dataclass(frozen=True)
class Live:
    room: WaitingRoom
    reachable: bool  # the line's store answered
    in_line: int
    waiting: int
    pre_queue: int
    admitted_per_minute: float
    bookings_per_minute: int
    places_left: int
    minutes_to_clear: int | None


def window_of(now: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(now - now % SAMPLE_SECONDS, tz=dt.UTC)


def snapshot(row: WaitingRoom, *, now: float | None = None) -> Live:
    now = time.time() if now is None else now
    room = services.config_of(row)
    reachable = True
    try:
        total, frontier, pre = services.store().snapshot(room=room, now=now)
    except RedisError:
        reachable, total, frontier, pre = False, 0, 0.0, 0
    waiting = max(0, total - math.floor(frontier + 1e-9)) + pre
    since = timezone.now() - dt.timedelta(minutes=1)
    bookings = Appointment.objects.filter(created_at__gte=since).count()
    rate = 0.0 if room.paused else room.rate_per_minute
    live = Live(
        room=row,
        reachable=reachable,
        in_line=total + pre,
        waiting=waiting,
        pre_queue=pre,
        admitted_per_minute=rate,
        bookings_per_minute=bookings,
        places_left=services.places_left(room),
        minutes_to_clear=math.ceil(waiting / rate) if rate > 0 else None,
    )
    if reachable:
        record_sample(room, now=now, admitted=frontier, waiting=waiting)
    return live


def record_sample(room: RoomConfig, *, now: float, admitted: float, waiting: int) -> None:
    """This window's sample (the first look in a window writes it; later ones add the
    load measured since)."""
    window = window_of(now)
    measured = load.take(now=now)
    bookings = Appointment.objects.filter(
        created_at__gte=window, created_at__lt=window + dt.timedelta(seconds=SAMPLE_SECONDS)
    ).count()
    sample, created = LoadSample.objects.get_or_create(
        room_id=room.id,
        window_start=window,
        defaults={
            "admitted": admitted,
            "waiting": waiting,
            "bookings": bookings,
            "requests": measured.requests,
            "errors": measured.errors,
            "latency_ms_total": measured.latency_ms_total,
            "rate_per_minute": 0.0 if room.paused else room.rate_per_minute,
        },
    )
    if not created:
        LoadSample.objects.filter(pk=sample.pk).update(
            admitted=admitted,
            waiting=waiting,
            bookings=bookings,
            requests=F("requests") + measured.requests,
            errors=F("errors") + measured.errors,
            latency_ms_total=F("latency_ms_total") + measured.latency_ms_total,
        )


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    admitted_points: str  # SVG polyline points
    booked_points: str
    peak: int
    rows: list[tuple[str, int, int]]  # time, admitted per minute, bookings per minute


def chart(row: WaitingRoom, *, now: float | None = None) -> Chart:
    """Admitted and booked per minute, from the samples of the last CHART_MINUTES."""
    now = time.time() if now is None else now
    since = dt.datetime.fromtimestamp(now - CHART_MINUTES * 60, tz=dt.UTC)
    samples = list(
        LoadSample.objects.filter(room=row, window_start__gte=since).order_by("window_start")
    )
    rows: list[tuple[dt.datetime, int, int]] = []
    for previous, sample in itertools.pairwise(samples):
        seconds = (sample.window_start - previous.window_start).total_seconds() or 1
        admitted = max(0.0, sample.admitted - previous.admitted) * 60 / seconds
        rows.append((sample.window_start, round(admitted), round(sample.bookings * 60 / 10)))
    width, height = 640, 200
    peak = max([1] + [max(a, b) for _t, a, b in rows])

    def points(values: list[int]) -> str:
        step = width / max(1, len(values) - 1)
        return " ".join(
            f"{i * step:.1f},{height - (value / peak) * (height - 10):.1f}"
            for i, value in enumerate(values)
        )

    return Chart(
        width=width,
        height=height,
        admitted_points=points([a for _t, a, _b in rows]),
        booked_points=points([b for _t, _a, b in rows]),
        peak=peak,
        rows=[(timezone.localtime(t).strftime("%H:%M:%S"), a, b) for t, a, b in rows[-12:]],
    )
