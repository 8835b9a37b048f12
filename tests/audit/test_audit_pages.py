"""Managers read their centre's audit log on a staff page; administrators read every row in
the Django admin; nobody can add, change or delete a row through either."""

import datetime as dt
import uuid

import pytest
import time_machine
from django.test import Client

from tests.factories import CentreFactory, CitizenFactory, SlotFactory, staff_at
from tests.staff_clients import verified_client
from vaxbook.accounts.models import StaffRole, User
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.audit.services import record_event
from vaxbook.audit.views import EVENTS_PER_PAGE
from vaxbook.bookings import services
from vaxbook.centres.models import Centre

pytestmark = pytest.mark.django_db

START = dt.datetime(2027, 7, 15, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def centre() -> Centre:
    return CentreFactory(name="Zendal")


def events_at(centre: Centre, count: int, *, actor: User | None = None) -> None:
    """`count` validations a minute apart, the outcome naming their order."""
    for minute in range(count):
        with time_machine.travel(START + dt.timedelta(minutes=minute), tick=False):
            record_event(
                actor=actor,
                action=AuditAction.VALIDATION,
                centre_id=centre.pk,
                outcome=f"event-{minute}",
                client_address="192.0.2.1",
            )


def log_url(centre: Centre) -> str:
    return f"/staff/centres/{centre.pk}/audit/"


def outcomes(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return [row["event"].outcome for row in response.context["events"]]


def test_a_manager_reads_the_centres_log_newest_first(centre) -> None:
    manager = staff_at(centre, StaffRole.MANAGER)
    events_at(centre, 3, actor=manager)
    events_at(CentreFactory(), 1)  # another centre's

    response = verified_client(manager).get(log_url(centre))

    assert outcomes(response) == ["event-2", "event-1", "event-0"]
    html = response.content.decode()
    assert manager.email in html
    assert "192.0.2.1" in html
    assert "10:02:00" in html  # 08:02 UTC in centre time (Madrid, UTC+2)


def test_the_log_is_paginated(centre) -> None:
    events_at(centre, EVENTS_PER_PAGE + 2)
    client = verified_client(staff_at(centre, StaffRole.MANAGER))

    first = client.get(log_url(centre))
    second = client.get(log_url(centre), {"page": 2})
    beyond = client.get(log_url(centre), {"page": "999"})
    junk = client.get(log_url(centre), {"page": "x"})

    assert outcomes(first)[0] == f"event-{EVENTS_PER_PAGE + 1}"
    assert len(outcomes(first)) == EVENTS_PER_PAGE
    assert outcomes(second) == ["event-1", "event-0"]
    assert outcomes(beyond) == ["event-1", "event-0"]  # the last page
    assert outcomes(junk) == outcomes(first)
    assert "Older entries" in first.content.decode()


def test_rows_show_the_appointment_reference_and_outcomes_in_words(centre) -> None:
    slot = SlotFactory(centre=centre)
    appointment = services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)
    record_event(
        actor=None,
        action=AuditAction.VALIDATION,
        centre_id=centre.pk,
        appointment_id=appointment.pk,
        outcome="wrong_centre",
    )
    client = verified_client(staff_at(centre, StaffRole.MANAGER))

    html = client.get(log_url(centre)).content.decode()

    assert appointment.display_reference in html
    assert "Booked at another centre" in html


@pytest.mark.parametrize("role", [StaffRole.RECEPTIONIST, StaffRole.VACCINATOR])
def test_other_roles_get_404(centre, role) -> None:
    assert verified_client(staff_at(centre, role)).get(log_url(centre)).status_code == 404


def test_a_manager_of_another_centre_gets_404(centre) -> None:
    outsider = verified_client(staff_at(CentreFactory(), StaffRole.MANAGER))

    assert outsider.get(log_url(centre)).status_code == 404


def test_an_administrator_reads_any_centres_log(centre) -> None:
    events_at(centre, 1)
    admin = verified_client(User.objects.create_superuser("root@example.org", "pw-123456789"))

    assert outcomes(admin.get(log_url(centre))) == ["event-0"]


def test_the_staff_home_links_the_log_for_managers_only(centre) -> None:
    manager = verified_client(staff_at(centre, StaffRole.MANAGER))
    receptionist = verified_client(staff_at(centre, StaffRole.RECEPTIONIST))

    assert log_url(centre) in manager.get("/staff/").content.decode()
    home = receptionist.get("/staff/").content.decode()
    assert log_url(centre) not in home
    assert f"/staff/centres/{centre.pk}/day/" in home


# --- the Django admin -----------------------------------------------------------------------


@pytest.fixture
def admin_client_() -> Client:
    return verified_client(User.objects.create_superuser("root@example.org", "pw-123456789"))


def test_the_admin_lists_events_and_filters_them(admin_client_, centre) -> None:
    events_at(centre, 2)
    record_event(actor=None, action=AuditAction.NO_SHOW, centre_id=centre.pk, outcome="no_show")

    everything = admin_client_.get("/admin/audit/auditevent/")
    no_shows = admin_client_.get("/admin/audit/auditevent/", {"action__exact": "no_show"})
    by_centre = admin_client_.get("/admin/audit/auditevent/", {"centre__id__exact": centre.pk})

    assert everything.status_code == 200
    assert everything.context["cl"].result_count == 3
    assert no_shows.context["cl"].result_count == 1
    assert by_centre.context["cl"].result_count == 3


def test_the_admin_searches_by_appointment_id_and_actor_email(admin_client_, centre) -> None:
    wanted = uuid.uuid4()
    manager = staff_at(centre, StaffRole.MANAGER)
    record_event(
        actor=None, action=AuditAction.VALIDATION, centre_id=centre.pk, appointment_id=wanted
    )
    record_event(actor=manager, action=AuditAction.VALIDATION, centre_id=centre.pk)
    record_event(actor=None, action=AuditAction.VALIDATION, centre_id=centre.pk)

    by_id = admin_client_.get("/admin/audit/auditevent/", {"q": str(wanted)})
    by_email = admin_client_.get("/admin/audit/auditevent/", {"q": manager.email.upper()})

    assert [e.appointment_id for e in by_id.context["cl"].result_list] == [wanted]
    assert [e.actor for e in by_email.context["cl"].result_list] == [manager]


def test_the_admin_is_read_only(admin_client_, centre) -> None:
    events_at(centre, 1)
    event = AuditEvent.objects.get()

    add = admin_client_.get("/admin/audit/auditevent/add/")
    view = admin_client_.get(f"/admin/audit/auditevent/{event.pk}/change/")
    change = admin_client_.post(
        f"/admin/audit/auditevent/{event.pk}/change/", {"outcome": "forged"}
    )
    delete = admin_client_.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"})
    bulk_delete = admin_client_.post(
        "/admin/audit/auditevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )

    assert add.status_code == 403
    assert view.status_code == 200
    assert 'name="outcome"' not in view.content.decode()
    assert change.status_code == 403
    assert delete.status_code == 403
    assert bulk_delete.status_code in (200, 302)
    assert AuditEvent.objects.get().outcome == "event-0"
