"""Places freeing up while the people they are offered to accept, decline and let offers
expire, all at once in real threads against the configured database (run it on
PostgreSQL: DATABASE_URL). The helpers are the booking races' (tests/bookings)."""

import datetime as dt
import random
import time
from collections.abc import Callable
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
# How often a person looks for their offer before giving up (a bounded loop, not a timing).
LOOKS, PAUSE_S = 150, 0.01


def cancel_and_offer(appointment: Appointment) -> str:
    bookings.cancel_appointment(person=appointment.person, appointment_id=appointment.pk)
    connection.close()  # each step takes a pooled connection only while it runs
    # What the worker does with the task the cancellation wrote.
    services.offer_free_places(slot_ids=[appointment.slot_id])
    return "freed"


def offer_all(slot_ids: list[int]) -> str:
    services.offer_free_places(slot_ids=slot_ids)
    return "matched"


def expire_everything_held() -> str:
    # As if the offers' time had run out: the sweep, with a clock 31 minutes ahead.
    services.expire_offers(now=timezone.now() + dt.timedelta(minutes=31))
    return "swept"


def answer(entry_id: int, choice: str) -> str:
    """Wait for an offer to this entry, then `choice`: accept, decline, or ignore it."""
    for _look in range(LOOKS):
        offer = Offer.objects.filter(entry_id=entry_id, status=OfferStatus.HELD).first()
        if offer is None:
            connection.close()  # back to the pool while waiting: the crowd shares it
            time.sleep(PAUSE_S)
            continue
        person = offer.person
        if choice == "accept":
            services.accept_offer(person=person, offer_id=offer.pk)
            return "accepted"
        if choice == "decline":
            services.decline_offer(person=person, offer_id=offer.pk)
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

    actions: list[Callable[[], str]] = [
        *(partial(cancel_and_offer, appointment) for appointment in booked[::2]),
        *(
            partial(answer, entry.pk, choice)
            for entry, choice in zip(entries, choices, strict=True)
        ),
        *(partial(offer_all, slot_ids) for _matcher in range(2)),
        *(expire_everything_held for _sweeper in range(2)),
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
    assert Offer.objects.filter(status=OfferStatus.ACCEPTED).exists()
