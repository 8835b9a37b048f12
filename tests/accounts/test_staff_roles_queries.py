"""A staff page reads the signed-in user's roles once, however many times it asks about
them: the guard, the view, the services it calls and the template's links all share the
roles loaded with the first question."""

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import CentreFactory, SlotFactory, StaffMembershipFactory
from tests.helpers import at, book
from tests.staff_clients import verified_client
from vaxbook.accounts.models import StaffRole, StaffStep, User
from vaxbook.bookings import references, services
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Centre
from vaxbook.centres.permissions import managed_centre_ids, may_manage
from vaxbook.centres.services import managed_centres

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def during_the_day():
    with time_machine.travel(at(10, 5), tick=False):
        yield


@pytest.fixture
def centres() -> list[Centre]:
    return [CentreFactory(name=f"Centre {letter}") for letter in "ABCD"]


@pytest.fixture
def manager(centres) -> User:
    """Manager at the first two centres, vaccinator at the other two."""
    user: User = StaffMembershipFactory(centre=centres[0], role=StaffRole.MANAGER).user
    StaffMembershipFactory(user=user, centre=centres[1], role=StaffRole.MANAGER)
    for centre in centres[2:]:
        StaffMembershipFactory(user=user, centre=centre, role=StaffRole.VACCINATOR)
    return user


@pytest.fixture
def checked_in(centres) -> Appointment:
    """At the first centre, booked the day before for 10:00 and checked in at 10:02."""
    booked = book(SlotFactory(centre=centres[0], starts_at=at(10)), days_before=1)
    nurse: User = StaffMembershipFactory(centre=centres[0], role=StaffRole.VACCINATOR).user
    with time_machine.travel(at(10, 2), tick=False):
        return services.check_in(appointment_id=booked.pk, staff=nurse)


def role_queries(client: Client, url: str, data: dict[str, str] | None = None) -> int:
    """How many queries the page makes on the staff memberships table."""
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, data) if data is not None else client.get(url)
    assert response.status_code == 200, response.status_code
    return sum("accounts_staffmembership" in query["sql"] for query in queries.captured_queries)


def test_the_staff_home_reads_roles_once_whatever_the_number_of_centres(manager, centres) -> None:
    client = verified_client(manager)

    # The guard, the list of centres, the management link and one audit-log link per centre.
    assert role_queries(client, "/staff/") == 1


@pytest.mark.parametrize(
    "page",
    [
        "/staff/centres/{centre}/day/",
        "/staff/centres/{centre}/day/no-shows/",
        "/staff/centres/{centre}/validate/",
        "/staff/centres/{centre}/appointments/{appointment}/vaccination/",
        "/staff/centres/{centre}/audit/",
        "/staff/manage/",
        "/staff/centres/{centre}/manage/",
    ],
)
def test_a_staff_page_reads_roles_once(manager, centres, checked_in, page) -> None:
    client = verified_client(manager)
    url = page.format(centre=centres[0].pk, appointment=checked_in.pk)

    assert role_queries(client, url) == 1


def test_a_role_taken_away_shows_on_the_next_request(manager, centres) -> None:
    client = verified_client(manager)
    overview = f"/staff/centres/{centres[0].pk}/manage/"
    day = f"/staff/centres/{centres[0].pk}/day/"
    assert client.get(overview).status_code == 200

    manager.memberships.filter(centre=centres[0]).update(role=StaffRole.RECEPTIONIST)
    assert client.get(overview).status_code == 404
    assert client.get(day).status_code == 200

    manager.memberships.filter(centre=centres[0]).delete()
    assert client.get(day).status_code == 404


def test_validating_reads_roles_once(manager, centres, checked_in) -> None:
    client = verified_client(manager)
    reference = references.display(checked_in.reference)

    # The guard, the validation service and the link to record the dose.
    assert (
        role_queries(client, f"/staff/centres/{centres[0].pk}/validate/", {"presented": reference})
        == 1
    )


def test_roles_by_centre(manager, centres) -> None:
    assert manager.steps_at(centres[0].pk) == frozenset(StaffStep)
    assert manager.steps_at(centres[2].pk) == {StaffStep.CHECK_IN, StaffStep.VACCINATE}
    assert manager.steps_at(CentreFactory().pk) == frozenset()
    assert manager.works_at(centres[3].pk)


def test_an_administrator_may_do_everything_everywhere(centres) -> None:
    admin = User.objects.create_superuser("authority@example.org")

    assert admin.steps_at(centres[0].pk) == frozenset(StaffStep)
    assert may_manage(admin, centres[0].pk)
    assert managed_centre_ids(admin) is None
    assert managed_centres(user=admin) == centres


def test_a_manager_manages_only_the_centres_where_their_role_is_manager(manager, centres) -> None:
    assert managed_centre_ids(manager) == [centres[0].pk, centres[1].pk]
    assert [may_manage(manager, centre.pk) for centre in centres] == [True, True, False, False]
    assert managed_centres(user=manager) == centres[:2]


def test_a_deactivated_manager_manages_nothing(manager, centres) -> None:
    manager.is_active = False

    assert managed_centre_ids(manager) == []
    assert not may_manage(manager, centres[0].pk)
    assert managed_centres(user=manager) == []


def test_outside_a_staff_page_roles_are_read_at_every_question(manager, centres) -> None:
    # A service called from a command, a task or the API must see a role taken away.
    assert manager.works_at(centres[2].pk)
    manager.memberships.filter(centre=centres[2]).delete()

    assert not manager.works_at(centres[2].pk)
