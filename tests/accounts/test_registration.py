"""Creating an account: the address is proved by an emailed link before the account exists,
and the answer never tells whether an address already has an account (docs/security.md,
V2.5.7)."""

import datetime as dt
import re

import pytest
import time_machine
from django.conf import LazySettings
from django.contrib.auth import SESSION_KEY, authenticate
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.factories import CitizenFactory, SlotFactory, UserFactory
from tests.helpers import in_spanish
from vaxbook.accounts import registration
from vaxbook.accounts.models import Citizen, PendingRegistration, User

pytestmark = pytest.mark.django_db

VALID = {
    "email": "Grace.Hopper@Example.org",
    "password": "navy-compiler-1906",
    "full_name": "  Grace   Hopper ",
    "date_of_birth": "1990-05-17",
    "phone": "",
}
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def run_worker() -> None:
    """What the background worker does: registration emails are sent from there."""
    call_command("run_worker", batch=True, startup_delay=False, verbosity=0)


def emailed_link(settings: LazySettings, message: mail.EmailMessage) -> str:
    match = re.search(
        re.escape(settings.SITE_URL) + r"(/register/confirm/[A-Za-z0-9_-]+/)", str(message.body)
    )
    assert match, message.body
    return match.group(1)


def sign_in(client: Client, email: str, password: str) -> str:
    return client.post("/sign-in/", {"username": email, "password": password}, follow=True).text


def ask(full_name: str) -> None:
    """Ask for an account for ada@example.org, as the registration page does."""
    registration.request_registration(
        email="ada@example.org",
        password=VALID["password"],
        full_name=full_name,
        date_of_birth=dt.date(1990, 5, 17),
    )


def emailed_link_path(body: object) -> str:
    match = re.search(r"https?://[^/\s]+(/register/confirm/[A-Za-z0-9_-]+/)", str(body))
    assert match, body
    return match.group(1)


# --- a new address -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the worker closes its connection
def test_a_new_person_follows_the_emailed_link_and_lands_signed_in_on_their_slot(
    settings: LazySettings,
) -> None:
    settings.SITE_URL = "https://vaccination.example.org"
    slot = SlotFactory()
    client = Client()
    form = client.get(f"/register/?next=/book/{slot.pk}/")
    assert f'name="next" value="/book/{slot.pk}/"' in form.text

    response = client.post("/register/", {**VALID, "next": f"/book/{slot.pk}/"})

    assert response.status_code == 302
    assert response["Location"] == "/register/check-email/"
    assert "Check your email" in client.get(response["Location"]).text
    assert not User.objects.exists()  # no account before the address is proved
    run_worker()
    (message,) = mail.outbox
    assert message.to == ["grace.hopper@example.org"]
    assert message.subject == "Finish creating your vaxbook account"
    link = emailed_link(settings, message)

    page = client.get(link)
    assert page.status_code == 200
    assert "Grace Hopper" in page.text
    assert "grace.hopper@example.org" in page.text
    assert not User.objects.exists()  # opening the link (a mail scanner) creates nothing
    created = client.post(link)

    assert created.status_code == 302
    assert created["Location"] == f"/book/{slot.pk}/"
    assert "Check your appointment" in client.get(created["Location"]).text
    citizen = Citizen.objects.get()
    assert citizen.user.email == "grace.hopper@example.org"
    assert citizen.full_name == "Grace Hopper"
    assert citizen.date_of_birth == dt.date(1990, 5, 17)
    assert authenticate(username="GRACE.HOPPER@example.org", password=VALID["password"])
    assert client.session[SESSION_KEY] == str(citizen.user.pk)
    assert not PendingRegistration.objects.exists()
    # The link works once.
    assert "This link no longer works" in Client().post(link).text


@pytest.mark.django_db(transaction=True)
def test_before_following_the_link_nothing_can_sign_in_with_the_new_password(
    settings: LazySettings,
) -> None:
    Client().post("/register/", VALID)
    run_worker()

    page = sign_in(Client(), VALID["email"], VALID["password"])

    assert "The email address or the password is not right" in page
    assert "Just created an account? Open the link we emailed you first" in page
    api = Client().post(
        "/api/v1/auth/token",
        {"email": VALID["email"], "password": VALID["password"]},
        content_type="application/json",
    )
    assert api.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_registering_in_spanish_sends_the_link_in_spanish(settings: LazySettings) -> None:
    client = in_spanish(Client())
    response = client.post("/register/", VALID, follow=True)
    assert "Revise su correo electrónico" in response.text
    run_worker()
    (message,) = mail.outbox
    assert message.subject == "Termine de crear su cuenta de vaxbook"
    client.post(emailed_link(settings, message))
    assert Citizen.objects.get().language == "es"


def test_a_link_expires_after_its_validity() -> None:
    ask("Ada Lovelace")
    registration.send_link_or_notice(email="ada@example.org")
    link = emailed_link_path(mail.outbox[0].body)

    with time_machine.travel(timezone.now() + registration.LINK_VALIDITY + dt.timedelta(minutes=1)):
        response = Client().post(link)
        assert response.status_code == 404
        assert "This link no longer works" in response.text
        assert not User.objects.exists()
        # The worker's task, due then, deletes the name and date of birth nobody confirmed.
        registration.forget_expired_registration(email="ada@example.org")
    assert not PendingRegistration.objects.exists()


