"""Signing out, the password reset by email, changing the password and the details."""

import re

import pytest
from django.conf import LazySettings
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django_tasks_db.models import DBTaskResult

from tests.factories import CitizenFactory, UserFactory
from tests.helpers import in_spanish
from vaxbook.accounts.models import Citizen, User

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"  # the factories' password
NEW_PASSWORD = "mauve-lighthouse-1906"


@pytest.fixture
def citizen() -> Citizen:
    return CitizenFactory(user__email="ada@example.org", full_name="Ada Lovelace")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- signing out -------------------------------------------------------------------------


def test_sign_out_is_a_post_a_link_or_image_cannot_sign_anyone_out(citizen: Citizen) -> None:
    client = signed_in(citizen.user)
    assert client.get("/sign-out/").status_code == 405
    assert client.get("/appointments/").status_code == 200

    assert client.post("/sign-out/").status_code == 302
    assert client.get("/appointments/").status_code == 302


# --- password reset by email -------------------------------------------------------------


def run_worker() -> None:
    """What the background worker does: the reset emails are sent from there."""
    call_command("run_worker", batch=True, startup_delay=False, verbosity=0)


def reset_link(settings: LazySettings) -> str:
    run_worker()
    (message,) = mail.outbox
    match = re.search(
        re.escape(settings.SITE_URL) + r"(/password-reset/[^\s]+/)", str(message.body)
    )
    assert match, message.body
    return match.group(1)


@pytest.mark.django_db(transaction=True)  # the worker closes its connection
def test_a_forgotten_password_is_reset_through_a_link_sent_by_email(
    citizen: Citizen, settings: LazySettings
) -> None:
    settings.SITE_URL = "https://vaccination.example.org"
    client = Client()
    assert "/password-reset/" in client.get("/sign-in/").text

    sent = client.post("/password-reset/", {"email": "ADA@example.org"}, follow=True)

    assert "Check your email" in sent.text
    assert mail.outbox == []  # the worker sends it
    link = reset_link(settings)
    assert mail.outbox[0].to == ["ada@example.org"]
    assert mail.outbox[0].subject == "Reset your vaxbook password"
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.text
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Your password has been changed" in done.text
    citizen.user.refresh_from_db()
    assert citizen.user.check_password(NEW_PASSWORD)
    # The link works once.
    again = client.get(link, follow=True)
    assert "This link no longer works" in again.text


@pytest.mark.django_db(transaction=True)  # the worker closes its connection
def test_an_unknown_address_gets_the_same_page_and_no_email() -> None:
    response = Client().post("/password-reset/", {"email": "nobody@example.org"}, follow=True)
    assert "Check your email" in response.text
    run_worker()
    assert mail.outbox == []


def test_a_known_and_an_unknown_address_take_the_same_path(citizen: Citizen) -> None:
    # Both only enqueue the same task: the answer and its timing cannot tell them apart.
    known = Client().post("/password-reset/", {"email": "ada@example.org"})
    unknown = Client().post("/password-reset/", {"email": "nobody@example.org"})

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert DBTaskResult.objects.filter(task_path__endswith="send_password_reset").count() == 2
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)  # the worker closes its connection
def test_resets_to_one_address_are_limited_without_telling(citizen: Citizen, settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset_account": "3/h"}
    for address in ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"]:
        response = Client(REMOTE_ADDR=address).post(
            "/password-reset/", {"email": "ada@example.org"}, follow=True
        )
        assert "Check your email" in response.text

    run_worker()
    assert len(mail.outbox) == 3


def test_resets_from_one_client_address_are_limited(settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset_address": "2/h"}
    client = Client()
    for n in range(2):
        assert client.post("/password-reset/", {"email": f"p{n}@example.org"}).status_code == 302

    refused = client.post("/password-reset/", {"email": "p3@example.org"})

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0


@pytest.mark.django_db(transaction=True)  # the worker closes its connection
def test_the_reset_email_is_in_the_language_of_the_page(
    citizen: Citizen, settings: LazySettings
) -> None:
    client = in_spanish(Client())
    client.post("/password-reset/", {"email": "ada@example.org"})
    run_worker()
    (message,) = mail.outbox
    assert message.subject == "Restablezca su contraseña de vaxbook"
    assert "Para elegir una contraseña nueva" in message.body


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("email", "message"),
    [("", "Enter your email address."), ("not-an-address", "name@example.org")],
)
def test_a_bad_address_on_the_reset_page_gets_an_error_summary(email: str, message: str) -> None:
    response = Client().post("/password-reset/", {"email": email})
    assert response.status_code == 200
    assert "<title>Error:" in response.text
    assert 'href="#id_email"' in response.text
    assert message in response.text
    run_worker()
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)  # the worker closes its connection
def test_a_weak_new_password_is_refused_with_the_reason(
    citizen: Citizen, settings: LazySettings
) -> None:
    client = Client()
    client.post("/password-reset/", {"email": "ada@example.org"})
    form = client.get(reset_link(settings), follow=True)
    response = client.post(
        form.redirect_chain[-1][0], {"new_password1": "12345678", "new_password2": "12345678"}
    )
    assert "<title>Error:" in response.text
    assert 'href="#id_new_password2"' in response.text  # Django checks the confirmation
    assert "entirely numeric" in response.text
    citizen.user.refresh_from_db()
    assert citizen.user.check_password(PASSWORD)


