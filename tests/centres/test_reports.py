"""Report figures on known data: per centre and local day, per day for all centres, per
centre; slots as the CSV export reads them; who may see which."""

import datetime as dt

import pytest
import time_machine

from tests.factories import CentreFactory
from tests.helpers import CANARY, at
from tests.management.helpers import book, make_site, slot_at
from vaxbook.bookings import services as bookings
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres import reports
from vaxbook.centres.errors import InvalidRange, NotPermitted
from vaxbook.centres.models import Slot

pytestmark = pytest.mark.django_db

TODAY = dt.date(2027, 5, 10)
PAST = TODAY - dt.timedelta(days=2)
NEXT = TODAY + dt.timedelta(days=1)


def set_status(appointment: Appointment, status: AppointmentStatus, at: dt.datetime) -> None:
    """What the day's staff steps leave behind (their own tests are in tests/bookings)."""
    changes: dict[str, object] = {"status": status}
    if status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.VACCINATED):
        changes["checked_in_at"] = at
    if status == AppointmentStatus.VACCINATED:
        changes["vaccinated_at"] = at
    Appointment.objects.filter(pk=appointment.pk).update(**changes)


@pytest.fixture
def data():
    """Madrid centre: on PAST, a full 10:00 slot (vaccinated, checked in, missed, never
    marked), a 10:10 slot whose only booking was cancelled, a closed 10:20 slot; at 00:30 on
    PAST+1 one booking; on NEXT 3 of 10 places booked. Canary centre: a slot at 23:30 local
    on PAST (00:30 the next day in Madrid) with 1 of 2 places booked."""
    site = make_site()
    centre, vaccine = site.centre, site.vaccine
    canary = CentreFactory(name="Centro Canario", town="Las Palmas", time_zone="Atlantic/Canary")
    full = slot_at(centre, vaccine, at(10, day=PAST), capacity=4)
    given, arrived, missed, _never_marked = (book(full) for _ in range(4))
    set_status(given, AppointmentStatus.VACCINATED, at(10, 5, day=PAST))
    set_status(arrived, AppointmentStatus.CHECKED_IN, at(10, 1, day=PAST))
    set_status(missed, AppointmentStatus.NO_SHOW, at(11, day=PAST))
    emptied = slot_at(centre, vaccine, at(10, 10, day=PAST), capacity=4)
    cancelled = book(emptied)
    with time_machine.travel(at(8, day=PAST), tick=False):
        bookings.cancel_appointment(person=cancelled.person, appointment_id=cancelled.pk)
    closed = slot_at(centre, vaccine, at(10, 20, day=PAST), capacity=6)
    Slot.objects.filter(pk=closed.pk).update(is_open=False)
    book(slot_at(centre, vaccine, at(0, 30, day=PAST + dt.timedelta(days=1)), capacity=2))
    coming = slot_at(centre, vaccine, at(9, day=NEXT), capacity=10)
    for _ in range(3):
        book(coming)
    late = slot_at(
        canary,
        vaccine,
        dt.datetime.combine(PAST, dt.time(23, 30), tzinfo=CANARY),
        capacity=2,
    )
    book(late)
    with time_machine.travel(at(9, day=TODAY), tick=False):
        yield site, canary


def as_tuple(row: reports.Figures) -> tuple:
    return (
        row.day,
        row.slots,
        row.offered,
        row.booked,
        row.checked_in,
        row.vaccinated,
        row.no_shows,
        row.cancelled,
    )


def test_a_centres_days_add_up_its_slots_and_appointments(data) -> None:
    site, _canary = data

    rows = list(
        reports.figures(
            user=site.manager,
            first_day=PAST - dt.timedelta(days=3),
            last_day=NEXT + dt.timedelta(days=3),
            centre_id=site.centre.pk,
        )
    )

    # day, slots, offered (open slots only), booked, checked in, vaccinated, missed, cancelled
    assert [as_tuple(row) for row in rows] == [
        (PAST, 3, 8, 4, 2, 1, 1, 1),
        (PAST + dt.timedelta(days=1), 1, 2, 1, 0, 0, 0, 0),
        (NEXT, 1, 10, 3, 0, 0, 0, 0),
    ]
    assert {row.centre_id for row in rows} == {site.centre.pk}
    past = rows[0]
    assert past.utilisation == 0.5
    assert past.no_show_rate == pytest.approx(1 / 3)
    assert rows[2].utilisation == 0.3
    assert rows[2].no_show_rate is None


def test_a_slot_belongs_to_the_day_on_its_centres_clock(data) -> None:
    site, canary = data

    rows = list(
        reports.figures(
            user=site.admin,
            first_day=PAST,
            last_day=PAST + dt.timedelta(days=1),
            grouping="centre_day",
        )
    )

    # 23:30 in Las Palmas on PAST is 00:30 on the next day in Madrid: it counts on PAST.
    assert [(row.centre_id, row.day, row.slots, row.booked) for row in rows] == [
        (site.centre.pk, PAST, 3, 4),
        (site.centre.pk, PAST + dt.timedelta(days=1), 1, 1),
        (canary.pk, PAST, 1, 1),
    ]