def test_registering_again_before_the_link_replaces_the_details_and_the_link() -> None:
    ask("Ada Byron")
    registration.send_link_or_notice(email="ada@example.org")
    ask("Ada Lovelace")
    registration.send_link_or_notice(email="ada@example.org")
    first, second = (emailed_link_path(message.body) for message in mail.outbox)

    assert Client().post(first).status_code == 404
    assert Client().post(second).status_code == 302
    assert Citizen.objects.get().full_name == "Ada Lovelace"


def test_two_requests_before_the_worker_runs_send_one_email() -> None:
    for _ in range(2):
        ask("Ada")
    for _ in range(2):
        registration.send_link_or_notice(email="ada@example.org")
    assert len(mail.outbox) == 1


def test_an_account_made_meanwhile_for_the_address_wins_over_the_link() -> None:
    ask("Ada")
    registration.send_link_or_notice(email="ada@example.org")
    UserFactory(email="ada@example.org")  # e.g. a staff invitation

    response = Client().post(emailed_link_path(mail.outbox[0].body))

    assert "You already have an account" in response.text
    assert User.objects.count() == 1
    assert not Citizen.objects.exists()


# --- an address that has an account: the same answer, and a notice to its owner ----------


def test_a_known_and_a_new_address_get_the_same_answer_on_the_same_path() -> None:
    CitizenFactory(user__email="grace.hopper@example.org")
    answers = []
    for email in ["Grace.Hopper@Example.org", "someone.new@example.org"]:
        client = Client()
        posted = client.post("/register/", {**VALID, "email": email})
        page = client.get(posted["Location"])
        answers.append(
            (
                posted.status_code,
                posted["Location"],
                page.status_code,
                CSRF_TOKEN.sub("", page.text),
            )
        )

    assert answers[0] == answers[1]
    # The same work: a registration row and one task each, and still one account.
    assert PendingRegistration.objects.count() == 2
    assert DBTaskResult.objects.filter(task_path__endswith="send_registration_email").count() == 2
    assert User.objects.count() == 1
    assert mail.outbox == []  # the worker sends


def test_the_registration_form_answers_the_same_apart_from_the_csrf_token() -> None:
    CitizenFactory(user__email="grace.hopper@example.org")
    known = Client().post("/register/", VALID, follow=True)
    new = Client().post("/register/", {**VALID, "email": "new@example.org"}, follow=True)

    assert known.redirect_chain == new.redirect_chain
    assert CSRF_TOKEN.sub("", known.text) == CSRF_TOKEN.sub("", new.text)


@pytest.mark.django_db(transaction=True)
def test_the_owner_of_the_address_is_told_and_their_account_is_unchanged(
    settings: LazySettings,
) -> None:
    settings.SITE_URL = "https://vaccination.example.org"
    owner = CitizenFactory(user__email="grace.hopper@example.org", language="es")

    Client().post("/register/", {**VALID, "full_name": "Someone Else"})
    run_worker()

    (message,) = mail.outbox
    assert message.to == ["grace.hopper@example.org"]
    assert message.subject == "Alguien intentó crear una cuenta de vaxbook con su dirección"
    assert "https://vaccination.example.org/sign-in/" in message.body
    assert "https://vaccination.example.org/password-reset/" in message.body
    assert "/register/confirm/" not in message.body
    owner.refresh_from_db()
    owner.user.refresh_from_db()
    assert owner.full_name != "Someone Else"
    assert owner.user.check_password("a-long-test-password")
    assert not PendingRegistration.objects.exists()
    assert User.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_registrations_of_one_address_are_limited_without_telling(settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "register_account": "3/h"}
    CitizenFactory(user__email="grace.hopper@example.org")
    for address in ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"]:
        response = Client(REMOTE_ADDR=address).post("/register/", VALID)
        assert response["Location"] == "/register/check-email/"
        run_worker()

    assert len(mail.outbox) == 3


# --- the form ---------------------------------------------------------------------------


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
    response = Client().post("/register/", {**VALID, **change})
    assert response.status_code == 400
    assert "<title>Error:" in response.text
    assert f'href="#id_{field}"' in response.text
    assert message in response.text
    assert not PendingRegistration.objects.exists()


def test_the_form_links_to_the_privacy_notice() -> None:
    assert 'href="/privacy/"' in Client().get("/register/").text


def test_create_an_account_from_sign_in_keeps_the_chosen_slot() -> None:
    slot = SlotFactory()
    client = Client()
    sign_in_page = client.get(f"/book/{slot.pk}/", follow=True)
    assert sign_in_page.redirect_chain[-1][0] == f"/sign-in/?next=/book/{slot.pk}/"
    register_link = f'href="/register/?next=/book/{slot.pk}/"'
    assert register_link in sign_in_page.text.replace("%2F", "/")

    client.post("/register/", {**VALID, "next": f"/book/{slot.pk}/"})

    assert PendingRegistration.objects.get().next_url == f"/book/{slot.pk}/"


def test_registration_ignores_a_next_address_on_another_site() -> None:
    Client().post("/register/", {**VALID, "next": "https://evil.example/phish"})
    assert PendingRegistration.objects.get().next_url == ""