# --- changing the password ---------------------------------------------------------------


def test_changing_the_password_keeps_this_session_and_ends_the_others(citizen: Citizen) -> None:
    here, elsewhere = signed_in(citizen.user), signed_in(citizen.user)
    response = here.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Your password has been changed" in response.text
    assert here.get("/appointments/").status_code == 200
    assert elsewhere.get("/appointments/").status_code == 302
    citizen.user.refresh_from_db()
    assert citizen.user.check_password(NEW_PASSWORD)


@pytest.mark.django_db(transaction=True)  # the worker closes its connection
def test_the_owner_is_told_by_email_when_the_password_changes(citizen: Citizen) -> None:
    signed_in(citizen.user).post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert mail.outbox == []  # the worker sends it

    run_worker()

    (message,) = mail.outbox
    assert message.to == ["ada@example.org"]
    assert message.subject == "Your vaxbook password was changed"
    assert "/password-reset/" in str(message.body)


@pytest.mark.django_db(transaction=True)  # the worker closes its connection
def test_a_password_reset_is_told_to_the_owner_too(
    citizen: Citizen, settings: LazySettings
) -> None:
    client = Client()
    client.post("/password-reset/", {"email": "ada@example.org"})
    link = reset_link(settings)
    form = client.get(link, follow=True)
    client.post(
        form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    run_worker()

    assert [message.subject for message in mail.outbox] == [
        "Reset your vaxbook password",
        "Your vaxbook password was changed",
    ]


def test_a_wrong_old_password_changes_nothing(citizen: Citizen) -> None:
    response = signed_in(citizen.user).post(
        "/account/password/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert "<title>Error:" in response.text
    assert 'href="#id_old_password"' in response.text
    citizen.user.refresh_from_db()
    assert citizen.user.check_password(PASSWORD)


# --- changing the details ----------------------------------------------------------------


def test_the_account_page_shows_the_details_and_links_to_change_them(citizen: Citizen) -> None:
    page = signed_in(citizen.user).get("/account/").text
    assert "Ada Lovelace" in page
    assert "ada@example.org" in page
    assert "15 June 1980" in page
    assert 'href="/account/details/"' in page
    assert 'href="/account/password/"' in page


def test_changing_name_phone_and_language(citizen: Citizen) -> None:
    client = signed_in(citizen.user)
    form = client.get("/account/details/").text
    assert 'value="Ada Lovelace"' in form

    response = client.post(
        "/account/details/",
        {"full_name": "  Augusta   Ada King ", "phone": " +34 600 000 000 ", "language": "es"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    citizen.refresh_from_db()
    assert (citizen.full_name, citizen.phone, citizen.language) == (
        "Augusta Ada King",
        "+34 600 000 000",
        "es",
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"full_name": "   "}, "id_full_name", "Enter your full name."),
        ({"language": "fr"}, "id_language_0", "Choose a language from the list."),
        ({"phone": "9" * 40}, "id_phone", "at most 32 characters"),
    ],
)
def test_bad_details_get_an_error_summary_and_change_nothing(
    citizen: Citizen, change: dict[str, str], field: str, message: str
) -> None:
    data = {"full_name": "Someone Else", "phone": "", "language": "en", **change}
    response = signed_in(citizen.user).post("/account/details/", data)
    assert response.status_code == 400
    assert "<title>Error:" in response.text
    assert f'href="#{field}"' in response.text
    assert f'id="{field}"' in response.text
    assert message in response.text
    citizen.refresh_from_db()
    assert citizen.full_name == "Ada Lovelace"


def test_an_account_without_citizen_details_has_none_to_change() -> None:
    client = signed_in(UserFactory())
    assert client.get("/account/").status_code == 200
    assert client.get("/account/details/").status_code == 404


def test_account_pages_need_signing_in() -> None:
    for url in ("/account/", "/account/details/", "/account/password/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/sign-in/")
