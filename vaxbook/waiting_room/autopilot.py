"""Automatic admission: the rate follows what the service is measured to sustain, and an
armed room switches itself on when the booking load passes its threshold.

The gate counts every booking request (vaxbook.waiting_room.load: count, server errors,
latency); each process adds its counts to the current ten-second LoadSample at most once a
window. The first process to flush in a new window also steers, from the last complete
window's totals (all processes' counts):

- more than ERROR_SHARE of the requests failed, or their mean latency is above the target
  (settings.WAITING_ROOM_TARGET_LATENCY_MS): the rate drops to DECREASE of itself;
- the mean latency is under half the target: the rate grows by INCREASE of itself plus
  STEP_UP a minute;
- otherwise it stays.

Multiplicative decrease and a gentle increase (AIMD, as TCP's congestion control) settle
just under the load the booking path serves within its target; the rate is bounded by
WAITING_ROOM_AUTO_MIN_RATE and WAITING_ROOM_AUTO_MAX_RATE. A window without bookings says
nothing and changes nothing. Each change writes the frontier first (services.fold), so it
applies from now on only.

Switching on: a room that is not active but has `auto_switch_on_per_second` is armed;
when a window's booking requests pass that many a second, it becomes the active room,
opening at once (no pre-queue: the crowd is already here). The audit log records it.
"""

import datetime as dt
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from redis.exceptions import RedisError

from vaxbook.audit.models import AuditAction
from vaxbook.audit.services import record_event
from vaxbook.waiting_room import live, load, services
from vaxbook.waiting_room.live import SAMPLE_SECONDS, window_of
from vaxbook.waiting_room.models import AdmissionMode, LoadSample, WaitingRoom

logger = logging.getLogger(__name__)

ERROR_SHARE = 0.01
DECREASE = 0.7
INCREASE = 0.1
STEP_UP = 30


def next_rate(*, rate: float, requests: int, errors: int, latency_ms_total: float) -> float:
    """The admission rate (a minute) after a window with these booking figures."""
    low, high = settings.WAITING_ROOM_AUTO_MIN_RATE, settings.WAITING_ROOM_AUTO_MAX_RATE
    if requests == 0:
        return rate
    mean = latency_ms_total / requests
    target = settings.WAITING_ROOM_TARGET_LATENCY_MS
    if errors / requests > ERROR_SHARE or mean > target:
        proposed = rate * DECREASE
    elif mean < target / 2:
        proposed = rate * (1 + INCREASE) + STEP_UP
    else:
        proposed = rate
    return float(min(high, max(low, proposed)))


def flush(*, now: float | None = None) -> None:
    """Add this process's booking counts to the window's sample; steer, or switch on."""
    now = time.time() if now is None else now
    room = WaitingRoom.objects.filter(active=True).first()
    if room is None:
        room = WaitingRoom.objects.filter(
            active=False, auto_switch_on_per_second__isnull=False
        ).first()
    measured = load.take()
    if room is None:
        return
    window = window_of(now)
    sample, _created = LoadSample.objects.get_or_create(room=room, window_start=window)
    LoadSample.objects.filter(pk=sample.pk).update(
        requests=F("requests") + measured.requests,
        errors=F("errors") + measured.errors,
        latency_ms_total=F("latency_ms_total") + measured.latency_ms_total,
    )
    sample.refresh_from_db()
    if room.active:
        # The line's figures too, for the live chart (the first flush of a window writes
        # them; the live page refreshes them when someone looks).
        live.snapshot(room, now=now)
    if not room.active:
        threshold = room.auto_switch_on_per_second or 0
        if sample.requests / SAMPLE_SECONDS > threshold:
            switch_on(room, now=now)
        return
    if room.mode == AdmissionMode.AUTO and cache.add(
        f"waiting-room:steer:{room.pk}:{window.timestamp():.0f}", 1, timeout=SAMPLE_SECONDS * 3
    ):
        steer(room, now=now)


def steer(room: WaitingRoom, *, now: float) -> None:
    previous = window_of(now) - dt.timedelta(seconds=SAMPLE_SECONDS)
    sample = LoadSample.objects.filter(room=room, window_start=previous).first()
    if sample is None:
        return
    rate = next_rate(
        rate=float(room.rate_per_minute),
        requests=sample.requests,
        errors=sample.errors,
        latency_ms_total=sample.latency_ms_total,
    )
    if round(rate) == room.rate_per_minute:
        return
    try:
        services.store().fold(room=services.config_of(room), now=now)
    except RedisError:
        return  # the line is frozen anyway; steer again when it answers
    WaitingRoom.objects.filter(pk=room.pk).update(rate_per_minute=max(1, round(rate)))
    LoadSample.objects.filter(pk=sample.pk).update(rate_per_minute=rate)
    services.forget_room()


def switch_on(room: WaitingRoom, *, now: float) -> None:
    opens_at = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    try:
        with transaction.atomic():
            # Conditional: of two processes seeing the threshold passed, one switches on
            # (and the unique constraint keeps a second room from being active at once).
            switched = WaitingRoom.objects.filter(pk=room.pk, active=False).update(
                active=True, opens_at=opens_at
            )
            if switched:
                record_event(
                    actor=None,
                    action=AuditAction.WAITING_ROOM_CHANGED,
                    centre_id=None,
                    detail={"room": room.pk, "switched_on": "load above threshold"},
                )
    except IntegrityError:
        return  # another room is active already
    services.forget_room()
    logger.warning("Waiting room %s switched itself on: booking load above threshold.", room.pk)
