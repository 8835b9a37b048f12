import datetime as dt

import pytest
from django.contrib.auth import authenticate
from django.test import Client

from tests.factories import UserFactory
from vaxbook.accounts.models import Citizen, User

pytestmark = pytest.mark.django_db

VALID = {
    "email": "Grace.Hopper@Example.org",
    "password": "navy-compiler-1906",
    "full_name": "  Grace   Hopper ",
    "date_of_birth": "1906-12-09",
    "phone": "",
}


def test_registration_creates_a_citizen_signs_them_in_and_leads_to_the_search() -> None:
    client = Client()
    response = client.post("/register/", {**VALID, "date_of_birth": "1990-05-17"})

    assert response.status_code == 302
    assert response["Location"] == "/centres/"
    citizen = Citizen.objects.get()
    assert citizen.user.email == "grace.hopper@example.org"
    assert citizen.full_name == "Grace Hopper"
    assert citizen.date_of_birth == dt.date(1990, 5, 17)
    assert authenticate(username="GRACE.HOPPER@example.org", password=VALID["password"])
    assert client.get("/appointments/").status_code == 200


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "must be in the past"),
        ({"date_of_birth": "1800-01-01"}, "date_of_birth", "real date of birth"),
        ({"date_of_birth": "17/05/1990x"}, "date_of_birth", "Enter a real date"),
        ({"date_of_birth": ""}, "date_of_birth", "Enter your date of birth"),
        ({"password": "12345678"}, "password", "entirely numeric"),
        ({"password": "short"}, "password", "too short"),
        ({"email": "not-an-email"}, "email", "name@example.org"),
        ({"full_name": "   "}, "full_name", "Enter your full name"),
    ],
)
def test_bad_input_gets_an_error_summary_linked_to_the_field(change, field, message) -> None:
    response = Client().post("/register/", {**VALID, "date_of_birth": "1990-05-17", **change})
    assert response.status_code == 400
    assert "<title>Error:" in response.text
    assert f'href="#id_{field}"' in response.text
    assert message in response.text
    assert not User.objects.exists()


def test_an_email_already_registered_in_another_case_is_refused() -> None:
    UserFactory(email="grace.hopper@example.org")
    response = Client().post("/register/", {**VALID, "date_of_birth": "1990-05-17"})
    assert response.status_code == 400
    assert "already exists" in response.text
    assert User.objects.count() == 1


def test_create_an_account_from_sign_in_keeps_the_chosen_slot() -> None:
    from tests.factories import SlotFactory

    slot = SlotFactory()
    client = Client()
    sign_in = client.get(f"/book/{slot.pk}/", follow=True)
    assert sign_in.redirect_chain[-1][0] == f"/sign-in/?next=/book/{slot.pk}/"

    register_link = f'href="/register/?next=/book/{slot.pk}/"'
    assert register_link in sign_in.text.replace("%2F", "/")
    form = client.get(f"/register/?next=/book/{slot.pk}/")
    assert f'name="next" value="/book/{slot.pk}/"' in form.text

    response = client.post(
        "/register/", {**VALID, "date_of_birth": "1990-05-17", "next": f"/book/{slot.pk}/"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/book/{slot.pk}/"
    assert "Check your appointment" in client.get(response["Location"]).text


def test_registration_ignores_a_next_address_on_another_site() -> None:
    response = Client().post(
        "/register/",
        {**VALID, "date_of_birth": "1990-05-17", "next": "https://evil.example/phish"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/centres/"
