"""Places freeing up while the people they are offered to accept, decline and let offers
expire, all at once in real threads against the configured database (run it on
PostgreSQL: DATABASE_URL). The helpers are the booking races' (tests/bookings)."""

import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from tests.bookings.test_races import HOLDING_STATUSES, race
from tests.factories import CentreFactory, CitizenFactory, SlotFactory, VaccineFactory, tomorrow_at
from vaxbook.bookings import services as bookings
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Slot
from vaxbook.waiting_list import services
from vaxbook.waiting_list.models import ALL_TIMES_OF_DAY, ALL_WEEKDAYS, Offer, OfferStatus

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

SLOTS, PLACES_PER_SLOT, WAITING = 6, 3, 24
# A person looks for their offer every PAUSE_S until the places have all been freed and
# offered, and at most MAX_LOOKS times (a bound against a hang, not a timing).
PAUSE_S, MAX_LOOKS = 0.01, 6000


# Racers using the database at once: fewer than the connections of the pool (8 unless
# DATABASE_POOL_MAX says otherwise), so that the people polling for their offers never
# starve the others of a connection; each turn gives its connection back.
TURNS = threading.BoundedSemaphore(6)


@contextmanager
def turn() -> Iterator[None]:
    with TURNS:
        try:
            yield
        finally:
            connection.close()


class Freeing:
    """The racers that free places and offer them: the others wait for them to finish."""

    def __init__(self, racers: int) -> None:
        self.left = racers
        self.lock = threading.Lock()
        self.done = threading.Event()

    def finished(self) -> None:
        with self.lock:
            self.left -= 1
            if not self.left:
                self.done.set()


def cancel_and_offer(appointment: Appointment, freeing: Freeing) -> str:
    try:
        with turn():
            bookings.cancel_appointment(person=appointment.person, appointment_id=appointment.pk)
        with turn():  # what the worker does with the task the cancellation wrote
            services.offer_free_places(slot_ids=[appointment.slot_id])
    finally:
        freeing.finished()
    return "freed"


def offer_all(slot_ids: list[int], freeing: Freeing) -> str:
    try:
        with turn():
            services.offer_free_places(slot_ids=slot_ids)
    finally:
        freeing.finished()
    return "matched"


def expire_everything_held(freeing: Freeing) -> str:
    """Once someone has accepted (or everything is freed), the sweep with a clock 31
    minutes ahead: every offer held then expires while the others answer theirs."""
    for _look in range(MAX_LOOKS):
        with turn():
            accepted = Offer.objects.filter(status=OfferStatus.ACCEPTED).exists()
        if accepted or freeing.done.is_set():
            break
        time.sleep(PAUSE_S)
    with turn():
        services.expire_offers(now=timezone.now() + dt.timedelta(minutes=31))
    return "swept"


def answer(entry_id: int, choice: str, freeing: Freeing) -> str:
    """Wait for an offer to this entry, then `choice`: accept, decline, or ignore it."""
    for _look in range(MAX_LOOKS):
        last_look = freeing.done.is_set()
        with turn():
            offer = (
                Offer.objects.select_related("person")
                .filter(entry_id=entry_id, status=OfferStatus.HELD)
                .first()
            )
        if offer is None:
            if last_look:
                return "no offer"
            time.sleep(PAUSE_S)
            continue
        with turn():
            if choice == "accept":
                services.accept_offer(person=offer.person, offer_id=offer.pk)
                return "accepted"
            if choice == "decline":
                services.decline_offer(person=offer.person, offer_id=offer.pk)
                return "declined"
        return "ignored"
    return "no offer"


def test_places_freeing_while_people_answer_are_never_overbooked_held_twice_or_lost() -> None:
    vaccine = VaccineFactory()
    centre = CentreFactory()
    centre.vaccines.add(vaccine)
    slots = [
        SlotFactory(
            centre=centre, vaccine=vaccine, starts_at=tomorrow_at(9 + i), capacity=PLACES_PER_SLOT
        )
        for i in range(SLOTS)
    ]
    booked = [
        bookings.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)
        for slot in slots
        for _place in range(PLACES_PER_SLOT)
    ]
    today = timezone.localdate()
    entries = [
        services.join_waiting_list(
            person=CitizenFactory(),
            vaccine_id=vaccine.pk,
            dose_number=1,
            wish=services.Wish(
                centre_ids=frozenset([centre.pk]),
                first_day=today,
                last_day=today + dt.timedelta(days=7),
                weekdays=ALL_WEEKDAYS,
                times_of_day=ALL_TIMES_OF_DAY,
            ),
        )
        for _person in range(WAITING)
    ]
    choices = random.Random(22).choices(["accept", "decline", "ignore"], k=WAITING)
    slot_ids = [slot.pk for slot in slots]

    cancellations = booked[::2]
    freeing = Freeing(len(cancellations) + 2)
    actions: list[Callable[[], str]] = [
        *(partial(cancel_and_offer, appointment, freeing) for appointment in cancellations),
        *(
            partial(answer, entry.pk, choice, freeing)
            for entry, choice in zip(entries, choices, strict=True)
        ),
        *(partial(offer_all, slot_ids, freeing) for _matcher in range(2)),
        *(partial(expire_everything_held, freeing) for _sweeper in range(2)),
    ]
    outcomes = race(actions)

    unexpected = [o for o in outcomes if isinstance(o, Exception)]
    assert unexpected == []
    connection.close()
    # No slot over capacity, and every place counted once: its live appointments plus the
    # offers holding one, nothing else.
    counted = Slot.objects.filter(pk__in=slot_ids).annotate(
        live=Count(
            "appointments", filter=Q(appointments__status__in=HOLDING_STATUSES), distinct=True
        ),
    )
    held = dict(
        Offer.objects.filter(status=OfferStatus.HELD)
        .values_list("slot_id")
        .annotate(n=Count("pk"))
        .values_list("slot_id", "n")
    )
    for slot in counted:
        assert slot.booked <= slot.capacity
        assert slot.booked == slot.live + held.get(slot.pk, 0), slot.pk
    # No place held by two offers for one person, and no held offer past its time.
    assert not Offer.objects.filter(
        status=OfferStatus.HELD, expires_at__lte=timezone.now()
    ).exists()
    assert (
        Offer.objects.filter(status=OfferStatus.HELD)
        .values("entry_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
        == 0
    )
    # Every accepted offer is its person's booked appointment in that offer's slot.
    for offer in Offer.objects.filter(status=OfferStatus.ACCEPTED).select_related("appointment"):
        appointment = offer.appointment
        assert appointment is not None
        assert (appointment.slot_id, appointment.person_id, appointment.status) == (
            offer.slot_id,
            offer.person_id,
            AppointmentStatus.BOOKED,
        )
    # The race did what it says: offers were accepted and others expired meanwhile.
    assert Offer.objects.filter(status=OfferStatus.ACCEPTED).exists()
    assert Offer.objects.filter(status=OfferStatus.EXPIRED).exists()
