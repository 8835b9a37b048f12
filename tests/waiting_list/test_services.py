"""The waiting list's rules: who is offered a freed place, and what each answer does."""

import datetime as dt

import pytest
from django_tasks_db.models import DBTaskResult

from tests.factories import CentreFactory, CitizenFactory, SlotFactory
from tests.waiting_list.conftest import TUESDAY, at, book, cancel, join, places
from vaxbook.bookings import services as bookings
from vaxbook.bookings.errors import AlreadyBooked, NotEligible, SlotFull, SlotUnavailable
from vaxbook.bookings.models import AppointmentStatus
from vaxbook.centres import services as centre_services
from vaxbook.notifications.events import Event
from vaxbook.notifications.models import Message
from vaxbook.waiting_list import services
from vaxbook.waiting_list.errors import AlreadyWaiting, InvalidEntry, OfferClosed, OfferNotFound
from vaxbook.waiting_list.models import EntryStatus, Offer, OfferStatus

pytestmark = pytest.mark.django_db


def offered_to(entry) -> Offer | None:
    return Offer.objects.filter(entry=entry, status=OfferStatus.HELD).first()


def held_offer(entry) -> Offer:
    return Offer.objects.get(entry=entry, status=OfferStatus.HELD)


def free_up(slot) -> None:
    """Someone cancels in `slot`, and the worker runs the task the cancellation wrote."""
    cancel(book_full(slot))
    services.offer_free_places(slot_ids=[slot.pk])


def book_full(slot):
    """Fill the slot (one place in these tests) and return the appointment."""
    return book(slot)


# --- who gets the place ---------------------------------------------------------------------


def test_a_cancellation_holds_the_place_for_the_first_in_line(centre, vaccine, slot):
    appointment = book(slot)
    first = join([centre], vaccine)
    second = join([centre], vaccine)

    cancel(appointment)
    offers = services.offer_free_places(slot_ids=[slot.pk])

    assert [offer.entry for offer in offers] == [first]
    assert offered_to(second) is None
    # The place is held: still counted as taken, so nobody else can book it.
    assert places(slot) == (1, 1)
    with pytest.raises(SlotFull):
        book(slot)
    first.refresh_from_db()
    assert first.status == EntryStatus.OFFERED


def test_the_cancellation_writes_the_task_that_offers_the_place(centre, vaccine, slot):
    appointment = book(slot)
    join([centre], vaccine)

    cancel(appointment)

    task = DBTaskResult.objects.get(task_path="vaxbook.waiting_list.tasks.offer_places")
    assert task.args_kwargs["kwargs"] == {"slot_ids": [slot.pk], "days": []}


def test_an_offer_writes_its_message_and_its_expiry(centre, vaccine, slot):
    appointment = book(slot)
    join([centre], vaccine)
    cancel(appointment)

    (offer,) = services.offer_free_places(slot_ids=[slot.pk])

    paths = set(DBTaskResult.objects.values_list("task_path", flat=True))
    assert {
        "vaxbook.waiting_list.tasks.send_offer",
        "vaxbook.waiting_list.tasks.expire_offer",
    } <= paths
    expiry = DBTaskResult.objects.get(task_path="vaxbook.waiting_list.tasks.expire_offer")
    assert expiry.run_after == offer.expires_at
    assert offer.expires_at - offer.made_at == dt.timedelta(minutes=30)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"weekdays": "0"}, id="only Mondays"),
        pytest.param({"times_of_day": "ae"}, id="afternoons and evenings"),
        pytest.param({"first_day": TUESDAY + dt.timedelta(days=1)}, id="from Wednesday"),
        pytest.param({"last_day": TUESDAY - dt.timedelta(days=1)}, id="until Monday"),
    ],
)
def test_a_place_outside_what_the_person_asked_for_goes_to_the_next(centre, vaccine, slot, changes):
    not_then = join([centre], vaccine, **changes)
    then = join([centre], vaccine)

    free_up(slot)

    assert offered_to(not_then) is None
    assert offered_to(then) is not None


def test_a_place_at_another_centre_goes_to_those_waiting_there(centre, vaccine, slot):
    elsewhere = CentreFactory()
    elsewhere.vaccines.add(vaccine)
    there = join([elsewhere], vaccine)
    here = join([centre, elsewhere], vaccine)

    free_up(slot)

    assert offered_to(there) is None
    assert offered_to(here) is not None


def test_a_place_soon_goes_only_to_people_who_can_come_at_short_notice(centre, vaccine, clock):
    soon = SlotFactory(centre=centre, vaccine=vaccine, starts_at=at(TUESDAY, 10), capacity=1)
    unhurried = join([centre], vaccine)
    ready = join([centre], vaccine, short_notice=True)
    clock.move_to(soon.starts_at - dt.timedelta(hours=2))

    free_up(soon)

    assert offered_to(unhurried) is None
    offer = held_offer(ready)
    assert offer is not None
    # A shorter hold when the time is near.
    assert offer.expires_at - offer.made_at == dt.timedelta(minutes=10)


