"""At the end of the day a manager marks everyone still booked whose slot is over as a
no-show, in one action: never someone whose slot has not ended, never anyone checked in,
vaccinated or cancelled; one audit row each."""

import datetime as dt

import pytest
import time_machine
from django.db import transaction

from tests.factories import CentreFactory, SlotFactory, staff_at
from tests.helpers import DAY, at, book
from tests.staff_clients import verified_client
from vaxbook.accounts.models import StaffRole, User
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.bookings import services
from vaxbook.bookings.errors import InvalidTransition, NotPermitted
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Centre, Slot
from vaxbook.checkin.services import mark_remaining_no_shows
from vaxbook.notifications.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def a_few_days_before():
    with time_machine.travel(at(9, day=DAY - dt.timedelta(days=4)), tick=False):
        yield


@pytest.fixture
def day_at(centre):
    """Morning slots 10:00-10:10 and 10:10-10:20, one at 18:00, one the day before."""
    ten = SlotFactory(centre=centre, starts_at=at(10))
    ten_ten = SlotFactory(centre=centre, starts_at=at(10, 10))
    evening = SlotFactory(centre=centre, starts_at=at(18))
    yesterday = SlotFactory(centre=centre, starts_at=at(10, day=DAY - dt.timedelta(days=1)))
    appointments = {
        "missed": book(ten, full_name="Missed Once"),
        "missed_too": book(ten_ten, full_name="Missed Twice"),
        "came": book(ten, full_name="Came Early"),
        "given": book(ten, full_name="Got Dose"),
        "cancelled": book(ten, full_name="Called Off"),
        "evening": book(evening, full_name="Evening Person"),
        "yesterday": book(yesterday, full_name="Yesterday Person"),
    }
    vaccinator = staff_at(centre, StaffRole.VACCINATOR)
    with time_machine.travel(at(9, 55), tick=False):
        services.check_in(appointment_id=appointments["came"].pk, staff=vaccinator)
        services.check_in(appointment_id=appointments["given"].pk, staff=vaccinator)
        services.record_vaccination(
            appointment_id=appointments["given"].pk, staff=vaccinator, lot_number="EW0150"
        )
    services.cancel_appointment(
        person=appointments["cancelled"].person, appointment_id=appointments["cancelled"].pk
    )
    return appointments


def statuses(appointments: dict[str, Appointment]) -> dict[str, str]:
    return {
        name: Appointment.objects.get(pk=appointment.pk).status
        for name, appointment in appointments.items()
    }


def test_only_booked_appointments_whose_slot_is_over_are_marked(centre, day_at, manager) -> None:
    with time_machine.travel(at(10, 15), tick=False):  # 10:00 slot over, 10:10 not yet
        marked = mark_remaining_no_shows(
            staff=manager, centre_id=centre.pk, day=DAY, client_address="198.51.100.4"
        )

    assert marked == 1
    assert statuses(day_at) == {
        "missed": AppointmentStatus.NO_SHOW,
        "missed_too": AppointmentStatus.BOOKED,  # its slot ends at 10:20
        "came": AppointmentStatus.CHECKED_IN,
        "given": AppointmentStatus.VACCINATED,
        "cancelled": AppointmentStatus.CANCELLED,
        "evening": AppointmentStatus.BOOKED,
        "yesterday": AppointmentStatus.BOOKED,  # another day
    }


def test_at_the_end_of_the_day_everyone_left_is_marked_with_one_audit_row_each(
    centre, day_at, manager
) -> None:
    with time_machine.travel(at(20), tick=False):
        marked = mark_remaining_no_shows(
            staff=manager, centre_id=centre.pk, day=DAY, client_address="198.51.100.4"
        )

    assert marked == 3
    no_shows = {"missed", "missed_too", "evening"}
    assert {n for n, s in statuses(day_at).items() if s == AppointmentStatus.NO_SHOW} == no_shows
    rows = AuditEvent.objects.filter(action=AuditAction.NO_SHOW)
    assert set(rows.values_list("appointment_id", flat=True)) == {
        day_at[name].pk for name in no_shows
    }
    assert rows.count() == 3
    assert {(r.actor, r.centre_id, r.outcome, r.client_address) for r in rows} == {
        (manager, centre.pk, "no_show", "198.51.100.4")
    }


