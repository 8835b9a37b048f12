import re
import uuid

import pytest
from django.test import Client
from icalendar import Calendar

from tests.factories import CitizenFactory, SlotFactory, UserFactory
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment
from vaxbook.credentials.tokens import verify_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def appointment() -> Appointment:
    slot = SlotFactory(centre__time_zone="Atlantic/Canary", centre__name="Hospital Doctor Negrín")
    return services.book_appointment(person=CitizenFactory(), slot_id=slot.pk, dose_number=1)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_confirmation_shows_reference_local_time_and_a_qr_of_the_signed_token(appointment):
    response = signed_in(appointment.person.user).get(f"/appointments/{appointment.pk}/")

    assert response.status_code == 200
    page = response.text
    assert appointment.display_reference in page
    assert "Hospital Doctor Negrín" in page
    assert "(Canary Islands time)" in page
    assert "Atlantic/Canary" not in page
    assert "<svg" in page


def test_qr_code_is_an_svg_and_the_token_inside_names_the_appointment(appointment):
    response = signed_in(appointment.person.user).get(f"/appointments/{appointment.pk}/qr.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "private, no-store"


def test_calendar_entry_downloads_as_ics(appointment):
    response = signed_in(appointment.person.user).get(
        f"/appointments/{appointment.pk}/calendar.ics"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar"
    assert b"BEGIN:VCALENDAR" in response.content
    assert "attachment" in response["Content-Disposition"]
    # A file to import, not an invitation that asks the person to answer themselves.
    calendar = Calendar.from_ical(response.content)
    assert calendar["METHOD"] == "PUBLISH"
    assert "ATTENDEE" not in calendar.events[0]


@pytest.mark.parametrize("suffix", ["", "qr.svg", "calendar.ics"])
def test_someone_elses_appointment_is_the_same_404_as_a_missing_one(appointment, suffix):
    stranger = signed_in(CitizenFactory().user)
    theirs = stranger.get(f"/appointments/{appointment.pk}/{suffix}")
    missing = stranger.get(f"/appointments/{uuid.uuid4()}/{suffix}")
    assert theirs.status_code == missing.status_code == 404
    # Byte for byte, but for what differs on any two pages: the forms' token, masked anew
    # on every page, and the page's own address (where the language switcher returns to).
    assert as_any_page(theirs) == as_any_page(missing)


def as_any_page(response) -> bytes:
    page = response.content.replace(response.wsgi_request.path.encode(), b"PATH")
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", page)


def test_staff_without_a_citizen_profile_get_404_too(appointment):
    response = signed_in(UserFactory()).get(f"/appointments/{appointment.pk}/")
    assert response.status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(appointment):
    response = Client().get(f"/appointments/{appointment.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")


def test_a_cancelled_appointment_shows_no_qr_code(appointment):
    services.cancel_appointment(person=appointment.person, appointment_id=appointment.pk)
    client = signed_in(appointment.person.user)
    assert "<svg" not in client.get(f"/appointments/{appointment.pk}/").text
    assert client.get(f"/appointments/{appointment.pk}/qr.svg").status_code == 404


def test_the_list_shows_only_the_persons_own_appointments(appointment):
    other = services.book_appointment(
        person=CitizenFactory(), slot_id=appointment.slot_id, dose_number=1
    )
    page = signed_in(appointment.person.user).get("/appointments/").text
    assert f"/appointments/{appointment.pk}/" in page
    assert f"/appointments/{other.pk}/" not in page


def test_sign_in_with_email_and_password_leads_to_the_appointments(appointment):
    user = appointment.person.user
    user.set_password("a-long-test-password")
    user.save()
    response = Client().post(
        "/sign-in/", {"username": user.email.upper(), "password": "a-long-test-password"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/appointments/"


def test_a_wrong_password_gets_an_error_summary_not_a_crash():
    response = Client().post("/sign-in/", {"username": "nobody@example.org", "password": "x"})
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "<title>Error:" in response.text


def test_token_on_the_page_verifies(appointment):
    from vaxbook.credentials.tokens import issue_token

    claims = verify_token(issue_token(appointment))
    assert str(claims.appointment_id) == str(appointment.pk)
