"""Walk-ins: a vaccinator records a dose for a person without an appointment, in the day's
spare capacity or, with a reason, over it; every rule per person holds; the reports count
them apart."""

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.test import Client

from tests.factories import CitizenFactory, SlotFactory, VaccineFactory, staff_at
from tests.helpers import at
from tests.staff_clients import verified_client
from vaxbook.accounts import people, phone_line
from vaxbook.accounts.models import AuthorityRole, Citizen, StaffRole, User
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.bookings import services
from vaxbook.bookings.errors import NoSpareCapacity, NotEligible
from vaxbook.bookings.models import Appointment, AppointmentStatus, BookingChannel
from vaxbook.centres import reports
from vaxbook.centres.models import Centre, Slot

pytestmark = pytest.mark.django_db

BORN = dt.date(1948, 3, 2)


@pytest.fixture(autouse=True)
def ten_oclock() -> Iterator[None]:
    with time_machine.travel(at(10, 5), tick=False):
        yield


@pytest.fixture
def full_slot(centre: Centre) -> Slot:
    return SlotFactory(centre=centre, starts_at=at(10), capacity=2, booked=2)


def walk_in(
    vaccinator: User,
    centre: Centre,
    person: Citizen,
    *,
    dose_number: int = 1,
    over_capacity_reason: str = "",
):
    vaccine_id = Slot.objects.filter(centre=centre).values_list("vaccine_id", flat=True)[0]
    return services.record_walk_in(
        staff=vaccinator,
        person=person,
        centre_id=centre.pk,
        vaccine_id=vaccine_id,
        dose_number=dose_number,
        lot_number="FF1234",
        injection_site="left_arm",
        over_capacity_reason=over_capacity_reason,
    )


def new_person(full_name: str = "Luis Pérez Ruiz", born: dt.date = BORN) -> Citizen:
    return people.person_at_centre(full_name=full_name, date_of_birth=born)


def test_a_walk_in_takes_a_spare_place_of_the_day_and_records_the_dose(vaccinator, centre) -> None:
    past_free = SlotFactory(centre=centre, starts_at=at(9), capacity=2)
    later_free = SlotFactory(centre=centre, starts_at=at(11), capacity=2)

    record = walk_in(vaccinator, centre, new_person())

    appointment = Appointment.objects.get()
    assert record.appointment == appointment
    assert appointment.status == AppointmentStatus.VACCINATED
    assert appointment.channel == BookingChannel.WALK_IN
    assert appointment.booked_by == vaccinator
    assert appointment.person.user_id is None
    past_free.refresh_from_db()
    later_free.refresh_from_db()
    # The place of a slot gone by is used first: it would be lost otherwise.
    assert (past_free.booked, later_free.booked) == (1, 0)
    event = AuditEvent.objects.get(action=AuditAction.WALK_IN)
    assert (event.actor, event.detail["over_capacity"]) == (vaccinator, False)


def test_a_full_day_needs_a_reason_and_then_records_over_capacity(
    vaccinator, centre, full_slot
) -> None:
    with pytest.raises(NoSpareCapacity):
        walk_in(vaccinator, centre, new_person())
    assert not Citizen.objects.exists()  # the new person's record comes only with the dose

    walk_in(vaccinator, centre, new_person(), over_capacity_reason="Dose left in an open vial")

    full_slot.refresh_from_db()
    assert (full_slot.capacity, full_slot.booked) == (3, 3)
    event = AuditEvent.objects.get(action=AuditAction.WALK_IN)
    assert event.detail["over_capacity"] is True
    assert event.detail["reason"] == "Dose left in an open vial"


def test_a_walk_in_finds_the_persons_own_record_and_the_rules_per_person_hold(
    vaccinator, centre
) -> None:
    SlotFactory(centre=centre, starts_at=at(10), capacity=5)
    later = SlotFactory(centre=centre, starts_at=at(10) + dt.timedelta(days=30))
    ada = CitizenFactory(full_name="Ada Lovelace", date_of_birth=dt.date(1990, 5, 17))

    walk_in(
        vaccinator,
        centre,
        people.person_at_centre(full_name="ADA lovelace", date_of_birth=ada.date_of_birth),
    )

    assert Appointment.objects.get().person == ada
    with pytest.raises(NotEligible, match="already had dose 1"):
        services.book_appointment(person=ada, slot_id=later.pk, dose_number=1)


def test_a_walk_in_who_is_not_eligible_is_refused_and_nothing_is_written(
    vaccinator, centre
) -> None:
    SlotFactory(
        centre=centre, starts_at=at(10), vaccine=VaccineFactory(name="Spikevax", minimum_age=18)
    )

    with pytest.raises(NotEligible):
        walk_in(vaccinator, centre, new_person(born=dt.date(2020, 1, 1)))

    assert not Appointment.objects.exists()
    assert not Citizen.objects.exists()


