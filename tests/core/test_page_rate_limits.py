"""Rate limits on the pages: sign-in, registration and booking (the API has its own tests)."""

import pytest
from django.test import Client

from tests.factories import CentreFactory, CitizenFactory, SlotFactory, staff_at
from tests.staff_clients import password_only_client
from vaxbook.accounts.models import User
from vaxbook.bookings.models import Appointment

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"  # the factories'


@pytest.fixture(autouse=True)
def tight_limits(settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "sign_in_account": "3/m",
        "sign_in_address": "100/m",
        "register_address": "2/h",
        "booking_account": "2/m",
    }


def test_password_guessing_on_one_account_is_stopped_with_a_clear_429(client):
    CitizenFactory(user__email="ada@example.org")
    for _ in range(3):
        response = client.post("/sign-in/", {"username": "ada@example.org", "password": "no"})
        assert response.status_code == 200  # the form says the password is wrong
    response = client.post("/sign-in/", {"username": "ADA@example.org ", "password": "no"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert b"Too many attempts" in response.content
    # Reading the page is never limited.
    assert client.get("/sign-in/").status_code == 200


def test_registrations_from_one_address_are_limited(client):
    for n in range(2):
        client.post("/register/", {"email": f"new{n}@example.org"})
    response = client.post(
        "/register/",
        {
            "email": "third@example.org",
            "password1": "a-long-test-password",
            "password2": "a-long-test-password",
            "full_name": "Third Person",
            "date_of_birth": "1980-01-01",
        },
    )
    assert response.status_code == 429
    assert not User.objects.filter(email="third@example.org").exists()


def test_a_booking_script_is_limited_per_account_and_books_nothing_more(client):
    person = CitizenFactory()
    client.force_login(person.user)
    slots = [SlotFactory(capacity=5) for _ in range(3)]
    statuses = [client.post(f"/book/{slot.pk}/", {"dose_number": 1}).status_code for slot in slots]
    assert statuses[-1] == 429
    assert Appointment.objects.filter(person=person).count() <= 1


def test_code_guesses_count_per_staff_account_not_for_all_staff_together():
    centre = CentreFactory()
    guesser, colleague = staff_at(centre), staff_at(centre)
    clients = {
        user: password_only_client(user, address=f"198.51.100.{user.pk % 250}")
        for user in (guesser, colleague)
    }

    statuses = [
        clients[guesser].post("/staff/verify/", {"code": "000000"}).status_code for _ in range(4)
    ]
    assert statuses[-1] == 429
    assert clients[colleague].post("/staff/verify/", {"code": "000000"}).status_code == 400


def test_guesses_from_elsewhere_do_not_lock_the_owner_out_of_a_browser_they_used(client):
    CitizenFactory(user__email="ada@example.org")
    owner = client
    assert (
        owner.post("/sign-in/", {"username": "ada@example.org", "password": PASSWORD}).status_code
        == 302
    )
    owner.post("/sign-out/")

    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(5):
        attacker.post("/sign-in/", {"username": "ada@example.org", "password": "guess"})
    assert (
        attacker.post(
            "/sign-in/", {"username": "ada@example.org", "password": PASSWORD}
        ).status_code
        == 429
    )  # the account's limit holds against everyone else, right password or not

    again = owner.post("/sign-in/", {"username": "ada@example.org", "password": PASSWORD})
    assert again.status_code == 302
    assert owner.get("/appointments/").status_code == 200


def test_a_known_browser_still_has_a_limit_of_its_own(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sign_in_device": "3/m"}
    CitizenFactory(user__email="ada@example.org")
    client.post("/sign-in/", {"username": "ada@example.org", "password": PASSWORD})
    client.post("/sign-out/")
    statuses = [
        client.post("/sign-in/", {"username": "ada@example.org", "password": "no"}).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_a_forged_device_cookie_counts_as_an_unknown_browser(client):
    CitizenFactory(user__email="ada@example.org")
    client.cookies["vaxbook_device"] = "forged"
    for _ in range(3):
        client.post("/sign-in/", {"username": "ada@example.org", "password": "no"})
    assert (
        client.post("/sign-in/", {"username": "ada@example.org", "password": "no"}).status_code
        == 429
    )
