"""Who reaches which staff page, for every staff page of the day: anyone not signed in is
sent to the staff sign-in; citizens, staff who have not entered their code and staff of
other centres get a 404; at the centre, each role reaches what it may do and gets a 404 for
the rest, as if the page did not exist."""

from collections.abc import Callable

import pytest
import time_machine
from django.test import Client

from tests.factories import CentreFactory, CitizenFactory, SlotFactory, staff_at
from tests.helpers import DAY, at, book
from tests.staff_clients import password_only_client, verified_client
from vaxbook.accounts.models import StaffRole, User
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Centre

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def evening_of_the_day():
    with time_machine.travel(at(19), tick=False):
        yield


@pytest.fixture
def appointments(centre, receptionist) -> dict[str, Appointment]:
    """One person checked in (for the dose page), one who never came (for the no-shows)."""
    slot = SlotFactory(centre=centre, starts_at=at(10))
    came, missed = book(slot), book(slot)
    services.check_in(appointment_id=came.pk, staff=receptionist)
    return {"came": came, "missed": missed}


# Each request: (method, path under /staff/centres/<id>/, data).
type Request = tuple[str, Callable[[dict[str, Appointment]], str], dict[str, str]]

REQUESTS: dict[str, Request] = {
    "validate page": ("get", lambda a: "validate/", {}),
    "validate": ("post", lambda a: "validate/", {"presented": "ABC-DEF-GH2"}),
    "check in": ("post", lambda a: "check-in/", {"presented": "ABC-DEF-GH2"}),
    "day": ("get", lambda a: "day/", {}),
    "no-shows page": ("get", lambda a: "day/no-shows/", {}),
    "no-shows": ("post", lambda a: "day/no-shows/", {"date": DAY.isoformat()}),
    "dose page": ("get", lambda a: f"appointments/{a['came'].pk}/vaccination/", {}),
    "dose": (
        "post",
        lambda a: f"appointments/{a['came'].pk}/vaccination/",
        {"lot_number": "EW0150", "injection_site": "left_arm"},
    ),
    "audit log": ("get", lambda a: "audit/", {}),
}

ALLOWED = {
    StaffRole.RECEPTIONIST: {"validate page", "validate", "check in", "day"},
    StaffRole.VACCINATOR: {"validate page", "validate", "check in", "day", "dose page", "dose"},
    StaffRole.MANAGER: set(REQUESTS),
    "administrator": set(REQUESTS),
}


def send(client: Client, centre: Centre, appointments, name: str):
    method, path, data = REQUESTS[name]
    url = f"/staff/centres/{centre.pk}/{path(appointments)}"
    return getattr(client, method)(url, data)


def staff_client(centre: Centre, role: str) -> Client:
    if role == "administrator":
        return verified_client(User.objects.create_superuser("root@example.org", "pw-123456789"))
    return verified_client(staff_at(centre, role))


def unchanged(appointments: dict[str, Appointment]) -> bool:
    came, missed = (Appointment.objects.get(pk=a.pk) for a in appointments.values())
    return (came.status, missed.status) == (AppointmentStatus.CHECKED_IN, AppointmentStatus.BOOKED)


@pytest.mark.parametrize("name", REQUESTS)
@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_at_the_centre(centre, appointments, role, name) -> None:
    response = send(staff_client(centre, role), centre, appointments, name)

    if name in ALLOWED[role]:
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 302:  # a change was made, and leads back to the day
            assert f"/staff/centres/{centre.pk}/day/" in response["Location"]
    else:
        assert response.status_code == 404
        assert unchanged(appointments)


@pytest.mark.parametrize("name", REQUESTS)
def test_not_signed_in_goes_to_the_staff_sign_in(centre, appointments, name) -> None:
    response = send(Client(), centre, appointments, name)

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/sign-in/?next=")
    assert unchanged(appointments)


def citizen(centre: Centre) -> Client:
    return verified_client(CitizenFactory().user)


def staff_without_the_code(centre: Centre) -> Client:
    return password_only_client(staff_at(centre, StaffRole.MANAGER))


def manager_of_another_centre(centre: Centre) -> Client:
    return verified_client(staff_at(CentreFactory(), StaffRole.MANAGER))


@pytest.mark.parametrize("name", REQUESTS)
@pytest.mark.parametrize("who", [citizen, staff_without_the_code, manager_of_another_centre])
def test_everyone_else_gets_404(centre, appointments, who, name) -> None:
    response = send(who(centre), centre, appointments, name)

    assert response.status_code == 404
    assert unchanged(appointments)


@pytest.mark.parametrize("name", REQUESTS)
def test_an_unknown_centre_is_404_even_for_an_administrator(appointments, name) -> None:
    admin = verified_client(User.objects.create_superuser("root@example.org", "pw-123456789"))
    method, path, data = REQUESTS[name]

    response = getattr(admin, method)(f"/staff/centres/999999/{path(appointments)}", data)

    assert response.status_code == 404
    assert unchanged(appointments)