def test_two_records_with_the_same_name_and_birth_need_the_phone(centre) -> None:
    CitizenFactory(full_name="Luis Pérez Ruiz", date_of_birth=BORN, phone="600 111 222")
    CitizenFactory(full_name="Luis Pérez Ruiz", date_of_birth=BORN, phone="600 333 444")

    with pytest.raises(people.AmbiguousPerson):
        new_person()
    found = people.person_at_centre(
        full_name="Luis Pérez Ruiz", date_of_birth=BORN, phone="+34 600 333 444"
    )

    assert found.phone == "600 333 444"


# --- the page ----------------------------------------------------------------------------


def form(**fields: object) -> dict[str, object]:
    return {
        "full_name": "Luis Pérez Ruiz",
        "date_of_birth": "1948-03-02",
        "dose_number": "1",
        "lot_number": "FF1234",
        "injection_site": "left_arm",
        **fields,
    }


def test_the_vaccinator_records_a_walk_in_on_the_page(vaccinator, centre) -> None:
    slot = SlotFactory(centre=centre, starts_at=at(10), capacity=3)

    response = verified_client(vaccinator).post(
        f"/staff/centres/{centre.pk}/walk-in/", form(vaccine=str(slot.vaccine_id))
    )

    assert response.status_code == 302
    assert Appointment.objects.get().channel == BookingChannel.WALK_IN


def test_the_page_asks_for_a_reason_when_the_day_is_full(vaccinator, centre, full_slot) -> None:
    response = verified_client(vaccinator).post(
        f"/staff/centres/{centre.pk}/walk-in/", form(vaccine=str(full_slot.vaccine_id))
    )

    assert response.status_code == 400
    assert "No place is left today for this vaccine." in response.content.decode()
    assert not Appointment.objects.exists()


def test_the_walk_in_page_is_a_404_for_a_receptionist(receptionist, centre, full_slot) -> None:
    assert (
        verified_client(receptionist).get(f"/staff/centres/{centre.pk}/walk-in/").status_code == 404
    )


def test_the_walk_in_page_is_a_404_at_another_centre(vaccinator, full_slot) -> None:
    other = SlotFactory(starts_at=at(10)).centre

    assert verified_client(vaccinator).get(f"/staff/centres/{other.pk}/walk-in/").status_code == 404


# --- the reports -------------------------------------------------------------------------


def test_reports_count_bookings_by_channel(vaccinator, centre) -> None:
    slot = SlotFactory(centre=centre, starts_at=at(11), capacity=10)
    booker = CitizenFactory()
    services.book_appointment(person=booker, slot_id=slot.pk, dose_number=1)
    mum = people.add_person(booker=booker.user, full_name="Carmen López", date_of_birth=BORN)
    services.book_appointment(
        person=mum,
        slot_id=slot.pk,
        dose_number=1,
        on_behalf=services.OnBehalf(user=booker.user, channel=BookingChannel.RELATIVE),
    )
    agent = CitizenFactory().user
    agent.authority_role = AuthorityRole.CALL_AGENT
    caller = CitizenFactory(full_name="Pilar Gómez Sanz", date_of_birth=dt.date(1950, 2, 2))
    call, _found = phone_line.find_people(
        agent=agent,
        full_name="Pilar Gómez Sanz",
        date_of_birth=caller.date_of_birth,
        reason="Booking",
    )
    phone_line.book_for(agent=agent, call=call, person=caller, slot_id=slot.pk, dose_number=1)
    walk_in(vaccinator, centre, new_person())
    cancelled = services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)
    services.cancel_appointment(person=cancelled.person, appointment_id=cancelled.pk)
    manager = staff_at(centre, StaffRole.MANAGER)

    counts = reports.channel_counts(
        user=manager, first_day=slot.local_date, last_day=slot.local_date, centre_id=centre.pk
    )

    assert counts == {"self": 1, "relative": 1, "phone_line": 1, "walk_in": 1}


def test_the_report_page_shows_the_channels(vaccinator, centre) -> None:
    SlotFactory(centre=centre, starts_at=at(10), capacity=3)
    walk_in(vaccinator, centre, new_person())
    client: Client = verified_client(staff_at(centre, StaffRole.MANAGER))

    page = client.get(f"/staff/centres/{centre.pk}/manage/report/").content.decode()

    assert "Bookings by channel" in page
    assert "Walk-in at the centre" in page