def test_all_centres_add_up_by_day_and_by_centre(data) -> None:
    site, canary = data
    first, last = PAST, NEXT

    by_day = list(reports.figures(user=site.admin, first_day=first, last_day=last, grouping="day"))
    by_centre = list(
        reports.figures(user=site.admin, first_day=first, last_day=last, grouping="centre")
    )

    assert [as_tuple(row) for row in by_day] == [
        (PAST, 4, 10, 5, 2, 1, 1, 1),
        (PAST + dt.timedelta(days=1), 1, 2, 1, 0, 0, 0, 0),
        (NEXT, 1, 10, 3, 0, 0, 0, 0),
    ]
    assert all(row.centre_id is None for row in by_day)
    assert [(row.centre_id, row.day, row.slots, row.offered, row.booked) for row in by_centre] == [
        (site.centre.pk, None, 5, 20, 8),
        (canary.pk, None, 1, 2, 1),
    ]


def test_the_charts_have_one_entry_per_day_with_zeros_for_days_without_slots(data) -> None:
    site, _canary = data

    coming, past = reports.chart_days(user=site.manager, centre_id=site.centre.pk)

    assert [day.day for day in coming] == [TODAY + dt.timedelta(days=n) for n in range(21)]
    assert [day.day for day in past] == [TODAY - dt.timedelta(days=21 - n) for n in range(21)]
    assert coming[1].utilisation == 0.3
    assert coming[0].slots == 0
    assert [day.no_shows for day in past if day.no_shows] == [1]
    assert past[-2].day == PAST
    assert past[-2].no_shows == 1


def test_slots_come_with_their_appointments_counted(data) -> None:
    site, _canary = data

    slots = list(
        reports.slot_figures(
            user=site.manager, first_day=PAST, last_day=NEXT, centre_id=site.centre.pk
        )
    )

    assert [
        (
            f"{slot.local_start:%Y-%m-%d %H:%M}",
            slot.capacity,
            slot.booked,
            slot.is_open,
            slot.checked_in,
            slot.vaccinated,
            slot.no_shows,
            slot.cancelled,
        )
        for slot in slots
    ] == [
        ("2027-05-08 10:00", 4, 4, True, 2, 1, 1, 0),
        ("2027-05-08 10:10", 4, 0, True, 0, 0, 0, 1),
        ("2027-05-08 10:20", 6, 0, False, 0, 0, 0, 0),
        ("2027-05-09 00:30", 2, 1, True, 0, 0, 0, 0),
        ("2027-05-11 09:00", 10, 3, True, 0, 0, 0, 0),
    ]


def test_the_slot_stream_keeps_to_the_local_days_asked_for(data) -> None:
    site, canary = data

    slots = list(reports.slot_figures(user=site.admin, first_day=PAST, last_day=PAST))

    assert [(slot.centre_id, f"{slot.local_start:%H:%M}") for slot in slots] == [
        (canary.pk, "23:30"),
        (site.centre.pk, "10:00"),
        (site.centre.pk, "10:10"),
        (site.centre.pk, "10:20"),
    ]


@pytest.mark.parametrize("who", ["manager", "vaccinator", "other_manager", "citizen"])
def test_only_administrators_see_all_centres(data, who) -> None:
    site, _canary = data

    with pytest.raises(NotPermitted):
        reports.figures(user=getattr(site, who), first_day=PAST, last_day=NEXT)
    with pytest.raises(NotPermitted):
        reports.slot_figures(user=getattr(site, who), first_day=PAST, last_day=NEXT)


@pytest.mark.parametrize("who", ["vaccinator", "receptionist", "other_manager", "citizen"])
def test_only_a_centres_managers_and_administrators_see_its_report(data, who) -> None:
    site, _canary = data

    with pytest.raises(NotPermitted):
        reports.figures(
            user=getattr(site, who), first_day=PAST, last_day=NEXT, centre_id=site.centre.pk
        )
    with pytest.raises(NotPermitted):
        reports.chart_days(user=getattr(site, who), centre_id=site.centre.pk)


def test_more_than_a_year_is_refused(data) -> None:
    site, _canary = data

    with pytest.raises(InvalidRange):
        reports.figures(user=site.admin, first_day=TODAY, last_day=TODAY + dt.timedelta(days=400))


def test_a_person_cancelled_by_the_centre_counts_as_a_cancellation(data) -> None:
    site, _canary = data
    from vaxbook.centres import services

    services.close_day(staff=site.manager, centre_id=site.centre.pk, day=NEXT, reason="Flood.")

    (row,) = reports.figures(
        user=site.manager, first_day=NEXT, last_day=NEXT, centre_id=site.centre.pk
    )
    assert (row.slots, row.offered, row.booked, row.cancelled) == (1, 0, 0, 3)
    assert row.utilisation is None