def test_marking_twice_marks_nobody_the_second_time(centre, day_at, manager) -> None:
    with time_machine.travel(at(20), tick=False):
        first = mark_remaining_no_shows(
            staff=manager, centre_id=centre.pk, day=DAY, client_address=None
        )
        second = mark_remaining_no_shows(
            staff=manager, centre_id=centre.pk, day=DAY, client_address=None
        )

    assert (first, second) == (3, 0)
    assert AuditEvent.objects.filter(action=AuditAction.NO_SHOW).count() == 3


def test_a_past_day_can_be_closed_later(centre, day_at, manager) -> None:
    with time_machine.travel(at(9), tick=False):
        marked = mark_remaining_no_shows(
            staff=manager,
            centre_id=centre.pk,
            day=DAY - dt.timedelta(days=1),
            client_address=None,
        )

    assert marked == 1
    assert statuses(day_at)["yesterday"] == AppointmentStatus.NO_SHOW
    assert statuses(day_at)["missed"] == AppointmentStatus.BOOKED


@pytest.mark.parametrize("role", [StaffRole.RECEPTIONIST, StaffRole.VACCINATOR])
def test_only_managers_may(centre, day_at, role) -> None:
    with time_machine.travel(at(20), tick=False), pytest.raises(NotPermitted):
        mark_remaining_no_shows(
            staff=staff_at(centre, role), centre_id=centre.pk, day=DAY, client_address=None
        )

    assert statuses(day_at)["missed"] == AppointmentStatus.BOOKED
    assert not AuditEvent.objects.filter(action=AuditAction.NO_SHOW).exists()


def test_a_manager_of_another_centre_may_not(centre, day_at) -> None:
    outsider = staff_at(CentreFactory(), StaffRole.MANAGER)
    with time_machine.travel(at(20), tick=False), pytest.raises(NotPermitted):
        mark_remaining_no_shows(staff=outsider, centre_id=centre.pk, day=DAY, client_address=None)

    assert statuses(day_at)["missed"] == AppointmentStatus.BOOKED


def test_an_administrator_may(centre, day_at) -> None:
    admin = User.objects.create_superuser("root@example.org", "pw-123456789")
    with time_machine.travel(at(20), tick=False):
        assert (
            mark_remaining_no_shows(staff=admin, centre_id=centre.pk, day=DAY, client_address=None)
            == 3
        )


def test_other_centres_are_untouched(centre, day_at, manager) -> None:
    elsewhere = book(SlotFactory(starts_at=at(10)), full_name="Elsewhere Person")
    with time_machine.travel(at(20), tick=False):
        mark_remaining_no_shows(staff=manager, centre_id=centre.pk, day=DAY, client_address=None)

    elsewhere.refresh_from_db()
    assert elsewhere.status == AppointmentStatus.BOOKED


# --- one rule for one no-show and for the day's ------------------------------------------


def audit_row(appointment: Appointment) -> tuple:
    row = AuditEvent.objects.get(action=AuditAction.NO_SHOW, appointment_id=appointment.pk)
    return (row.actor, row.centre_id, row.outcome, row.client_address, row.detail)


def test_one_no_show_and_the_days_change_and_audit_the_same_way(centre, day_at, manager) -> None:
    places = list(Slot.objects.order_by("pk").values_list("pk", "booked"))
    messages = Message.objects.count()
    with time_machine.travel(at(20), tick=False):
        one = services.mark_no_show(
            appointment_id=day_at["missed"].pk, staff=manager, client_address="198.51.100.4"
        )
        marked = mark_remaining_no_shows(
            staff=manager, centre_id=centre.pk, day=DAY, client_address="198.51.100.4"
        )

    assert one.status == AppointmentStatus.NO_SHOW
    assert marked == 2  # the other two: the one marked already is left alone
    assert statuses(day_at)["missed_too"] == AppointmentStatus.NO_SHOW
    same = (manager, centre.pk, "no_show", "198.51.100.4")
    assert audit_row(day_at["missed"]) == (*same, {})
    assert audit_row(day_at["missed_too"]) == (*same, {"day": DAY.isoformat(), "bulk": True})
    # The places stay used, and nobody is told.
    assert list(Slot.objects.order_by("pk").values_list("pk", "booked")) == places
    assert Message.objects.count() == messages


