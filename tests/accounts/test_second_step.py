"""A staff member who has given only their password reaches nothing but the code page:
not the citizen pages, not the account or password pages, whichever sign-in page took the
password."""

import pytest
from django.test import Client

from tests.factories import CitizenFactory, staff_at
from tests.staff_clients import authenticator_for, code_of, password_only_client
from vaxbook.accounts.models import StaffRole

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


@pytest.mark.parametrize(
    "path", ["/account/", "/account/password/", "/account/details/", "/appointments/", "/"]
)
def test_a_half_signed_in_staff_session_is_sent_to_the_code_page(centre, path: str) -> None:
    client = password_only_client(staff_at(centre, StaffRole.RECEPTIONIST))

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/staff/verify/?next={path.replace('/', '%2F')}"


def test_the_password_alone_cannot_change_the_password(centre) -> None:
    staff = staff_at(centre, StaffRole.RECEPTIONIST)
    client = password_only_client(staff)

    response = client.post(
        "/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "an-attackers-password-1",
            "new_password2": "an-attackers-password-1",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/staff/verify/"
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)


def test_staff_signing_in_on_the_citizen_page_must_still_give_their_code(centre) -> None:
    staff = staff_at(centre, StaffRole.VACCINATOR)
    device = authenticator_for(staff)
    client = Client()

    client.post("/sign-in/", {"username": staff.email, "password": PASSWORD})
    before = client.get("/account/")
    client.post("/staff/verify/", {"code": code_of(device)})
    after = client.get("/account/")

    assert before["Location"] == "/staff/verify/?next=%2Faccount%2F"
    assert after.status_code == 200


def test_a_half_signed_in_session_can_still_sign_out(centre) -> None:
    client = password_only_client(staff_at(centre, StaffRole.RECEPTIONIST))

    response = client.post("/sign-out/")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_citizens_are_signed_in_with_their_password_alone() -> None:
    person = CitizenFactory()
    client = Client()

    client.post("/sign-in/", {"username": person.user.email, "password": PASSWORD})

    assert client.get("/account/").status_code == 200