def test_a_place_nobody_can_come_to_in_time_is_left_free_for_everyone(centre, vaccine, clock):
    soon = SlotFactory(centre=centre, vaccine=vaccine, starts_at=at(TUESDAY, 10), capacity=1)
    ready = join([centre], vaccine, short_notice=True)
    clock.move_to(soon.starts_at - dt.timedelta(minutes=5))

    free_up(soon)

    assert offered_to(ready) is None
    assert places(soon) == (0, 1)


def test_someone_not_eligible_that_day_is_passed_over(centre, vaccine, slot):
    # A person who turns 12 on Wednesday may wait from Tuesday (eligible at the range's end)
    # but cannot have Tuesday's place.
    born = dt.date(2015, 3, 3)
    turning_twelve = join([centre], vaccine, person=CitizenFactory(date_of_birth=born))
    next_in_line = join([centre], vaccine)

    free_up(slot)

    assert offered_to(turning_twelve) is None
    assert offered_to(next_in_line) is not None


def test_more_capacity_is_offered_to_the_people_waiting(centre, vaccine, slot, admin_user):
    book(slot)
    first, second = join([centre], vaccine), join([centre], vaccine)

    centre_services.change_slot_capacity(
        staff=admin_user, centre_id=centre.pk, slot_id=slot.pk, capacity=3
    )
    services.offer_free_places(slot_ids=[slot.pk])

    assert offered_to(first) is not None
    assert offered_to(second) is not None
    assert places(slot) == (3, 3)


# --- answering ------------------------------------------------------------------------------


def test_accepting_makes_the_held_place_an_appointment(centre, vaccine, slot):
    entry = join([centre], vaccine)
    free_up(slot)
    offer = held_offer(entry)

    appointment = services.accept_offer(person=entry.person, offer_id=offer.pk)

    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.slot_id == slot.pk
    assert places(slot) == (1, 1)  # the hold became the appointment: no second place
    offer.refresh_from_db()
    entry.refresh_from_db()
    assert (offer.status, offer.appointment_id) == (OfferStatus.ACCEPTED, appointment.pk)
    assert entry.status == EntryStatus.BOOKED
    # The confirmation goes through the outbox like any booking's.
    assert Message.objects.filter(appointment=appointment, event=Event.BOOKED).exists()


def test_an_offer_link_used_twice_books_once(centre, vaccine, slot):
    entry = join([centre], vaccine)
    free_up(slot)
    offer = held_offer(entry)
    services.accept_offer(person=entry.person, offer_id=offer.pk)

    with pytest.raises(OfferClosed) as second:
        services.accept_offer(person=entry.person, offer_id=offer.pk)

    assert second.value.status == OfferStatus.ACCEPTED
    assert entry.person.appointments.count() == 1


def test_an_expired_offer_cannot_be_accepted_and_passes_to_the_next(centre, vaccine, slot, clock):
    first, second = join([centre], vaccine), join([centre], vaccine)
    free_up(slot)
    offer = held_offer(first)
    clock.shift(dt.timedelta(minutes=31))

    with pytest.raises(OfferClosed) as late:
        services.accept_offer(person=first.person, offer_id=offer.pk)

    assert late.value.status == OfferStatus.EXPIRED
    first.refresh_from_db()
    assert first.status == EntryStatus.LAPSED
    # The place went back and, when the worker runs, to the next in line.
    assert places(slot) == (0, 1)
    services.offer_free_places(slot_ids=[slot.pk])
    assert offered_to(second) is not None


def test_the_sweep_releases_expired_offers(centre, vaccine, slot, clock):
    entry = join([centre], vaccine)
    free_up(slot)
    clock.shift(dt.timedelta(minutes=29))
    assert services.expire_offers() == 0

    clock.shift(dt.timedelta(minutes=2))

    assert services.expire_offers() == 1
    assert places(slot) == (0, 1)
    assert Offer.objects.get(entry=entry).status == OfferStatus.EXPIRED


def test_another_person_cannot_use_an_offer(centre, vaccine, slot):
    entry = join([centre], vaccine)
    free_up(slot)
    offer = held_offer(entry)

    with pytest.raises(OfferNotFound):
        services.accept_offer(person=CitizenFactory(), offer_id=offer.pk)

    assert offered_to(entry) == offer


def test_an_offer_for_a_slot_closed_meanwhile_is_released(centre, vaccine, slot, admin_user):
    entry = join([centre], vaccine)
    free_up(slot)
    offer = held_offer(entry)
    centre_services.close_slot(
        staff=admin_user, centre_id=centre.pk, slot_id=slot.pk, reason="No vaccine delivered."
    )

    with pytest.raises(SlotUnavailable):
        services.accept_offer(person=entry.person, offer_id=offer.pk)

    offer.refresh_from_db()
    entry.refresh_from_db()
    assert offer.status == OfferStatus.RELEASED
    assert entry.status == EntryStatus.WAITING
    assert places(slot) == (0, 1)