def test_neither_marks_someone_checked_in(centre, day_at, manager) -> None:
    came = day_at["came"]
    with time_machine.travel(at(20), tick=False):
        with pytest.raises(InvalidTransition) as refused:
            services.mark_no_show(appointment_id=came.pk, staff=manager)
        mark_remaining_no_shows(staff=manager, centre_id=centre.pk, day=DAY, client_address=None)

    assert refused.value.status == AppointmentStatus.CHECKED_IN
    assert "checked in: it cannot become did not attend" in refused.value.message
    assert statuses(day_at)["came"] == AppointmentStatus.CHECKED_IN
    assert not AuditEvent.objects.filter(action=AuditAction.NO_SHOW, appointment_id=came.pk)


def test_a_no_show_for_an_appointment_moved_since_it_was_read_changes_nothing(
    centre, day_at, manager
) -> None:
    moved = day_at["evening"]
    with time_machine.travel(at(20), tick=False), transaction.atomic():
        marked = services.record_no_show(
            staff=manager,
            appointment_id=moved.pk,
            slot_id=day_at["missed"].slot_id,  # not its slot
            centre_id=centre.pk,
            client_address=None,
        )

    assert not marked
    assert statuses(day_at)["evening"] == AppointmentStatus.BOOKED
    assert not AuditEvent.objects.filter(action=AuditAction.NO_SHOW).exists()


# --- the pages ------------------------------------------------------------------------------


def no_shows_url(centre: Centre) -> str:
    return f"/staff/centres/{centre.pk}/day/no-shows/"


def test_the_confirmation_page_lists_who_will_be_marked_and_changes_nothing(
    centre, day_at, manager
) -> None:
    client = verified_client(manager)
    with time_machine.travel(at(10, 15), tick=False):
        response = client.get(no_shows_url(centre), {"date": DAY.isoformat()})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Missed Once" in html
    assert "Missed Twice" not in html  # not over yet
    assert "Came Early" not in html
    assert statuses(day_at)["missed"] == AppointmentStatus.BOOKED


def test_confirming_marks_them_and_says_how_many(centre, day_at, manager) -> None:
    client = verified_client(manager, address="192.0.2.44")
    with time_machine.travel(at(20), tick=False):
        response = client.post(no_shows_url(centre), {"date": DAY.isoformat()}, follow=True)

    assert response.redirect_chain == [
        (f"/staff/centres/{centre.pk}/day/?date={DAY.isoformat()}", 302)
    ]
    assert "3 appointments marked as no-shows." in response.content.decode()
    assert statuses(day_at)["evening"] == AppointmentStatus.NO_SHOW
    assert set(
        AuditEvent.objects.filter(action=AuditAction.NO_SHOW).values_list(
            "client_address", flat=True
        )
    ) == {"192.0.2.44"}


def test_with_nobody_left_the_page_says_so_and_offers_no_button(centre, day_at, manager) -> None:
    client = verified_client(manager)
    with time_machine.travel(at(9), tick=False):
        html = client.get(no_shows_url(centre), {"date": DAY.isoformat()}).content.decode()

    assert "Nobody is left to mark" in html
    main = html.split("</header>")[1].split("<footer")[0]  # the footer's language switch aside
    assert "<button" not in main


def test_a_bad_date_is_a_400_and_marks_nothing(centre, day_at, manager) -> None:
    client = verified_client(manager)
    with time_machine.travel(at(20), tick=False):
        response = client.post(no_shows_url(centre), {"date": "2027-13-01"})

    assert response.status_code == 400
    assert statuses(day_at)["missed"] == AppointmentStatus.BOOKED


@pytest.mark.parametrize("role", [StaffRole.RECEPTIONIST, StaffRole.VACCINATOR])
def test_the_page_is_404_for_other_roles(centre, day_at, role) -> None:
    client = verified_client(staff_at(centre, role))
    with time_machine.travel(at(20), tick=False):
        assert client.get(no_shows_url(centre)).status_code == 404
        assert client.post(no_shows_url(centre), {"date": DAY.isoformat()}).status_code == 404

    assert statuses(day_at)["missed"] == AppointmentStatus.BOOKED
