import datetime as dt

import pytest
import time_machine
from django.test import Client

from tests.factories import CentreFactory, CitizenFactory, SlotFactory, staff_at
from tests.helpers import at, book
from tests.staff_clients import password_only_client, verified_client
from vaxbook.accounts.models import StaffRole, User
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment, AppointmentStatus
from vaxbook.centres.models import Centre
from vaxbook.credentials.tokens import issue_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def morning_of_the_day():
    with time_machine.travel(at(9), tick=False) as traveller:
        yield traveller


@pytest.fixture
def appointment(centre) -> Appointment:
    return book(
        SlotFactory(centre=centre, starts_at=at(10)),
        full_name="Ada Lovelace",
        date_of_birth=dt.date(1961, 2, 28),
    )


def validate_url(centre: Centre) -> str:
    return f"/staff/centres/{centre.pk}/validate/"


def check_in_url(centre: Centre) -> str:
    return f"/staff/centres/{centre.pk}/check-in/"


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- who may see the pages -----------------------------------------------------------------


def test_the_page_shows_one_field(desk, centre) -> None:
    html = page(desk.get(validate_url(centre)))

    assert "Booking reference or scanned code" in html
    assert 'name="presented"' in html


def test_a_visitor_who_is_not_signed_in_is_sent_to_staff_sign_in(centre) -> None:
    response = Client().get(validate_url(centre))

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/sign-in/?next=")


def test_a_citizen_gets_404(centre, appointment) -> None:
    client = Client()
    client.force_login(appointment.person.user)

    assert client.get(validate_url(centre)).status_code == 404
    post = client.post(check_in_url(centre), {"presented": appointment.reference})
    assert post.status_code == 404
    assert client.get("/staff/").status_code == 404


def test_a_citizen_with_a_device_still_gets_404(centre) -> None:
    client = verified_client(CitizenFactory().user)

    assert client.get(validate_url(centre)).status_code == 404


def test_staff_of_another_centre_get_404(centre, appointment) -> None:
    other = verified_client(staff_at(CentreFactory()))

    assert other.get(validate_url(centre)).status_code == 404
    post = other.post(check_in_url(centre), {"presented": appointment.reference})
    assert post.status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_staff_past_the_password_but_not_the_code_get_404(centre, receptionist) -> None:
    client = password_only_client(receptionist)

    assert client.get(validate_url(centre)).status_code == 404


def test_an_unknown_centre_is_404_even_for_an_administrator() -> None:
    admin = verified_client(User.objects.create_superuser("root@example.org", "pw-123456789"))

    assert admin.get("/staff/centres/999999/validate/").status_code == 404


# --- the outcomes --------------------------------------------------------------------------


def test_a_valid_reference_shows_the_holder_and_a_check_in_button(
    desk, centre, appointment
) -> None:
    html = page(desk.post(validate_url(centre), {"presented": appointment.display_reference}))

    assert 'data-outcome="valid"' in html
    assert "outcome-good" in html
    assert "Valid" in html
    assert "Ada Lovelace" in html
    assert "28 February 1961" in html
    assert "dose 1" in html
    assert f'action="{check_in_url(centre)}"' in html
    assert f'value="{appointment.display_reference}"' in html
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_a_scanned_token_is_valid_too(desk, centre, appointment) -> None:
    token = issue_token(appointment, now=appointment.created_at)

    html = page(desk.post(validate_url(centre), {"presented": token}))

    assert 'data-outcome="valid"' in html


def test_a_typo_in_the_reference_is_unknown_reference(desk, centre, appointment) -> None:
    typo = ("2" if appointment.reference[0] != "2" else "3") + appointment.reference[1:]

    html = page(desk.post(validate_url(centre), {"presented": typo}))

    assert 'data-outcome="unknown_reference"' in html
    assert "unknown booking reference" in html
    assert "outcome-bad" in html
    assert "Check in</button>" not in html