def test_declining_passes_the_place_on_and_keeps_ones_place_in_line(centre, vaccine, slot):
    first, second = join([centre], vaccine), join([centre], vaccine)
    free_up(slot)

    services.decline_offer(person=first.person, offer_id=held_offer(first).pk)
    services.offer_free_places(slot_ids=[slot.pk])

    assert offered_to(second) is not None
    first.refresh_from_db()
    assert first.status == EntryStatus.WAITING
    # Another place that frees up goes to the first in line again.
    other = SlotFactory(centre=centre, vaccine=vaccine, starts_at=at(TUESDAY, 11), capacity=1)
    free_up(other)
    assert held_offer(first).slot == other


def test_booking_elsewhere_releases_the_offer(centre, vaccine, slot):
    first, second = join([centre], vaccine), join([centre], vaccine)
    free_up(slot)
    elsewhere = SlotFactory(centre=centre, vaccine=vaccine, starts_at=at(TUESDAY, 12))

    book(elsewhere, person=first.person)

    first.refresh_from_db()
    assert first.status == EntryStatus.BOOKED
    assert Offer.objects.get(entry=first).status == OfferStatus.RELEASED
    assert places(slot) == (0, 1)
    services.offer_free_places(slot_ids=[slot.pk])
    assert offered_to(second) is not None


def test_leaving_releases_a_held_offer(centre, vaccine, slot):
    entry = join([centre], vaccine)
    free_up(slot)

    services.leave_waiting_list(person=entry.person, entry_id=entry.pk)

    entry.refresh_from_db()
    assert entry.status == EntryStatus.LEFT
    assert places(slot) == (0, 1)


# --- joining --------------------------------------------------------------------------------


def test_joining_twice_for_the_same_dose_is_refused(centre, vaccine):
    entry = join([centre], vaccine)

    with pytest.raises(AlreadyWaiting):
        join([centre], vaccine, person=entry.person)


def test_someone_too_young_for_the_whole_range_cannot_join(centre, vaccine):
    with pytest.raises(NotEligible):
        join([centre], vaccine, person=CitizenFactory(date_of_birth=dt.date(2020, 1, 1)))


def test_someone_with_the_dose_booked_cannot_join_for_it(centre, vaccine):
    other = SlotFactory(centre=centre, vaccine=vaccine, starts_at=at(TUESDAY, 12))
    appointment = book(other)

    with pytest.raises(AlreadyBooked):
        join([centre], vaccine, person=appointment.person)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"centre_ids": frozenset()}, "centre_ids"),
        ({"weekdays": ""}, "weekdays"),
        ({"weekdays": "7"}, "weekdays"),
        ({"times_of_day": "x"}, "times_of_day"),
        ({"last_day": TUESDAY - dt.timedelta(days=5)}, "last_day"),
        ({"last_day": TUESDAY + dt.timedelta(days=400)}, "last_day"),
    ],
)
def test_a_wish_that_can_never_match_is_refused(centre, vaccine, changes, field):
    with pytest.raises(InvalidEntry) as refused:
        join([centre], vaccine, **changes)

    assert field in refused.value.errors


def test_changing_keeps_ones_place_in_line(centre, vaccine, slot):
    first, second = join([centre], vaccine, weekdays="0"), join([centre], vaccine)

    services.change_entry(
        person=first.person,
        entry_id=first.pk,
        wish=services.Wish(
            centre_ids=frozenset([centre.pk]),
            first_day=first.first_day,
            last_day=first.last_day,
            weekdays="0123456",
            times_of_day="mae",
        ),
    )
    free_up(slot)

    assert offered_to(first) is not None
    assert offered_to(second) is None


def test_bookings_rows_equal_counters_after_a_round(centre, vaccine, slot):
    entry = join([centre], vaccine)
    free_up(slot)
    services.accept_offer(person=entry.person, offer_id=held_offer(entry).pk)

    live = slot.appointments.filter(status=AppointmentStatus.BOOKED).count()
    held = Offer.objects.filter(slot=slot, status=OfferStatus.HELD).count()
    assert places(slot)[0] == live + held


def test_bookings_for_both_doses_release_offers_for_either(centre, vaccine, slot):
    entry = join([centre], vaccine)
    free_up(slot)
    first = SlotFactory(centre=centre, vaccine=vaccine, starts_at=at(TUESDAY, 12))
    second = SlotFactory(
        centre=centre, vaccine=vaccine, starts_at=at(TUESDAY + dt.timedelta(days=28), 12)
    )

    bookings.book_both_doses(person=entry.person, first_slot_id=first.pk, second_slot_id=second.pk)

    assert Offer.objects.get(entry=entry).status == OfferStatus.RELEASED
    assert places(slot) == (0, 1)
