import base64

import pytest
from django.conf import settings
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import CitizenFactory, UserFactory, staff_at
from tests.staff_clients import authenticator_for, code_of
from vaxbook.accounts.enrolment import invitation_url
from vaxbook.accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


def sign_in(client: Client, user: User, **extra: str):
    return client.post("/staff/sign-in/", {"username": user.email, "password": PASSWORD, **extra})


@pytest.fixture
def staff(centre) -> User:
    return staff_at(centre)


def test_staff_sign_in_with_password_then_code(client: Client, staff, centre) -> None:
    device = authenticator_for(staff)

    response = sign_in(client, staff, next=f"/staff/centres/{centre.pk}/validate/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/verify/")
    # Password alone does not open staff pages.
    assert client.get(f"/staff/centres/{centre.pk}/validate/").status_code == 404

    response = client.post(response["Location"], {"code": code_of(device)})

    assert response.status_code == 302
    assert response["Location"] == f"/staff/centres/{centre.pk}/validate/"
    assert client.get(response["Location"]).status_code == 200
    assert client.get("/staff/").status_code == 200


def test_a_wrong_code_is_refused(client: Client, staff, centre) -> None:
    device = authenticator_for(staff)
    sign_in(client, staff)
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"

    response = client.post("/staff/verify/", {"code": wrong})

    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert client.get(f"/staff/centres/{centre.pk}/validate/").status_code == 404
    device.refresh_from_db()
    assert device.throttling_failure_count == 1


@pytest.mark.parametrize(
    "junk", ["", "12345", "abcdef", "\uff11\uff12\uff13\uff14\uff15\uff16", "1" * 10_000]
)
def test_a_malformed_code_gets_a_message(client: Client, staff, junk: str) -> None:
    authenticator_for(staff)
    sign_in(client, staff)

    response = client.post("/staff/verify/", {"code": junk})

    assert response.status_code == 400
    assert 'class="error-summary"' in response.content.decode()


def test_repeated_wrong_codes_are_throttled(client: Client, staff) -> None:
    device = authenticator_for(staff)
    sign_in(client, staff)
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"
    client.post("/staff/verify/", {"code": wrong})

    # Right after a failure django-otp refuses even the right code for a moment.
    response = client.post("/staff/verify/", {"code": code_of(device)})

    assert response.status_code == 400
    assert "After a wrong code, wait 1 second before the next one" in response.content.decode()


def test_a_wrong_password_is_refused(client: Client, staff) -> None:
    authenticator_for(staff)

    response = client.post("/staff/sign-in/", {"username": staff.email, "password": "nope"})

    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_a_citizen_cannot_use_staff_sign_in(client: Client) -> None:
    citizen = CitizenFactory().user

    response = sign_in(client, citizen)

    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def enrol_page(client: Client, staff: User):
    """The set-up page, reached as invited staff reach it: through the invitation's link."""
    link = invitation_url(staff).removeprefix(settings.SITE_URL)
    form_page = client.get(link, follow=True)
    chosen = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": PASSWORD, "new_password2": PASSWORD}
    )
    assert chosen.status_code == 302
    assert chosen["Location"] == "/staff/authenticator/"
    return client.get(chosen["Location"])


def test_invited_staff_add_their_authenticator_right_after_choosing_a_password(
    client: Client, staff, centre
) -> None:
    page = enrol_page(client, staff)
    assert page.status_code == 200
    assert "<svg" in page.content.decode()  # the QR code of the new secret
    device = TOTPDevice.objects.get(user=staff)
    assert not device.confirmed
    assert "".join(page.context["secret"].split()) == base64.b32encode(device.bin_key).decode()
    # Not verified yet: no staff page.
    assert client.get(f"/staff/centres/{centre.pk}/validate/").status_code == 404

    response = client.post("/staff/authenticator/", {"code": code_of(device)})

    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(f"/staff/centres/{centre.pk}/validate/").status_code == 200


def test_a_wrong_first_code_leaves_the_authenticator_unconfirmed(client: Client, staff) -> None:
    enrol_page(client, staff)
    device = TOTPDevice.objects.get(user=staff)
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"

    response = client.post("/staff/authenticator/", {"code": wrong})

    assert response.status_code == 400
    assert response.context["form"].errors["code"]
    device.refresh_from_db()
    assert not device.confirmed
    assert not client.session.get("otp_device_id")


def test_reloading_the_set_up_page_keeps_the_same_secret(client: Client, staff) -> None:
    first = enrol_page(client, staff).context["secret"]
    assert client.get("/staff/authenticator/").context["secret"] == first
    assert TOTPDevice.objects.filter(user=staff).count() == 1


def test_an_authenticator_cannot_be_replaced_through_the_set_up_page(client: Client, staff) -> None:
    authenticator_for(staff)
    sign_in(client, staff)
    response = client.get("/staff/authenticator/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/verify/")
    assert TOTPDevice.objects.filter(user=staff).count() == 1


def test_the_set_up_page_needs_the_password_step_first(client: Client) -> None:
    response = client.get("/staff/authenticator/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/sign-in/")


def test_staff_without_an_authenticator_are_sent_to_their_invitation(client: Client, staff) -> None:
    response = sign_in(client, staff)

    assert response.status_code == 400
    assert "link of your invitation" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_unconfirmed_device_does_not_count(client: Client, staff) -> None:
    TOTPDevice.objects.create(user=staff, name="phone", confirmed=False)

    response = sign_in(client, staff)

    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_signing_in_again_within_the_time_given_returns_to_the_set_up_page(
    client: Client, staff
) -> None:
    enrol_page(client, staff)

    response = sign_in(client, staff)

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/authenticator/")


def test_signing_out_ends_the_time_to_add_an_authenticator(client: Client, staff) -> None:
    enrol_page(client, staff)
    client.post("/sign-out/")

    response = sign_in(client, staff)

    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_an_administrator_signs_in_too(client: Client, centre) -> None:
    admin = UserFactory(is_superuser=True, is_staff=True)
    device = authenticator_for(admin)
    sign_in(client, admin)

    response = client.post("/staff/verify/", {"code": code_of(device)})

    assert response.status_code == 302
    assert client.get(f"/staff/centres/{centre.pk}/validate/").status_code == 200


def test_verify_without_the_password_step_goes_to_sign_in(client: Client) -> None:
    response = client.get("/staff/verify/")

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/sign-in/")


def test_an_unsafe_next_is_ignored(client: Client, staff) -> None:
    device = authenticator_for(staff)
    sign_in(client, staff, next="https://evil.example/")

    response = client.post("/staff/verify/?next=https://evil.example/", {"code": code_of(device)})

    assert response["Location"] == "/staff/"


def test_the_sign_in_form_needs_csrf(staff) -> None:
    client = Client(enforce_csrf_checks=True)
    authenticator_for(staff)

    assert sign_in(client, staff).status_code == 403
