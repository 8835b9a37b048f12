"""Who may call what: every endpoint, called by each kind of caller, answers exactly the
status in this matrix. The appointment belongs to "citizen", at "staff"'s centre, today."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine

from tests.api.conftest import Api, Response, token_for
from tests.factories import CentreFactory, CitizenFactory, SlotFactory, UserFactory, staff_at
from tests.helpers import MADRID
from vaxbook.accounts import people
from vaxbook.accounts.models import AuthorityRole, StaffRole, User
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment, AppointmentStatus, BookingChannel
from vaxbook.centres.models import Centre, Slot
from vaxbook.credentials.tokens import issue_token

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2030, 3, 5, 9, 0, tzinfo=MADRID)
ROLES = [
    "anonymous",
    "citizen",
    "other_citizen",
    "staff",
    "other_staff",
    "administrator",
    "call_agent",
]


@dataclass
class World:
    centre: Centre
    slot: Slot
    free_slot: Slot
    appointment: Appointment
    staff_user: User
    callers: dict[str, Api]

    @property
    def path(self) -> str:
        return f"/appointments/{self.appointment.pk}"


@pytest.fixture
def world(db: None):
    with time_machine.travel(NOW):
        centre = CentreFactory()
        slot = SlotFactory(centre=centre, starts_at=NOW + dt.timedelta(hours=1))
        free_slot = SlotFactory(centre=centre, starts_at=NOW + dt.timedelta(hours=2))
        owner = CitizenFactory(full_name="Ada Lovelace")
        appointment = services.book_appointment(person=owner, slot_id=slot.pk, dose_number=1)
        staff_user = staff_at(centre, StaffRole.VACCINATOR)
        callers = {
            "anonymous": Api(),
            "citizen": Api(token_for(owner.user)),
            "other_citizen": Api(token_for(CitizenFactory().user)),
            "staff": Api(token_for(staff_user)),
            "other_staff": Api(token_for(staff_at(CentreFactory(), StaffRole.MANAGER))),
            "administrator": Api(token_for(UserFactory(is_superuser=True, is_staff=True))),
            # The phone line works on its staff pages (vaxbook.accounts.phone_line): through
            # the API it is an account with no citizen profile and no centre.
            "call_agent": Api(token_for(UserFactory(authority_role=AuthorityRole.CALL_AGENT))),
        }
        yield World(centre, slot, free_slot, appointment, staff_user, callers)


def registration(world: World, api: Api) -> Response:
    body = {
        "email": "new@example.org",
        "password": "correct horse battery staple",
        "full_name": "New Person",
        "date_of_birth": "1990-05-17",
    }
    return api.post("/auth/register", body)


def token_request(world: World, api: Api) -> Response:
    email = world.appointment.person.user.email
    return api.post("/auth/token", {"email": email, "password": "a-long-test-password"})


def presented(world: World, **extra: object) -> dict[str, object]:
    return {"token": issue_token(world.appointment), **extra}


def checked_in_first(world: World, api: Api) -> Response:
    services.check_in(appointment_id=world.appointment.pk, staff=world.staff_user)
    return api.post(f"{world.path}/vaccination", {"lot_number": "FF1234"})


Call = Callable[[World, Api], Response]

# endpoint: (call, statuses for ROLES in order)
MATRIX: dict[str, tuple[Call, list[int]]] = {
    "POST /auth/register": (registration, [202] * 7),
    "POST /auth/token": (token_request, [200] * 7),
    "DELETE /auth/token": (lambda w, api: api.delete("/auth/token"), [401] + [204] * 6),
    "GET /me": (lambda w, api: api.get("/me"), [401] + [200] * 6),
    "GET /vaccines": (lambda w, api: api.get("/vaccines"), [200] * 7),
    "GET /centres": (lambda w, api: api.get("/centres"), [200] * 7),
    "GET /centres/{id}/slots": (
        lambda w, api: api.get(f"/centres/{w.centre.pk}/slots"),
        [200] * 7,
    ),
    "POST /appointments": (
        lambda w, api: api.post("/appointments", {"slot_id": w.free_slot.pk, "dose_number": 1}),
        # The owner holds dose 1 already; staff and administrators have no citizen profile.
        [401, 409, 201, 403, 403, 403, 403],
    ),
    "GET /appointments": (lambda w, api: api.get("/appointments"), [401] + [200] * 6),
    "GET /appointments/{id}": (lambda w, api: api.get(w.path), [401, 200, 404, 404, 404, 404, 404]),
    "POST /appointments/{id}/cancel": (
        lambda w, api: api.post(f"{w.path}/cancel"),
        [401, 200, 404, 403, 403, 403, 403],
    ),
    "POST /appointments/{id}/reschedule": (
        lambda w, api: api.post(f"{w.path}/reschedule", {"slot_id": w.free_slot.pk}),
        [401, 200, 404, 403, 403, 403, 403],
    ),
    "GET /appointments/{id}/qr.svg": (
        lambda w, api: api.get(f"{w.path}/qr.svg"),
        [401, 200, 404, 404, 404, 404, 404],
    ),
    "GET /appointments/{id}/calendar.ics": (
        lambda w, api: api.get(f"{w.path}/calendar.ics"),
        [401, 200, 404, 404, 404, 404, 404],
    ),
    "POST /validations": (
        lambda w, api: api.post("/validations", presented(w, centre_id=w.centre.pk)),
        [401, 403, 403, 200, 403, 200, 403],
    ),
    "POST /validations without centre_id": (
        lambda w, api: api.post("/validations", presented(w)),
        # Other staff validate at their own (only) centre; an administrator must name one.
        [401, 403, 403, 200, 200, 422, 403],
    ),
    "POST /checkins": (
        lambda w, api: api.post("/checkins", presented(w, centre_id=w.centre.pk)),
        [401, 403, 403, 200, 403, 200, 403],
    ),
    "POST /appointments/{id}/vaccination": (checked_in_first, [401, 403, 403, 201, 403, 201, 403]),
}

CASES = [
    pytest.param(endpoint, role, statuses[index], id=f"{endpoint} as {role}")
    for endpoint, (_call, statuses) in MATRIX.items()
    for index, role in enumerate(ROLES)
]


@pytest.mark.parametrize(("endpoint", "role", "status"), CASES)
def test_each_caller_gets_exactly_this_status(world: World, endpoint, role, status) -> None:
    call, _statuses = MATRIX[endpoint]

    with time_machine.travel(NOW + dt.timedelta(minutes=5)):
        response = call(world, world.callers[role])

    assert response.status == status, response.body
    if status >= 400:
        assert response.content_type == "application/problem+json"


# A staff member's token issued without the code of an authenticator (the API no longer
# issues one; older tokens, or a citizen's token whose holder then joined a centre): it
# never acts for a centre, and otherwise is what it always was, an account without a
# citizen profile.
STAFF_WITHOUT_THE_CODE: dict[str, int] = {
    "GET /me": 200,
    "GET /centres/{id}/slots": 200,
    "POST /appointments": 403,
    "GET /appointments/{id}": 404,
    "POST /appointments/{id}/cancel": 403,
    "POST /validations": 403,
    "POST /validations without centre_id": 403,
    "POST /checkins": 403,
    "POST /appointments/{id}/vaccination": 403,
}


@pytest.mark.parametrize(("endpoint", "status"), STAFF_WITHOUT_THE_CODE.items())
def test_a_staff_token_without_the_second_factor_never_acts_for_a_centre(
    world: World, endpoint, status
) -> None:
    call, _statuses = MATRIX[endpoint]
    api = Api(token_for(world.staff_user, second_factor=False))

    with time_machine.travel(NOW + dt.timedelta(minutes=5)):
        response = call(world, api)

    assert response.status == status, response.body
    if endpoint.startswith(("POST /validations", "POST /checkins", "POST /appointments/{id}/v")):
        assert response.code == "second_factor_required"
    # Nothing changed (the vaccination call checks the person in first, as staff would).
    world.appointment.refresh_from_db()
    by_staff = AppointmentStatus.CHECKED_IN if endpoint.endswith("vaccination") else None
    assert world.appointment.status == (by_staff or AppointmentStatus.BOOKED)


def test_a_list_of_appointments_shows_only_the_callers_own(world: World) -> None:
    with time_machine.travel(NOW + dt.timedelta(minutes=5)):
        counts = {role: world.callers[role].get("/appointments").body for role in ROLES[1:]}

    assert {role: body["count"] for role, body in counts.items()} == {
        "citizen": 1,
        "other_citizen": 0,
        "staff": 0,
        "other_staff": 0,
        "administrator": 0,
        "call_agent": 0,
    }


# --- a booker's relatives --------------------------------------------------------------
# The appointment of a person without an account, held by two accounts that book for her
# (vaxbook.accounts.people): both reach it; nobody else does, whoever they book for.

RELATIVE_ROLES = ["anonymous", "booker", "second_booker", "other_booker", "call_agent", "staff"]


@dataclass
class RelativeWorld:
    slot: Slot
    free_slot: Slot
    relative_id: int
    appointment: Appointment
    callers: dict[str, Api]

    @property
    def path(self) -> str:
        return f"/appointments/{self.appointment.pk}"


@pytest.fixture
def relative_world(db: None):
    with time_machine.travel(NOW):
        centre = CentreFactory()
        slot = SlotFactory(centre=centre, starts_at=NOW + dt.timedelta(hours=1))
        free_slot = SlotFactory(centre=centre, starts_at=NOW + dt.timedelta(hours=2))
        booker, second, other = CitizenFactory(), CitizenFactory(), CitizenFactory()
        mum: dict[str, Any] = {
            "full_name": "Carmen López",
            "date_of_birth": dt.date(1948, 3, 2),
            "phone": "600111222",
        }
        relative = people.add_person(booker=booker.user, **mum)
        people.add_person(booker=second.user, **mum)
        people.add_person(
            booker=other.user, full_name="Luis Ruiz", date_of_birth=dt.date(1941, 1, 1)
        )
        appointment = services.book_appointment(
            person=relative,
            slot_id=slot.pk,
            dose_number=1,
            on_behalf=services.OnBehalf(user=booker.user, channel=BookingChannel.RELATIVE),
        )
        callers = {
            "anonymous": Api(),
            "booker": Api(token_for(booker.user)),
            "second_booker": Api(token_for(second.user)),
            "other_booker": Api(token_for(other.user)),
            "call_agent": Api(token_for(UserFactory(authority_role=AuthorityRole.CALL_AGENT))),
            "staff": Api(token_for(staff_at(centre, StaffRole.VACCINATOR))),
        }
        yield RelativeWorld(slot, free_slot, relative.pk, appointment, callers)


RelativeCall = Callable[[RelativeWorld, Api], Response]

RELATIVE_MATRIX: dict[str, tuple[RelativeCall, list[int]]] = {
    "POST /appointments for her": (
        lambda w, api: api.post(
            "/appointments",
            {"slot_id": w.free_slot.pk, "dose_number": 2, "person_id": w.relative_id},
        ),
        # She holds dose 1 for later today: dose 2 is refused by the dose rules, not by
        # who asks; for anyone else she is no person of theirs (404).
        [401, 422, 422, 404, 404, 404],
    ),
    "GET /appointments/{id}": (
        lambda w, api: api.get(w.path),
        [401, 200, 200, 404, 404, 404],
    ),
    "GET /appointments/{id}/qr.svg": (
        lambda w, api: api.get(f"{w.path}/qr.svg"),
        [401, 200, 200, 404, 404, 404],
    ),
    "POST /appointments/{id}/reschedule": (
        lambda w, api: api.post(f"{w.path}/reschedule", {"slot_id": w.free_slot.pk}),
        [401, 200, 200, 404, 403, 403],
    ),
    "POST /appointments/{id}/cancel": (
        lambda w, api: api.post(f"{w.path}/cancel"),
        [401, 200, 200, 404, 403, 403],
    ),
}

RELATIVE_CASES = [
    pytest.param(endpoint, role, statuses[index], id=f"{endpoint} as {role}")
    for endpoint, (_call, statuses) in RELATIVE_MATRIX.items()
    for index, role in enumerate(RELATIVE_ROLES)
]


@pytest.mark.parametrize(("endpoint", "role", "status"), RELATIVE_CASES)
def test_a_relatives_appointment_answers_each_caller_exactly_this(
    relative_world: RelativeWorld, endpoint, role, status
) -> None:
    call, _statuses = RELATIVE_MATRIX[endpoint]

    with time_machine.travel(NOW + dt.timedelta(minutes=5)):
        response = call(relative_world, relative_world.callers[role])

    assert response.status == status, response.body
    if status >= 400:
        assert response.content_type == "application/problem+json"


def test_what_staff_of_another_centre_see_is_wrong_centre(world: World) -> None:
    with time_machine.travel(NOW + dt.timedelta(minutes=5)):
        response = world.callers["other_staff"].post("/validations", presented(world))

    assert response.body["outcome"] == "wrong_centre"
    assert response.body["appointment"]["holder"] is None
