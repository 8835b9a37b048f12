"""The language a person chooses is kept on their account and applies wherever they sign in."""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import Client

from tests.factories import CitizenFactory, UserFactory
from tests.staff_clients import verified_client
from vaxbook.accounts import registration
from vaxbook.accounts.models import Citizen

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"  # the factories' password


def switch_to(client: Client, language: str) -> None:
    response = client.post("/i18n/setlang/", {"language": language, "next": "/account/"})
    assert response.status_code == 302
    assert response["Location"] == "/account/"


def sign_in(client: Client, citizen: Citizen) -> str:
    """Signs in through the form; the language of the page it leads to."""
    response = client.post(
        "/sign-in/", {"username": citizen.user.email, "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    return response.text.split('<html lang="', 1)[1].split('"', 1)[0]


def test_the_language_switch_keeps_the_choice_on_the_account() -> None:
    citizen = CitizenFactory(language="en")
    client = Client()
    client.force_login(citizen.user)

    switch_to(client, "es")

    citizen.refresh_from_db()
    assert citizen.language == "es"


def test_signing_in_on_another_device_brings_the_language_back() -> None:
    citizen = CitizenFactory(language="es")
    another_device = Client(headers={"accept-language": "en-GB,en"})

    assert sign_in(another_device, citizen) == "es"
    assert another_device.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    assert 'lang="es"' in another_device.get("/").text


def test_a_choice_on_one_device_reaches_the_next_sign_in_elsewhere() -> None:
    citizen = CitizenFactory(language="en")
    phone = Client()
    sign_in(phone, citizen)
    switch_to(phone, "es")

    assert sign_in(Client(headers={"accept-language": "en"}), citizen) == "es"


def test_changing_the_language_in_the_details_changes_the_pages_too() -> None:
    citizen = CitizenFactory(language="en", full_name="Ada Lovelace")
    client = Client()
    client.force_login(citizen.user)

    response = client.post(
        "/account/details/", {"full_name": "Ada Lovelace", "phone": "", "language": "es"}
    )

    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    assert 'lang="es"' in client.get("/account/").text


def test_switching_without_an_account_or_as_staff_changes_only_the_pages() -> None:
    visitor = Client()
    switch_to(visitor, "es")
    assert 'lang="es"' in visitor.get("/").text

    staff = UserFactory(is_staff=True)
    switch_to(verified_client(staff), "es")


def test_a_language_the_site_does_not_offer_is_not_kept() -> None:
    citizen = CitizenFactory(language="es")
    client = Client()
    client.force_login(citizen.user)

    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})

    citizen.refresh_from_db()
    assert citizen.language == "es"


@pytest.mark.django_db(transaction=True)  # the worker closes its connection
def test_the_emailed_registration_link_opened_on_another_device_speaks_the_language(
    settings,
) -> None:
    registration.request_registration(
        email="lucia@example.org",
        password="vaccinate-me-2021",
        full_name="Lucía Fernández",
        date_of_birth=dt.date(1975, 3, 8),
        language="es",
    )
    call_command("run_worker", batch=True, startup_delay=False, verbosity=0)
    (message,) = mail.outbox
    link = re.search(r"https?://[^/\s]+(/register/confirm/[A-Za-z0-9_-]+/)", str(message.body))
    assert link
    phone = Client(headers={"accept-language": "en"})

    phone.post(link.group(1))

    assert phone.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    assert 'lang="es"' in phone.get("/account/").text
