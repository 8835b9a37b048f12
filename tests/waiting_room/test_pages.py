"""The waiting room's page and the booking pages behind it, and what is never queued."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tests.factories import CitizenFactory, SlotFactory
from tests.staff_clients import verified_client
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.centres.models import Slot
from vaxbook.waiting_room.gate import PASS_COOKIE, TICKET_COOKIE
from vaxbook.waiting_room.models import WaitingRoom

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_room(db: None, database_store: None) -> WaitingRoom:
    return WaitingRoom.objects.create(
        name="Phase 3",
        active=True,
        opens_at=timezone.now() - dt.timedelta(hours=1),
        rate_per_minute=6000,
    )


@pytest.fixture
def slot(db: None) -> Slot:
    return SlotFactory(capacity=20)


def _admitted(client: Client) -> None:
    client.post("/waiting-room/", {"next": "/centres/"})
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=1)):
        page = client.get("/waiting-room/?next=/centres/")
    assert page.context["status"].state == "admitted"


def test_the_booking_pages_send_a_person_without_a_pass_to_the_room(
    live_room: WaitingRoom, slot: Slot
) -> None:
    client = Client()
    for path in ["/centres/", f"/centres/{slot.centre_id}/", f"/book/{slot.pk}/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/waiting-room/?next=")


def test_the_page_offers_the_check_before_joining(live_room: WaitingRoom) -> None:
    page = Client().get("/waiting-room/")
    assert page.status_code == 200
    assert b'href="/check/"' in page.content
    assert b"Join the line" in page.content


def test_joining_keeps_the_ticket_in_a_safe_cookie_and_shows_the_place(
    live_room: WaitingRoom,
) -> None:
    WaitingRoom.objects.filter(pk=live_room.pk).update(paused=True)
    client = Client()
    joined = client.post("/waiting-room/", {"next": "/centres/"})
    assert joined.status_code == 302
    cookie = joined.cookies[TICKET_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    page = client.get(joined["Location"])
    assert page.context["status"].position == 1
    assert b'http-equiv="refresh"' in page.content
    assert b"waiting_room/poll.js" in page.content


def test_at_the_front_the_pass_opens_the_booking_pages(live_room: WaitingRoom, slot: Slot) -> None:
    client = Client()
    _admitted(client)
    assert client.cookies[PASS_COOKIE].value
    assert client.get("/centres/").status_code == 200
    client.force_login(CitizenFactory().user)
    assert client.get(f"/book/{slot.pk}/").status_code == 200


def test_a_pass_cookie_used_by_a_second_account_is_refused(
    live_room: WaitingRoom, slot: Slot
) -> None:
    client = Client()
    _admitted(client)
    client.force_login(CitizenFactory().user)
    assert client.get(f"/book/{slot.pk}/").status_code == 200
    thief = Client()
    thief.cookies[PASS_COOKIE] = client.cookies[PASS_COOKIE].value
    thief.force_login(CitizenFactory().user)
    refused = thief.get(f"/book/{slot.pk}/")
    assert refused.status_code == 403
    assert b"another account" in refused.content


def test_the_page_in_spanish(live_room: WaitingRoom) -> None:
    page = Client(headers={"accept-language": "es"}).get("/waiting-room/")
    assert b"Ponerse en la fila" in page.content


def test_nothing_of_the_centres_side_is_ever_queued(live_room: WaitingRoom) -> None:
    client = Client()
    for path in ["/healthz", "/.well-known/jwks.json", "/staff/", "/admin/", "/check/"]:
        response = client.get(path)
        assert response.status_code != 302 or "/waiting-room/" not in response["Location"], path


def test_staff_validation_pages_are_never_queued(
    live_room: WaitingRoom, centre, receptionist
) -> None:
    client = verified_client(receptionist)
    page = client.get(f"/staff/centres/{centre.pk}/validate/")
    assert page.status_code == 200
    checked = client.post(f"/staff/centres/{centre.pk}/validate/", {"presented": "ABCD-EFGH"})
    assert checked.status_code == 200


def test_the_health_authority_sees_the_line_and_changes_the_rate(
    live_room: WaitingRoom,
    admin_user,
) -> None:
    client = verified_client(admin_user)
    page = client.get("/staff/waiting-room/")
    assert page.status_code == 200
    assert b"People waiting" in page.content
    client.post("/staff/waiting-room/", {"rate_per_minute": 120, "action": "rate"})
    client.post("/staff/waiting-room/", {"rate_per_minute": 120, "action": "pause"})
    live_room.refresh_from_db()
    assert (live_room.rate_per_minute, live_room.paused) == (120, True)
    changes = AuditEvent.objects.filter(action=AuditAction.WAITING_ROOM_CHANGED)
    assert changes.count() == 2
    assert changes.first().actor == admin_user  # type: ignore[union-attr]


def test_centre_staff_do_not_see_the_control_page(live_room: WaitingRoom, receptionist) -> None:
    assert verified_client(receptionist).get("/staff/waiting-room/").status_code == 404


def test_a_room_linked_to_a_cohort_opening_opens_with_it(db: None, admin_user) -> None:
    from vaxbook.centres.policy import CohortOpening

    cohort = CohortOpening.objects.create(
        name="60 to 69", minimum_age=60, maximum_age=69, opens_at=timezone.now()
    )
    client = verified_client(admin_user)
    response = client.post(
        "/admin/waiting_room/waitingroom/add/",
        {
            "name": "Phase 3",
            "cohort_opening": cohort.pk,
            "opens_at_0": "",
            "opens_at_1": "",
            "rate_per_minute": 600,
            "pass_lifetime_seconds": 900,
            "mode": "manual",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert WaitingRoom.objects.get().opens_at == cohort.opens_at