def test_a_cancelled_appointment_is_cancelled(desk, centre, appointment) -> None:
    services.cancel_appointment(person=appointment.person, appointment_id=appointment.pk)

    html = page(desk.post(validate_url(centre), {"presented": appointment.reference}))

    assert 'data-outcome="cancelled"' in html
    assert "cancelled" in html
    assert "Check in</button>" not in html


def test_an_appointment_elsewhere_is_wrong_centre(appointment) -> None:
    elsewhere = CentreFactory()
    client = verified_client(staff_at(elsewhere))

    html = page(client.post(validate_url(elsewhere), {"presented": appointment.reference}))

    assert 'data-outcome="wrong_centre"' in html
    assert "another centre" in html
    assert "Ada Lovelace" not in html


def test_a_forged_token_is_invalid_signature(desk, centre) -> None:
    html = page(desk.post(validate_url(centre), {"presented": "eyJhbGciOi.e30.c2ln"}))

    assert 'data-outcome="invalid_signature"' in html


def test_check_in_checks_in_once_then_says_by_whom(
    desk, receptionist, centre, appointment, morning_of_the_day
) -> None:
    html = page(desk.post(check_in_url(centre), {"presented": appointment.display_reference}))

    assert "Checked in" in html
    assert "outcome-good" in html
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert appointment.checked_in_by == receptionist
    assert appointment.checked_in_at == at(9)

    morning_of_the_day.shift(dt.timedelta(minutes=5))
    again = page(desk.post(check_in_url(centre), {"presented": appointment.display_reference}))

    assert 'data-outcome="already_checked_in"' in again
    assert "Already checked in" in again
    assert "15 July 2027, 09:00" in again  # local time at the centre, not UTC
    assert receptionist.email in again
    appointment.refresh_from_db()
    assert appointment.checked_in_at == at(9)


def test_validating_after_check_in_says_already_checked_in(desk, centre, appointment) -> None:
    nurse = staff_at(centre, StaffRole.VACCINATOR)
    services.check_in(appointment_id=appointment.pk, staff=nurse)

    html = page(desk.post(validate_url(centre), {"presented": appointment.reference}))

    assert 'data-outcome="already_checked_in"' in html
    assert nurse.email in html
    assert "09:00" in html


def test_check_in_of_an_invalid_appointment_writes_nothing(desk, centre, appointment) -> None:
    services.cancel_appointment(person=appointment.person, appointment_id=appointment.pk)

    html = page(desk.post(check_in_url(centre), {"presented": appointment.reference}))

    assert 'data-outcome="cancelled"' in html
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED


def test_check_in_is_post_only(desk, centre) -> None:
    assert desk.get(check_in_url(centre)).status_code == 405


# --- junk ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   ",
        "x" * 10_000,
        "." * 10_000,
        "a.b.c" * 2000,
        "héllo wörld ✓ 予約",
        "予約.予約.予約",
        "https://example.org/?q=1",
        "AB\x00CD",
        "ABC-DEF-GH7",
        "..",
    ],
)
@pytest.mark.parametrize("where", ["validate", "check-in"])
def test_junk_gets_a_clear_answer_never_a_500(desk, centre, appointment, junk, where) -> None:
    url = validate_url(centre) if where == "validate" else check_in_url(centre)

    response = desk.post(url, {"presented": junk})

    assert response.status_code in {200, 400}
    html = response.content.decode()
    if response.status_code == 400:
        assert 'class="error-summary"' in html
    else:
        assert 'data-outcome="invalid_signature"' in html or (
            'data-outcome="unknown_reference"' in html
        )
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_a_missing_field_is_a_400(desk, centre) -> None:
    response = desk.post(validate_url(centre), {})

    assert response.status_code == 400
    assert "Enter a booking reference or scan a confirmation code" in response.content.decode()


def test_the_forms_need_csrf(receptionist, centre, appointment) -> None:
    client = verified_client(receptionist)
    client.handler.enforce_csrf_checks = True

    response = client.post(check_in_url(centre), {"presented": appointment.reference})

    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
